"""Factories for programme tests: clients, households, agencies, programmes with published rules."""

from __future__ import annotations

from datetime import date
from itertools import count
from typing import Any

import pytest
from sqlalchemy import select

from srs.agencies.models import Agency
from srs.extensions import db
from srs.programmes.models import Programme, RuleVersion
from srs.regions.models import Region
from srs.registry.models import Client, Household, HouseholdMember

_numbers = count(1)


def region(code: str) -> Region:
    found = db.session.scalar(select(Region).where(Region.code == code))
    assert found is not None, code
    return found


def make_client(region_code: str = "35.16.08.2003", **fields: Any) -> Client:
    """A client with the given facts; everything not given stays unknown (NULL)."""
    n = next(_numbers)
    name = fields.pop("full_name", f"Client {n}")
    client = Client(
        full_name=name,
        name_key=name.lower(),
        sex=fields.pop("sex", "female"),
        date_of_birth=fields.pop("date_of_birth", date(1985, 5, 17)),
        region=region(region_code),
        consent_given=True,
        poverty_status=fields.pop("poverty_status", "unknown"),
        enrolments=fields.pop("enrolments", []),
        **fields,
    )
    db.session.add(client)
    db.session.flush()
    return client


def add_household(client: Client, members: list[dict[str, Any]]) -> Household:
    """Put ``client`` in a household with the given other members."""
    household = Household(region_id=client.region_id)
    db.session.add(household)
    db.session.flush()
    client.household_id = household.id
    for i, member in enumerate(members):
        db.session.add(HouseholdMember(household_id=household.id, full_name=f"Member {i}", **member))
    db.session.flush()
    db.session.refresh(client)
    return household


def agency(code: str = "BPJSTK") -> Agency:
    found = db.session.scalar(select(Agency).where(Agency.code == code))
    assert found is not None, code
    return found


def make_programme(
    code: str,
    criteria: dict[str, Any],
    *,
    country: str = "ID",
    agency_code: str = "BPJSTK",
    kind: str = "social_insurance",
    active: bool = True,
    **fields: Any,
) -> Programme:
    """A programme with a published version 1 of ``criteria``."""
    programme = Programme(
        code=code,
        agency=agency(agency_code),
        country=country,
        kind=kind,
        names={"en": f"Programme {code}", "id": f"Program {code}"},
        active=active,
        **fields,
    )
    db.session.add(programme)
    db.session.flush()
    version = RuleVersion(programme_id=programme.id, number=1, criteria=criteria, status="published")
    db.session.add(version)
    db.session.flush()
    programme.current_version_id = version.id
    db.session.flush()
    return programme


@pytest.fixture
def ctx(app, demo):  # type: ignore[no-untyped-def]
    """A request context (for gettext and Babel) with the demo regions, agencies and users."""
    with app.test_request_context():
        yield app
        db.session.rollback()

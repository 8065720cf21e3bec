"""Factories for cases, complaints and reports tests: rows made directly with the shared models."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from itertools import count
from typing import Any

from sqlalchemy import select

from srs.accounts.models import User
from srs.agencies.models import Agency
from srs.core import clock
from srs.extensions import db
from srs.programmes.models import Programme, RuleVersion, Screening, ScreeningResult
from srs.referrals.models import Referral
from srs.regions.models import Region
from srs.registry.models import Client

_seq = count(1)


def region(code: str) -> Region:
    found = db.session.scalar(select(Region).where(Region.code == code))
    assert found is not None, code
    return found


def user(username: str) -> User:
    found = db.session.scalar(select(User).where(User.username == username))
    assert found is not None, username
    return found


def make_client(
    region_code: str = "35.16.08.2003",
    *,
    name: str | None = None,
    sex: str = "female",
    born: date = date(1985, 5, 1),
    created_at: datetime | None = None,
    work_status: str | None = "informal",
    disability: bool | None = False,
) -> Client:
    n = next(_seq)
    full_name = name or f"Client {n:04d}"
    client = Client(
        full_name=full_name,
        name_key=full_name.lower(),
        sex=sex,
        date_of_birth=born,
        region_id=region(region_code).id,
        work_status=work_status,
        disability=disability,
        created_at=created_at or clock.now() - timedelta(days=10),
    )
    db.session.add(client)
    db.session.flush()
    return client


def make_programme(
    code: str = "ID-BPJSTK-BPU", agency_code: str = "BPJSTK", country: str = "ID"
) -> Programme:
    existing = db.session.scalar(select(Programme).where(Programme.code == code))
    if existing is not None:
        return existing
    agency = db.session.scalar(select(Agency).where(Agency.code == agency_code))
    assert agency is not None
    programme = Programme(
        code=code, agency_id=agency.id, country=country, kind="social_insurance", names={"en": code}
    )
    db.session.add(programme)
    db.session.flush()
    version = RuleVersion(programme_id=programme.id, number=1, criteria={"all": []}, status="published")
    db.session.add(version)
    db.session.flush()
    programme.current_version_id = version.id
    return programme


def make_screening(client: Client, outcomes: dict[Programme, str], at: datetime | None = None) -> Screening:
    screening = Screening(client_id=client.id, screened_at=at or clock.now() - timedelta(days=5))
    db.session.add(screening)
    db.session.flush()
    for programme, outcome in outcomes.items():
        db.session.add(
            ScreeningResult(
                screening_id=screening.id,
                programme_id=programme.id,
                rule_version_id=programme.current_version_id,
                outcome=outcome,
            )
        )
    db.session.flush()
    return screening


def make_referral(
    client: Client,
    programme: Programme,
    status: str = "delivered",
    *,
    created_at: datetime | None = None,
    decided_after_days: float | None = None,
    due_at: datetime | None = None,
    outcome: str | None = None,
) -> Referral:
    created = created_at or clock.now() - timedelta(days=20)
    referral = Referral(
        client_id=client.id,
        programme_id=programme.id,
        agency_id=programme.agency_id,
        region_id=client.region_id,
        status=status,
        created_at=created,
        decided_at=None if decided_after_days is None else created + timedelta(days=decided_after_days),
        due_at=due_at if due_at is not None else created + timedelta(days=14),
        outcome=outcome,
    )
    db.session.add(referral)
    db.session.flush()
    return referral


@contextmanager
def acting_as(app: Any, username: str | None = None) -> Iterator[User | None]:
    """A request context signed in as ``username`` (services that scope by current_user need one)."""
    from flask_login import login_user

    with app.test_request_context():
        actor = None
        if username is not None:
            actor = user(username)
            login_user(actor)
        yield actor
        db.session.commit()

"""Factories for the referral tests: clients, programmes, screenings and referrals made with the models."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import select

from srs.accounts.models import User
from srs.agencies.models import Agency
from srs.core.queue import get_queue
from srs.core.redis import get_redis
from srs.core.transaction import commit
from srs.extensions import db
from srs.programmes.models import Programme, RuleVersion, Screening, ScreeningResult
from srs.referrals import services as svc
from srs.referrals.models import Referral
from srs.regions.models import Region
from srs.registry.models import Client


def region(code: str) -> Region:
    return db.session.scalar(select(Region).where(Region.code == code))


def user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def agency(code: str = "BPJSTK") -> Agency:
    return db.session.scalar(select(Agency).where(Agency.code == code))


def make_client(
    region_code: str = "35.16.08.2003", consent: bool = True, name: str = "Sri Wahyuni"
) -> Client:
    client = Client(
        id_type="none",
        full_name=name,
        name_key=name.lower(),
        sex="female",
        date_of_birth=date(1985, 4, 12),
        phone="081234567890",
        region_id=region(region_code).id,
        address="Jl. Majapahit 1",
        monthly_income=1_500_000,
        occupation="Street vendor",
        consent_given=consent,
    )
    db.session.add(client)
    db.session.flush()
    return client


def make_programme(
    code: str = "ID-BPJSTK-BPU",
    agency_code: str = "BPJSTK",
    country: str = "ID",
    shared: list[str] | None = None,
) -> Programme:
    existing = db.session.scalar(select(Programme).where(Programme.code == code))
    if existing is not None:
        return existing
    programme = Programme(
        code=code,
        agency_id=agency(agency_code).id,
        country=country,
        kind="social_insurance",
        names={"en": f"Programme {code}"},
        shared_fields=shared if shared is not None else ["full_name", "sex", "date_of_birth", "phone"],
    )
    db.session.add(programme)
    db.session.flush()
    version = RuleVersion(programme_id=programme.id, number=1, criteria={"all": []}, status="published")
    db.session.add(version)
    db.session.flush()
    programme.current_version_id = version.id
    db.session.flush()
    return programme


def make_screening(client: Client, outcomes: dict[Programme, str]) -> Screening:
    screening = Screening(client_id=client.id)
    for programme, outcome in outcomes.items():
        screening.results.append(
            ScreeningResult(
                programme_id=programme.id, rule_version_id=programme.current_version_id, outcome=outcome
            )
        )
    db.session.add(screening)
    db.session.flush()
    return screening


def make_referral(
    client: Client | None = None, programme: Programme | None = None, by: str = "officer.id1"
) -> Referral:
    client = client or make_client()
    programme = programme or make_programme()
    [referral] = svc.create_referrals(
        svc.NewReferrals(
            client=client, programme_ids=[programme.id], note="Please help", consent_confirmed=True
        ),
        user(by),
    )
    return referral


def run_jobs() -> None:
    """Run every queued job (and what they enqueue) on the real Redis with a SimpleWorker."""
    SimpleWorker([get_queue()], connection=get_redis(), serializer=JSONSerializer).work(burst=True)


@pytest.fixture
def ref_ctx(app, demo) -> Any:  # type: ignore[no-untyped-def]
    """An app + request context with the demo users; helpers commit like a request's edge would."""
    with app.test_request_context():
        yield app
        db.session.rollback()


def deliver_all() -> None:
    commit()
    run_jobs()

"""The test factories, in one place: regions, users and agencies looked up; clients, programmes, screenings,
households and referrals made.

Rows are made directly with the models (fast, any state, any time); ``refer`` and ``register_client``
go through the services as a person would. A folder whose tests want other defaults says so with
``functools.partial`` in its conftest, never with a second factory.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import count
from typing import Any

from sqlalchemy import select

from srs.accounts.models import User
from srs.agencies.models import Agency
from srs.core import clock
from srs.extensions import db
from srs.programmes.models import Programme, RuleVersion, Screening, ScreeningResult
from srs.referrals import services as referral_services
from srs.referrals.models import Referral
from srs.regions.models import Region
from srs.registry.models import Client, ConsentRecord, Household, HouseholdMember

_seq = count(1)

# The person a referral test refers unless it says otherwise: a street vendor with a phone and an address.
STREET_VENDOR: dict[str, Any] = {
    "id_type": "none",
    "full_name": "Sri Wahyuni",
    "date_of_birth": date(1985, 4, 12),
    "phone": "081234567890",
    "address": "Jl. Majapahit 1",
    "monthly_income": 1_500_000,
    "occupation": "Street vendor",
}
# What a programme shares with its agency unless a test says otherwise.
SHARED_FIELDS = ["full_name", "sex", "date_of_birth", "phone"]


def region(code: str) -> Region:
    found = db.session.scalar(select(Region).where(Region.code == code))
    assert found is not None, code
    return found


def user(username: str) -> User:
    found = db.session.scalar(select(User).where(User.username == username))
    assert found is not None, username
    return found


def agency(code: str = "BPJSTK") -> Agency:
    found = db.session.scalar(select(Agency).where(Agency.code == code))
    assert found is not None, code
    return found


def make_client(region_code: str = "35.16.08.2003", **fields: Any) -> Client:
    """A client in ``region_code`` with the given columns; a fact not given stays unknown (NULL).

    Only what every client has is filled in: a name, sex, birth date and consent.
    """
    n = next(_seq)
    full_name = fields.pop("full_name", None) or f"Client {n:04d}"
    fields.setdefault("name_key", full_name.lower())
    fields.setdefault("sex", "female")
    fields.setdefault("date_of_birth", date(1985, 5, 1))
    fields.setdefault("consent_given", True)
    client = Client(full_name=full_name, region_id=region(region_code).id, **fields)
    db.session.add(client)
    db.session.flush()
    if client.consent_given:
        # Consent is a record (srs/registry/consent.py): the flag on the row is its copy.
        db.session.add(
            ConsentRecord(
                client_id=client.id,
                recorded_at=clock.now(),
                given_on=client.consent_date or clock.today(),
                scope=client.consent_scope or "Screening and referral",
                purposes=["screening", "referral"],
                all_agencies=True,
                agencies=[],
                source="form",
            )
        )
        db.session.flush()
    return client


def give_consent(client: Client, recorded_by: Any = None, **fields: Any) -> ConsentRecord:
    """Record a consent through the service (the current one from now on): every agency, screening and
    referral, given today, unless ``fields`` (ConsentInput's) say otherwise."""
    from srs.registry import consent

    fields.setdefault("given_on", clock.today())
    fields.setdefault("scope", "Screening and referral")
    record = consent.record_consent(client, consent.ConsentInput(given=True, **fields), recorded_by)
    db.session.flush()
    return record


def make_programme(
    code: str = "ID-BPJSTK-BPU",
    agency_code: str = "BPJSTK",
    country: str = "ID",
    *,
    criteria: dict[str, Any] | None = None,
    kind: str = "social_insurance",
    shared: list[str] | None = None,
    names: dict[str, str] | None = None,
    **fields: Any,
) -> Programme:
    """The programme ``code`` with a published version 1 of ``criteria`` (everyone, when not given).

    Made once: asking again for a code that exists returns the programme already there.
    """
    existing = db.session.scalar(select(Programme).where(Programme.code == code))
    if existing is not None:
        return existing
    fields["shared_fields"] = list(SHARED_FIELDS if shared is None else shared)
    programme = Programme(
        code=code,
        agency_id=agency(agency_code).id,
        country=country,
        kind=kind,
        names=names or {"en": f"Programme {code}", "id": f"Program {code}"},
        **fields,
    )
    db.session.add(programme)
    db.session.flush()
    version = RuleVersion(
        programme_id=programme.id, number=1, criteria=criteria or {"all": []}, status="published"
    )
    db.session.add(version)
    db.session.flush()
    programme.current_version_id = version.id
    db.session.flush()
    return programme


def make_screening(client: Client, outcomes: dict[Programme, str], at: datetime | None = None) -> Screening:
    """A screening of ``client`` with the given outcome per programme (at ``at``, else now)."""
    screening = Screening(client_id=client.id, screened_at=at or clock.now())
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
    db.session.refresh(screening)
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
    """A referral row in any state, made directly (20 days ago and due 14 days later, unless given)."""
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


def refer(
    client: Client | None = None, programme: Programme | None = None, by: str = "officer.id1"
) -> Referral:
    """A referral made through the service by ``by``, as the referral form makes it (outbox row included)."""
    client = client or make_client(**STREET_VENDOR)
    programme = programme or make_programme()
    [referral] = referral_services.create_referrals(
        referral_services.NewReferrals(
            client=client, programme_ids=[programme.id], note="Please help", consent_confirmed=True
        ),
        user(by),
    )
    return referral


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

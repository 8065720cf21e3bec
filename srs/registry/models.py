"""Clients (informal workers) and their households."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from srs.core import clock
from srs.core.models import UTCDateTime
from srs.extensions import Model
from srs.regions.models import Region

ID_TYPES = ("nik", "vn_pid", "none")
SEXES = ("female", "male")
WORK_STATUSES = ("informal", "self_employed", "msme_worker", "unemployed", "formal")
POVERTY_STATUSES = ("poor", "near_poor", "not_poor", "unknown")
# What a person may consent to: screening for programmes, sharing with agencies through referrals,
# and follow-up in a case file. A referral needs "referral".
CONSENT_PURPOSES = ("screening", "referral", "case_management")
RELATIONSHIPS = ("head", "spouse", "child", "parent", "sibling", "grandchild", "other_relative", "other")


class Household(Model):
    """A household (Indonesian family card, Vietnamese household book) that clients belong to."""

    __tablename__ = "households"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    address: Mapped[str | None] = mapped_column(String(300))
    family_card_number: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    region: Mapped[Region] = relationship()
    members: Mapped[list[HouseholdMember]] = relationship(
        back_populates="household", cascade="all, delete-orphan", order_by="HouseholdMember.id"
    )


class HouseholdMember(Model):
    """A person in a household: with their own client record, or just the facts screening needs."""

    __tablename__ = "household_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    # Unique: a client is a member of at most one household, once (NULLs, members without a
    # client record, never clash on SQLite or PostgreSQL). Migration 0010 made it so.
    client_id: Mapped[int | None] = mapped_column(
        ForeignKey("clients.id", ondelete="SET NULL"), index=True, unique=True
    )
    full_name: Mapped[str] = mapped_column(String(200))
    relationship_to_head: Mapped[str] = mapped_column(String(20), default="other")
    sex: Mapped[str | None] = mapped_column(String(10))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    disability: Mapped[bool | None] = mapped_column()
    in_education: Mapped[bool | None] = mapped_column()
    pregnant: Mapped[bool | None] = mapped_column()

    household: Mapped[Household] = relationship(back_populates="members")
    client: Mapped[Client | None] = relationship(foreign_keys=[client_id])


class Client(Model):
    """A person registered at the single window.

    ``version`` is the optimistic-locking counter the API and the edit form send back; unknown facts
    stay NULL (screening then says "needs information"), never a made-up default.
    """

    __tablename__ = "clients"
    __table_args__ = (
        UniqueConstraint("id_type", "id_number", name="uq_clients_id_type_id_number"),
        Index("ix_clients_name_dob", "name_key", "date_of_birth"),
        Index("ix_clients_phone", "phone"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    id_type: Mapped[str] = mapped_column(String(10), default="none")
    id_number: Mapped[str | None] = mapped_column(String(32))
    full_name: Mapped[str] = mapped_column(String(200))
    # The name folded for matching: lower case, no diacritics, single spaces.
    name_key: Mapped[str] = mapped_column(String(200), index=True)
    sex: Mapped[str] = mapped_column(String(10))
    date_of_birth: Mapped[date] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(20))
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    address: Mapped[str | None] = mapped_column(String(300))
    occupation: Mapped[str | None] = mapped_column(String(120))
    work_status: Mapped[str | None] = mapped_column(String(20))
    monthly_income: Mapped[int | None] = mapped_column(BigInteger)
    household_size: Mapped[int | None] = mapped_column()
    disability: Mapped[bool | None] = mapped_column()
    in_education: Mapped[bool | None] = mapped_column()
    pregnant: Mapped[bool | None] = mapped_column()
    # Special-category data (UU 27/2022 art. 4; Law 91/2025/QH15): the Viet Nam voluntary social
    # insurance support group (Decree 159/2025, 30%); shared only with a programme that lists it.
    ethnic_minority: Mapped[bool | None] = mapped_column()
    poverty_status: Mapped[str] = mapped_column(String(12), default="unknown")
    welfare_decile: Mapped[int | None] = mapped_column()
    welfare_source: Mapped[str | None] = mapped_column(String(80))
    welfare_date: Mapped[date | None] = mapped_column(Date)
    enrolments: Mapped[list[str]] = mapped_column(JSON, default=list)
    consent_given: Mapped[bool] = mapped_column(default=False)
    consent_date: Mapped[date | None] = mapped_column(Date)
    consent_scope: Mapped[str | None] = mapped_column(String(300))
    consent_recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    needs_id_followup: Mapped[bool] = mapped_column(default=False)
    needs_review: Mapped[bool] = mapped_column(default=False, index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)
    version: Mapped[int] = mapped_column(default=1)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Set by srs.privacy: an erased record (identifiers removed, statistics kept; date_of_birth then holds
    # 1 July of the birth year, never shown as a date) and a restricted one (read-only, not shared).
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    restricted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    region: Mapped[Region] = relationship()
    household: Mapped[Household | None] = relationship(foreign_keys=[household_id])

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Client {self.id} {self.full_name}>"


class ClientName(Model):
    """The folded name and region of every client not merged away: what name search scans on PostgreSQL.

    A trigram search re-reads each candidate row to check it; in this narrow copy (about a fifth of
    the clients table) those rows stay in memory, which halves the search time on a million clients.
    A trigger on ``clients`` keeps it in step (PostgreSQL only: SQLite searches ``clients`` directly
    and leaves this table empty).
    """

    __tablename__ = "client_names"
    __table_args__ = (
        Index(
            "ix_client_names_name_key_trgm",
            "name_key",
            postgresql_using="gin",
            postgresql_ops={"name_key": "gin_trgm_ops"},
        ),
    )

    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    name_key: Mapped[str] = mapped_column(String(200))


# Kept identical in migrations/versions/0009_registry2.py.
CLIENT_NAMES_FUNCTION = """
CREATE OR REPLACE FUNCTION srs_sync_client_names() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.merged_into_id IS NOT NULL THEN
    DELETE FROM client_names WHERE client_id = NEW.id;
  ELSE
    INSERT INTO client_names (client_id, region_id, name_key)
    VALUES (NEW.id, NEW.region_id, NEW.name_key)
    ON CONFLICT (client_id) DO UPDATE SET region_id = EXCLUDED.region_id, name_key = EXCLUDED.name_key;
  END IF;
  RETURN NULL;
END
$$
"""
CLIENT_NAMES_TRIGGER = """
CREATE TRIGGER trg_clients_sync_names
AFTER INSERT OR UPDATE OF name_key, region_id, merged_into_id ON clients
FOR EACH ROW EXECUTE FUNCTION srs_sync_client_names()
"""

# create_all() (tests, a fresh server) needs pg_trgm before the trigram index, and the trigger that
# fills client_names; migrations do the same.
event.listen(
    ClientName.__table__,
    "before_create",
    DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"),
)
event.listen(
    ClientName.__table__, "after_create", DDL(CLIENT_NAMES_FUNCTION).execute_if(dialect="postgresql")
)
event.listen(ClientName.__table__, "after_create", DDL(CLIENT_NAMES_TRIGGER).execute_if(dialect="postgresql"))


class DuplicateCandidate(Model):
    """A pair of clients that may be the same person, waiting for a supervisor's decision.

    ``client_id`` is the newer record (the one whose registration raised the flag).
    """

    __tablename__ = "client_duplicates"
    __table_args__ = (
        UniqueConstraint("client_id", "other_client_id", name="uq_client_duplicates_pair"),
        Index("ix_client_duplicates_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    other_client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(30))  # name_birth_district | phone
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | distinct | merged
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    client: Mapped[Client] = relationship(foreign_keys=[client_id])
    other_client: Mapped[Client] = relationship(foreign_keys=[other_client_id])


class ImportBatch(Model):
    """One uploaded file of clients, imported by a background job; progress is read by the page.

    The file itself is kept in the database so any worker, on any machine, can read it, for
    ``SRS_IMPORT_FILE_RETENTION_DAYS`` (then ``content`` is emptied and ``file_deleted_at`` set; the
    batch and its results stay).
    """

    __tablename__ = "client_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    file_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12), default="queued")  # queued | running | done | failed
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    imported: Mapped[int] = mapped_column(default=0)
    already_registered: Mapped[int] = mapped_column(default=0)
    # [[row number, reason], ...] for every row that was skipped as bad.
    errors: Mapped[list[list[Any]]] = mapped_column(JSON, default=list)
    failure: Mapped[str | None] = mapped_column(Text)


class ConsentRecord(Model):
    """One consent the person gave: who recorded it, when, for which purposes and agencies, and its end.

    Records are history, never overwritten: giving consent again adds a record; withdrawing it stamps
    ``withdrawn_at`` on the current one. The client's current consent (``Client.consent_*``) is derived
    from the newest record by ``srs.registry.consent.sync_current``.
    """

    __tablename__ = "consent_records"
    __table_args__ = (Index("ix_consent_records_client_recorded", "client_id", "recorded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    given_on: Mapped[date | None] = mapped_column(Date)
    scope: Mapped[str | None] = mapped_column(String(300))
    # Purpose codes (srs.registry.consent.PURPOSES).
    purposes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # True: every agency; False: only the agency codes in ``agencies``.
    all_agencies: Mapped[bool] = mapped_column(default=True)
    agencies: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(12), default="form")  # form | api | import | merge | migration
    # A signed form's scan, kept in the database like an import file (any worker can read it).
    evidence_filename: Mapped[str | None] = mapped_column(String(200))
    evidence_type: Mapped[str | None] = mapped_column(String(40))
    evidence_size: Mapped[int | None] = mapped_column()
    evidence: Mapped[bytes | None] = mapped_column(LargeBinary)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawal_reason: Mapped[str | None] = mapped_column(String(500))

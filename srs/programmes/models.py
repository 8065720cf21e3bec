"""Programmes, rule versions and screenings (the agencies that run them are in srs.agencies)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from srs.agencies.models import Agency
from srs.core import clock
from srs.core.models import UTCDateTime
from srs.extensions import Model

PROGRAMME_KINDS = (
    "social_insurance",
    "health_insurance",
    "social_assistance",
    "employment_service",
    "training",
)
OUTCOMES = ("eligible", "not_eligible", "needs_information")


class Programme(Model):
    """A programme an agency runs (BPJS Ketenagakerjaan BPU, PKH, voluntary social insurance...)."""

    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    country: Mapped[str] = mapped_column(String(2), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    # Names and texts per language: {"en": ..., "id": ..., "vi": ...}
    names: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    descriptions: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    benefit: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    required_documents: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Client fields the agency needs to see on a referral (agency staff see nothing else).
    shared_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    active_from: Mapped[date | None] = mapped_column(Date)
    active_to: Mapped[date | None] = mapped_column(Date)
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("rule_versions.id", use_alter=True, name="fk_programmes_current_version_id_rule_versions")
    )

    agency: Mapped[Agency] = relationship()
    current_version: Mapped[RuleVersion | None] = relationship(
        foreign_keys=[current_version_id], post_update=True
    )

    def name_in(self, locale: str) -> str:
        return self.names.get(locale) or self.names.get("en") or self.code

    def __repr__(self) -> str:
        return f"<Programme {self.code}>"


class RuleVersion(Model):
    """One immutable version of a programme's eligibility criteria (a tree stored as data).

    Status: draft (editable, can be simulated) -> published (in force, never changed again) or
    discarded. Publishing a newer version supersedes the older one.
    """

    __tablename__ = "rule_versions"
    __table_args__ = (UniqueConstraint("programme_id", "number", name="uq_rule_versions_programme_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column()
    criteria: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    # A draft is saved over and over; each save counts one up, so publishing names the revision the
    # admin reviewed (and is refused when someone saved the draft since).
    revision: Mapped[int] = mapped_column(default=1, server_default="1")
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    programme: Mapped[Programme] = relationship(foreign_keys=[programme_id])

    # Every ORM update checks and counts up ``revision``: a save of the draft and a publication that
    # cross each other cannot both win (the loser gets StaleDataError, answered as 409).
    __mapper_args__ = {"version_id_col": revision}


class Screening(Model):
    """A client screened against every active programme of their country at one moment."""

    __tablename__ = "screenings"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    screened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    screened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    trigger: Mapped[str] = mapped_column(String(20), default="officer")  # officer | rescreen | api

    results: Mapped[list[ScreeningResult]] = relationship(
        back_populates="screening", cascade="all, delete-orphan", order_by="ScreeningResult.id"
    )


class ScreeningResult(Model):
    """One programme's outcome in a screening, with a reason per criterion."""

    __tablename__ = "screening_results"
    __table_args__ = (Index("ix_screening_results_programme_outcome", "programme_id", "outcome"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    screening_id: Mapped[int] = mapped_column(ForeignKey("screenings.id", ondelete="CASCADE"), index=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"))
    rule_version_id: Mapped[int] = mapped_column(ForeignKey("rule_versions.id"))
    outcome: Mapped[str] = mapped_column(String(20))
    # [{"criterion": ..., "passed": true|false|null, "detail": ...}]
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    screening: Mapped[Screening] = relationship(back_populates="results")
    programme: Mapped[Programme] = relationship()
    rule_version: Mapped[RuleVersion] = relationship()


class RescreenRun(Model):
    """A re-screening started by publishing a rule version: its progress, for the progress bar."""

    __tablename__ = "rescreen_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_version_id: Mapped[int] = mapped_column(ForeignKey("rule_versions.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="queued")  # queued | running | done | failed
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    newly_eligible: Mapped[int] = mapped_column(default=0)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    rule_version: Mapped[RuleVersion] = relationship()


class EligibilityNotice(Model):
    """A client who newly qualifies for a programme after a rule change: on their officer's work list."""

    __tablename__ = "eligibility_notices"
    __table_args__ = (
        UniqueConstraint("client_id", "programme_id", "rule_version_id", name="uq_eligibility_notices_once"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"))
    rule_version_id: Mapped[int] = mapped_column(ForeignKey("rule_versions.id"))
    screening_id: Mapped[int] = mapped_column(ForeignKey("screenings.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    programme: Mapped[Programme] = relationship()

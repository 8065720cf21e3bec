"""The data-subject request ledger and the legal periods each country sets for answering requests.

Other privacy modules add their own models here, each in its own section below.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from srs.accounts.models import User
from srs.core import clock
from srs.core.models import UTCDateTime
from srs.extensions import Model
from srs.registry.models import Client

# ---------------------------------------------------------------- requests and legal periods

REQUEST_KINDS = ("access", "portability", "correction", "erasure", "objection", "restriction", "withdrawal")
REQUEST_CHANNELS = ("in_person", "phone", "letter", "email")
REQUEST_STATUSES = ("open", "closed")
REQUEST_OUTCOMES = ("fulfilled", "partly_fulfilled", "refused", "withdrawn_by_person")
# How a legal period is counted: clock hours, calendar days, or working days of the country's calendar.
PERIOD_UNITS = ("hours", "days", "working_days")
PERIOD_STAGES = ("answer", "complete")


class LegalPeriod(Model):
    """How long the law gives to answer or complete one kind of request in one country.

    Rows are data (seeded from srs/privacy/legal.py and the migration, kept by admins), never
    code branches: a new country or an amended decree is a new row, not a release.
    ``stage`` is ``answer`` (first reply to the person) or ``complete`` (the request carried out).
    """

    __tablename__ = "privacy_legal_periods"
    __table_args__ = (UniqueConstraint("country", "kind", "stage", name="uq_privacy_legal_periods"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    country: Mapped[str] = mapped_column(String(2), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    stage: Mapped[str] = mapped_column(String(10), default="answer")
    amount: Mapped[int] = mapped_column()
    unit: Mapped[str] = mapped_column(String(12))
    # Longer period where processors must act too (Viet Nam: 20 instead of 15 days), if the law has one.
    amount_with_processors: Mapped[int | None] = mapped_column()
    # The longest single extension the law allows, in the same unit (Viet Nam: 15 days), if any.
    extension_max: Mapped[int | None] = mapped_column()
    law: Mapped[str] = mapped_column(String(120))
    article: Mapped[str] = mapped_column(String(120))
    # False when the law sets no period and SRS applies its own service standard (said in ``note``).
    statutory: Mapped[bool] = mapped_column(default=True)
    note: Mapped[str | None] = mapped_column(Text)


class DataSubjectRequest(Model):
    """A request by a person about their own data, received by an officer, with its legal clock."""

    __tablename__ = "data_subject_requests"
    __table_args__ = (Index("ix_dsr_region_status_due", "region_id", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    # Copied from the client so scoping needs no join (as cases and complaints do).
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))
    kind: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(12))
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="open")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the request must be carried out, where the law sets a second period (Viet Nam).
    complete_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The rule as it read when the request came in ("UU 27/2022 art. 32: 3 x 24 hours").
    rule: Mapped[str] = mapped_column(String(300))
    legal_period_id: Mapped[int | None] = mapped_column(ForeignKey("privacy_legal_periods.id"))
    # The first reply to the person (closing counts as one): stops the answer clock.
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extended_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(20))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # What served the request: "export" (access, portability), "client" (a correction), an erasure, ...
    served_by_kind: Mapped[str | None] = mapped_column(String(20))
    served_by_id: Mapped[int | None] = mapped_column()
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    client: Mapped[Client] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    legal_period: Mapped[LegalPeriod | None] = relationship()

    @property
    def deadline(self) -> datetime:
        """The next moment the law sets for this request (it is overdue once that has passed).

        With one period (Indonesia) that is the due time. With two (Viet Nam) it is the answer's due
        time until the person has had an answer, then the completion's, or its extension.
        """
        if self.complete_by is None:
            return self.extended_until or self.due_at
        if self.answered_at is None:
            return self.due_at
        return self.extended_until or self.complete_by


# ---------------------------------------------------------------- erasure, holds, reviews, breaches
# (srs/privacy/erasure.py, restriction.py, objection.py, breaches.py)


class LegalHold(Model):
    """A supervisor's hold on a person's record: while it is active the record may not be erased."""

    __tablename__ = "privacy_legal_holds"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    set_by: Mapped[User | None] = relationship(foreign_keys=[set_by_id])


class Erasure(Model):
    """That a person's record was anonymised: when, by whom, for which request, which agencies were told.

    Holds no personal data itself (the record's id and the counts of what was removed).
    """

    __tablename__ = "privacy_erasures"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), unique=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("data_subject_requests.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # {"household_members": n, "notes": n, "duplicates": n, "idempotency_keys": n, "agencies": [codes]}
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class HumanReview(Model):
    """A person's objection to an automated screening result, sent to a named reviewer.

    ``decision`` is the reviewer's own outcome (eligible, not_eligible, needs_information), shown beside
    the automated one; it does not rewrite the screening (the rules' answer stays as evidence).
    """

    __tablename__ = "privacy_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("screening_results.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("data_subject_requests.id"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    note: Mapped[str | None] = mapped_column(Text)
    decision: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    reviewer: Mapped[User] = relationship(foreign_keys=[reviewer_id])


class Breach(Model):
    """A suspected personal-data breach an admin recorded, with the window and what was compromised.

    Only references (an account, an export, a window): the people affected are computed from the
    audit trail when asked, never copied here, so the breach record and its logs hold no personal data.
    """

    __tablename__ = "privacy_breaches"

    id: Mapped[int] = mapped_column(primary_key=True)
    description: Mapped[str] = mapped_column(Text)
    discovered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # An audit action of the exports concerned ("report.export", "client.export"), if an export leaked.
    export_action: Mapped[str | None] = mapped_column(String(60))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    authority_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    people_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account: Mapped[User | None] = relationship(foreign_keys=[account_id])

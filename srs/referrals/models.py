"""Referrals of a client to a programme, their history, and the delivery outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from srs.core import clock
from srs.core.models import UTCDateTime
from srs.extensions import Model

STATUSES = ("pending", "delivered", "accepted", "declined", "completed", "cancelled")
OPEN_STATUSES = ("pending", "delivered", "accepted")


class Referral(Model):
    """A client referred to one programme's agency; ``version`` guards concurrent decisions."""

    __tablename__ = "referrals"
    __table_args__ = (
        Index("ix_referrals_status_due", "status", "due_at"),
        Index("ix_referrals_agency_status", "agency_id", "status"),
        Index("ix_referrals_programme_status", "programme_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    screening_id: Mapped[int | None] = mapped_column(ForeignKey("screenings.id"))
    # Copied from the client at creation so scoping and reports need no join through clients.
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    note: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(12))  # successful | unsuccessful
    decline_reason: Mapped[str | None] = mapped_column(String(40))
    consent_override_reason: Mapped[str | None] = mapped_column(Text)
    # Why it was cancelled: ``consent_withdrawn`` when the person withdrew consent, else the reason typed.
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivery_failed: Mapped[bool] = mapped_column(default=False)
    # The estimate the person was shown (srs.programmes.estimates, with its rate version), kept as
    # it was when the referral was made: the agency, the letter and the page show this one.
    estimate: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(default=1)

    events: Mapped[list[ReferralEvent]] = relationship(
        back_populates="referral", cascade="all, delete-orphan", order_by="ReferralEvent.id"
    )

    __mapper_args__ = {"version_id_col": version}


class ReferralEvent(Model):
    """One step in a referral's history: its new status, who, when and why."""

    __tablename__ = "referral_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(12))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)

    referral: Mapped[Referral] = relationship(back_populates="events")


class OutboxMessage(Model):
    """A delivery waiting to go out, written in the same transaction as its referral."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_status_available", "status", "available_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"), index=True)
    # inbox | webhook | email | escalation | cancellation (the notice that a referral was withdrawn)
    channel: Mapped[str] = mapped_column(String(12))
    # A notice about the referral's client (``client.corrected``, ``client.erasure_requested``) sent
    # to the agency that received the client's data; None: the referral itself (referral.delivered).
    event: Mapped[str | None] = mapped_column(String(40))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # pending | enqueued | sending | done | failed | cancelled
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The queue job the relay put this row in (a batch job carries several inbox rows): when Redis no
    # longer holds it, the reconciler puts the row back at once.
    job_id: Mapped[str | None] = mapped_column(String(36))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # A notice (``event`` set) delivered to the inbox: when the agency's staff first opened it.
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Delivery(Model):
    """Proof that one outbox message was delivered: the unique key makes a second run a no-op."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("idempotency_key", name="uq_deliveries_idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox_messages.id", ondelete="CASCADE"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(80))
    channel: Mapped[str] = mapped_column(String(12))
    delivered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    response_status: Mapped[int | None] = mapped_column()

    outbox: Mapped[OutboxMessage] = relationship()

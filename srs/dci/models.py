"""DCI records: the Social Registry server (partners, transactions, subscriptions, changes, outbox) and the
national registries SRS asks as a client (checks, civil events)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from srs.accounts.models import User
from srs.core import clock
from srs.core.models import UTCDateTime
from srs.extensions import Model
from srs.registry.models import Client

# A partner's predicate names the poverty score, sex, age and location of people it may see (live,
# with consent): PostgreSQL counts and pages such a search from this index alone, instead of
# reading every client of a district (2.0 s -> see docs/benchmarks.md, "DCI").
# The partial predicate is query.base_condition(), so the partner filter is implied by the index.
_SHAREABLE = text(
    "merged_into_id IS NULL AND consent_given IS TRUE AND restricted_at IS NULL AND anonymised_at IS NULL"
)
ix_clients_dci_attributes = Index(
    "ix_clients_dci_attributes",
    Client.welfare_decile,
    Client.sex,
    Client.date_of_birth,
    Client.region_id,
    postgresql_include=["id"],
    postgresql_where=_SHAREABLE,
    sqlite_where=_SHAREABLE,
)
# A predicate naming a location: one narrow range per region instead of the whole decile range per
# region (6.2 s -> see docs/benchmarks.md, "At 10,000,000 clients"; migration 0028).
ix_clients_dci_region = Index(
    "ix_clients_dci_region",
    Client.region_id,
    Client.sex,
    Client.welfare_decile,
    Client.date_of_birth,
    postgresql_include=["id"],
    postgresql_where=_SHAREABLE,
    sqlite_where=_SHAREABLE,
)


class DciPartner(Model):
    """A partner system's DCI profile: what it may ask, what it may be told, where it is called back.

    The partner signs in as its user (role ``partner``); ``sender_id`` is the name it puts in
    ``header.sender_id``. A partner with a ``public_key`` (Ed25519) must sign every request.
    """

    __tablename__ = "dci_partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    sender_id: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    id_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    attributes: Mapped[list[str]] = mapped_column(JSON, default=list)
    record_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    callback_bases: Mapped[list[str]] = mapped_column(JSON, default=list)
    public_key: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)

    user: Mapped[User] = relationship()


class DciTransaction(Model):
    """One request message a partner sent: its ids, its answer, and each request's outcome.

    ``(partner_id, message_id)`` is unique: the same message sent twice is a replay of the first
    answer, never a second search or subscription. ``statuses`` keeps, per reference_id, the
    status and reason (never the records), which is what a transaction-status request reports.
    """

    __tablename__ = "dci_transactions"
    __table_args__ = (
        UniqueConstraint("partner_id", "message_id", name="uq_dci_transactions_partner_message"),
        Index("ix_dci_transactions_partner_txn", "partner_id", "transaction_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("dci_partners.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(20))
    transaction_id: Mapped[str] = mapped_column(String(99))
    correlation_id: Mapped[str] = mapped_column(String(99), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(4), default="rcvd")  # rcvd | pdng | succ | rjct
    sync: Mapped[bool] = mapped_column(default=False)
    sender_uri: Mapped[str | None] = mapped_column(String(1000))
    locale: Mapped[str | None] = mapped_column(String(8))
    # The request message (async only, until its callback is built), then dropped.
    request: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    statuses: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    partner: Mapped[DciPartner] = relationship()


class DciSubscription(Model):
    """A partner's standing request to be told of registry events that match its filter."""

    __tablename__ = "dci_subscriptions"
    __table_args__ = (Index("ix_dci_subscriptions_status_event", "status", "reg_event_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(99), unique=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("dci_partners.id", ondelete="CASCADE"), index=True)
    transaction_id: Mapped[str] = mapped_column(String(99))
    reference_id: Mapped[str] = mapped_column(String(200))
    reg_type: Mapped[str | None] = mapped_column(String(120))
    reg_event_type: Mapped[str] = mapped_column(String(20))  # REGISTER | UPDATE | DELETE | LINK | UNLINK
    filter_type: Mapped[str] = mapped_column(String(20))
    filter: Mapped[Any] = mapped_column(JSON)
    notify_record_type: Mapped[str] = mapped_column(String(20))  # Member | Group
    frequency: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    locale: Mapped[str | None] = mapped_column(String(8))
    sender_uri: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(12), default="subscribe")  # subscribe | unsubscribe
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    partner: Mapped[DciPartner] = relationship()


class DciChange(Model):
    """A registry change (a client registered, changed, merged away), written in the change's transaction.

    ``client_id`` is a plain number, not a foreign key: merging repoints every foreign key to the
    kept client, and the DELETE event must keep naming the record that went away.
    """

    __tablename__ = "dci_changes"
    __table_args__ = (Index("ix_dci_changes_pending", "dispatched_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column()
    event: Mapped[str] = mapped_column(String(10))  # REGISTER | UPDATE | DELETE | LINK | UNLINK
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DciOutbox(Model):
    """A callback or notification waiting to go out; it keeps one ``message_id`` across every retry.

    ``header``/``message`` are filled when the message is built (an async search runs in the
    job, once) and emptied once it is delivered, so the outbox keeps no personal data afterwards.
    ``(change_id, subscription_id)`` is unique: one change is notified to one subscription once.
    """

    __tablename__ = "dci_outbox"
    __table_args__ = (
        Index("ix_dci_outbox_status_available", "status", "available_at"),
        UniqueConstraint("change_id", "subscription_id", name="uq_dci_outbox_change_subscription"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("dci_partners.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(20))  # on-search | on-subscribe | ... | notify
    url: Mapped[str] = mapped_column(String(1000))
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    transaction_row_id: Mapped[int | None] = mapped_column(
        ForeignKey("dci_transactions.id", ondelete="CASCADE"), index=True
    )
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("dci_subscriptions.id", ondelete="CASCADE")
    )
    change_id: Mapped[int | None] = mapped_column(ForeignKey("dci_changes.id", ondelete="CASCADE"))
    header: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    message: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending|enqueued|sending|done|failed
    attempts: Mapped[int] = mapped_column(default=0)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_status: Mapped[int | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    partner: Mapped[DciPartner] = relationship()


# ---------------------------------------------------------------- SRS as a client of national registries


class NationalRegistry(Model):
    """A national system SRS asks as a DCI client: a Social Registry (``social``) or a CRVS (``crvs``).

    SRS calls ``base_url`` + ``registry/sync/search`` (or ``registry/search`` when ``answers_async``,
    answered by callback) with ``receiver_id`` in the header. ``inbound_token`` is the secret part of
    the callback URLs SRS gives the registry (on-search, on-subscribe, notify); a registry with a
    ``public_key`` must also sign what it sends.
    """

    __tablename__ = "dci_registries"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # social | crvs
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))  # ID | VN
    base_url: Mapped[str] = mapped_column(String(500))
    receiver_id: Mapped[str] = mapped_column(String(120))
    auth_token: Mapped[str | None] = mapped_column(String(500))
    public_key: Mapped[str | None] = mapped_column(Text)
    timeout_seconds: Mapped[float] = mapped_column(default=5.0)
    answers_async: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    inbound_token: Mapped[str] = mapped_column(String(64), unique=True)
    subscription_code: Mapped[str | None] = mapped_column(String(120))
    subscription_status: Mapped[str | None] = mapped_column(String(20))  # requested | subscribed | failed
    subscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class RegistryCheck(Model):
    """One "check the national registry" for a client: what the registry held, and what was taken over.

    ``found`` keeps only the facts SRS shows beside the client's record (poverty status, welfare
    decile, household size, name, birth date, sex and the date of the registry's data); ``taken``
    lists each value an officer took over, with who and when.
    """

    __tablename__ = "dci_registry_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    registry_id: Mapped[int] = mapped_column(ForeignKey("dci_registries.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    transaction_id: Mapped[str] = mapped_column(String(99), unique=True)
    status: Mapped[str] = mapped_column(String(12))  # pending | found | not_found | failed
    error: Mapped[str | None] = mapped_column(String(300))
    found: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    taken: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    source: Mapped[NationalRegistry] = relationship()
    user: Mapped[User | None] = relationship()


class CivilEvent(Model):
    """A birth or death the civil registry notified about a registered person: a task for the area's officer.

    ``client_id`` is the registered person it concerns (the deceased, or the newborn's parent);
    the officer settles it (household updated, open referrals closed) and marks it done.
    """

    __tablename__ = "dci_civil_events"
    __table_args__ = (UniqueConstraint("registry_id", "event_key", name="uq_dci_civil_events_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registry_id: Mapped[int] = mapped_column(ForeignKey("dci_registries.id", ondelete="CASCADE"))
    event_key: Mapped[str] = mapped_column(String(200))  # the notification's reference, once per registry
    kind: Mapped[str] = mapped_column(String(10))  # birth | death
    # Scoped through the client (its current region), never a copy of the region that could go stale.
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    event_date: Mapped[date | None] = mapped_column(Date)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    outcome: Mapped[str | None] = mapped_column(String(500))

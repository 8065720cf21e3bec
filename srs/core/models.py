"""Shared model helpers: timestamps in UTC and the audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DDL, JSON, BigInteger, DateTime, ForeignKey, Index, String, event, text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from srs.core import clock
from srs.extensions import Model


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored as UTC; SQLite forgets the offset, this puts it back."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class AuditEntry(Model):
    """One line of the audit log: who did what to which record, when and from where.

    Never holds a password, a token or a full ID number (see srs.core.audit.scrub). Entries form a
    hash chain (srs.core.audit_chain): ``hash`` is the SHA-256 of ``prev_hash`` and the entry's
    fields, ``prev_hash`` the hash of the entry before it in ``chain_seq`` order; ``flask
    verify-audit`` walks the chain. A request inserts its entries unsealed (the three NULL); the
    sealer (``audit_chain.seal_pending``) sets them once, after the commit. The application
    otherwise only inserts; on PostgreSQL a trigger refuses every DELETE and every UPDATE but that
    one sealing.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_object", "object_type", "object_id"),
        Index("ix_audit_entries_at", "at"),
        # The sealer's "anything to seal?" is one look at this (normally empty) index.
        Index(
            "ix_audit_entries_unsealed",
            "id",
            postgresql_where=text("chain_seq IS NULL"),
            sqlite_where=text("chain_seq IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    username: Mapped[str | None] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(64))
    ip_address: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Unique: two entries can never follow the same one, so a chain cannot fork even if the lock
    # that serialises sealing were bypassed (NULLs, the unsealed entries, never collide).
    prev_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    hash: Mapped[str | None] = mapped_column(String(64))
    # The entry's place in the chain. Not the id: ids are given at INSERT, but entries are sealed in
    # the order they were committed, and a transaction that took an id first may commit last.
    chain_seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)


# Append-only on PostgreSQL: the same function and trigger as migration 0035, so a schema made by
# create_all (the tests) refuses changes too. One UPDATE passes: the sealing of an unsealed entry,
# which sets its three seal columns from NULL and changes nothing else. Row triggers do not fire
# on TRUNCATE.
AUDIT_APPEND_ONLY_FUNCTION = DDL(
    """
CREATE OR REPLACE FUNCTION srs_audit_entries_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
        AND OLD.chain_seq IS NULL AND OLD.prev_hash IS NULL AND OLD.hash IS NULL
        AND NEW.chain_seq IS NOT NULL AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL
        AND to_jsonb(NEW) - ARRAY['chain_seq', 'prev_hash', 'hash']
            = to_jsonb(OLD) - ARRAY['chain_seq', 'prev_hash', 'hash']
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = 'audit entries are append-only: ' || TG_OP || ' refused',
        ERRCODE = 'insufficient_privilege';
END
$$
"""
)
AUDIT_APPEND_ONLY_TRIGGER = DDL(
    "CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries "
    "FOR EACH ROW EXECUTE FUNCTION srs_audit_entries_append_only()"
)
event.listen(
    AuditEntry.__table__, "after_create", AUDIT_APPEND_ONLY_FUNCTION.execute_if(dialect="postgresql")
)
event.listen(AuditEntry.__table__, "after_create", AUDIT_APPEND_ONLY_TRIGGER.execute_if(dialect="postgresql"))

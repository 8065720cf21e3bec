"""The audit log as a hash chain, append-only on PostgreSQL

Revision ID: 0013_audit_chain
Revises: 0014_outbound
Create Date: 2026-12-02 10:00:00

Each audit entry gets ``prev_hash`` (the hash of the entry before it, unique: the chain cannot fork)
and ``hash`` = SHA-256(prev_hash, newline, the entry's canonical JSON). The entries already in the
log are chained here, in id order, with a frozen copy of the canonical form (this file never imports
SRS's code, which may change later). On PostgreSQL a row trigger then refuses every UPDATE and
DELETE on audit_entries; TRUNCATE, which an operator may still run deliberately, fires no row trigger.
"""

import hashlib
import json
from datetime import UTC

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0013_audit_chain"
down_revision = "0014_outbound"
branch_labels = None
depends_on = None

GENESIS = "0" * 64
HASHED_FIELDS = ("at", "user_id", "username", "action", "object_type", "object_id", "ip_address", "details")
BATCH = 1000

entries = sa.table(
    "audit_entries",
    sa.column("id", sa.Integer()),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("user_id", sa.Integer()),
    sa.column("username", sa.String()),
    sa.column("action", sa.String()),
    sa.column("object_type", sa.String()),
    sa.column("object_id", sa.String()),
    sa.column("ip_address", sa.String()),
    sa.column("details", sa.JSON()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)

APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION srs_audit_entries_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'audit entries are append-only: ' || TG_OP || ' refused',
        ERRCODE = 'insufficient_privilege';
END
$$
"""
APPEND_ONLY_TRIGGER = (
    "CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries "
    "FOR EACH ROW EXECUTE FUNCTION srs_audit_entries_append_only()"
)


def _instant(value):
    if value is None:
        return None
    if isinstance(value, str):  # a driver that hands back text
        from datetime import datetime

        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _canonical(row):
    payload = {name: getattr(row, name) for name in HASHED_FIELDS}
    payload["at"] = _instant(row.at)
    details = row.details
    if isinstance(details, str):
        details = json.loads(details)
    payload["details"] = json.loads(json.dumps(details or {}, default=str))
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _chain_existing_entries(bind):
    prev = GENESIS
    last_id = 0
    while True:
        rows = bind.execute(
            sa.select(entries).where(entries.c.id > last_id).order_by(entries.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        updates = []
        for row in rows:
            digest = hashlib.sha256(f"{prev}\n{_canonical(row)}".encode()).hexdigest()
            updates.append({"row_id": row.id, "prev": prev, "digest": digest})
            prev = digest
        bind.execute(
            entries.update()
            .where(entries.c.id == sa.bindparam("row_id"))
            .values(prev_hash=sa.bindparam("prev"), hash=sa.bindparam("digest")),
            updates,
        )
        last_id = rows[-1].id


def upgrade():
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # No entry may be written while the existing ones are chained.
        op.execute("LOCK TABLE audit_entries IN EXCLUSIVE MODE")
    _chain_existing_entries(bind)

    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_audit_entries_prev_hash"), ["prev_hash"])

    if bind.dialect.name == "postgresql":
        op.execute(APPEND_ONLY_FUNCTION)
        op.execute(APPEND_ONLY_TRIGGER)


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries")
        op.execute("DROP FUNCTION IF EXISTS srs_audit_entries_append_only()")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_entries_prev_hash"), type_="unique")
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")

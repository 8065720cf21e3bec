"""The audit chain sealed after the commit: chain_seq, nullable seal columns, a trigger that allows the seal

Revision ID: 0035_seal_audit_seq
Revises: 0034_coverage_local_day
Create Date: 2026-12-01 21:00:00

A request now inserts its audit entries unsealed (``prev_hash``, ``hash`` and the new ``chain_seq``
NULL) and a sealer chains them after the commit, in commit order; ``chain_seq`` is the chain's order
(unique), which is no longer the id's. The entries already chained keep their hashes and get
``chain_seq`` = their id (their chain is id-ordered). A partial index on the unsealed entries makes
the sealer's "anything to seal?" cheap. On PostgreSQL the append-only trigger now lets one UPDATE
through: the sealing of an unsealed entry (its three seal columns set from NULL, every other column
unchanged); every other UPDATE and every DELETE is still refused.

The downgrade goes back to a chain in id order: the entries are chained again in id order (with a
frozen copy of the canonical form, like 0013) where their hashes differ from that, which is where
commit order was not id order, and the entries not sealed yet.
"""

import hashlib
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0035_seal_audit_seq"
down_revision = "0034_coverage_local_day"
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

SEAL_ONCE_FUNCTION = """
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
# 0013's function, for the downgrade.
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
DROP_TRIGGER = "DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries"


def upgrade():
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    if postgresql:
        # No entry may be written or sealed while the column is filled; the trigger would refuse it.
        op.execute("LOCK TABLE audit_entries IN EXCLUSIVE MODE")
        op.execute(DROP_TRIGGER)
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain_seq", sa.BigInteger(), nullable=True))
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=True)
    # The existing chain is id-ordered: the id is a place in it (gaps are allowed, order is what counts).
    op.execute("UPDATE audit_entries SET chain_seq = id")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f("uq_audit_entries_chain_seq"), ["chain_seq"])
    op.create_index(
        "ix_audit_entries_unsealed",
        "audit_entries",
        ["id"],
        unique=False,
        postgresql_where=sa.text("chain_seq IS NULL"),
        sqlite_where=sa.text("chain_seq IS NULL"),
    )
    if postgresql:
        op.execute(SEAL_ONCE_FUNCTION)
        op.execute(APPEND_ONLY_TRIGGER)


def _instant(value):
    if value is None:
        return None
    if isinstance(value, str):  # a driver that hands back text
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


def _chain_in_id_order(bind):
    """Give every entry the hashes of an id-ordered chain, writing only those that differ."""
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
            if (row.prev_hash, row.hash) != (prev, digest):
                updates.append({"row_id": row.id, "prev": prev, "digest": digest})
            prev = digest
        if updates:
            # Cleared first: the unique prev_hash would collide while the links move.
            bind.execute(
                entries.update().where(entries.c.id == sa.bindparam("row_id")).values(prev_hash=None, hash=None),
                updates,
            )
            bind.execute(
                entries.update()
                .where(entries.c.id == sa.bindparam("row_id"))
                .values(prev_hash=sa.bindparam("prev"), hash=sa.bindparam("digest")),
                updates,
            )
        last_id = rows[-1].id


def downgrade():
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    if postgresql:
        op.execute("LOCK TABLE audit_entries IN EXCLUSIVE MODE")
        op.execute(DROP_TRIGGER)
    op.drop_index("ix_audit_entries_unsealed", table_name="audit_entries")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_entries_chain_seq"), type_="unique")
        batch_op.drop_column("chain_seq")
    _chain_in_id_order(bind)
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
    if postgresql:
        op.execute(APPEND_ONLY_FUNCTION)
        op.execute(APPEND_ONLY_TRIGGER)

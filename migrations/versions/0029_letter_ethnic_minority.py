"""Ethnic minority as a client field of its own (special-category data), moved out of clients.extra

Revision ID: 0029_letter_ethnic_minority
Revises: 0028_letter_referral_estimate
Create Date: 2026-12-01 16:00:00

The Viet Nam voluntary social insurance support (30% for ethnic minorities, Decree 159/2025) read
``extra['ethnic_minority']``, which no form, API or import set. It becomes the column
``clients.ethnic_minority`` (yes / no / unknown); a value some earlier import left in ``extra`` is
moved over (true/false, or yes/no/1/0 typed as text) and taken out of ``extra``; anything else there
is dropped as unknown. The downgrade puts the values back in ``extra``.
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0029_letter_ethnic_minority"
down_revision = "0028_letter_referral_estimate"
branch_labels = None
depends_on = None

KEY = "ethnic_minority"
YES = {"true", "yes", "y", "1", "ya", "có", "co"}
NO = {"false", "no", "n", "0", "tidak", "không", "khong"}


def _as_bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return {1: True, 0: False}.get(value)
    text = str(value).strip().lower()
    return True if text in YES else False if text in NO else None


def _loaded(extra):
    if isinstance(extra, str):
        try:
            extra = json.loads(extra)
        except ValueError:
            return None
    return extra if isinstance(extra, dict) else None


def upgrade():
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("ethnic_minority", sa.Boolean(), nullable=True))
    clients = sa.table(
        "clients", sa.column("id", sa.Integer), sa.column("extra", sa.JSON), sa.column(KEY, sa.Boolean)
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(clients.c.id, clients.c.extra).where(clients.c.extra.is_not(None)))
    for client_id, raw in rows.fetchall():
        extra = _loaded(raw)
        if not extra or KEY not in extra:
            continue
        value = _as_bool(extra.pop(KEY))
        bind.execute(clients.update().where(clients.c.id == client_id).values({KEY: value, "extra": extra}))


def downgrade():
    clients = sa.table(
        "clients", sa.column("id", sa.Integer), sa.column("extra", sa.JSON), sa.column(KEY, sa.Boolean)
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(clients.c.id, clients.c.extra, clients.c[KEY]).where(clients.c[KEY].is_not(None))
    )
    for client_id, raw, value in rows.fetchall():
        extra = _loaded(raw) or {}
        extra[KEY] = bool(value)
        bind.execute(clients.update().where(clients.c.id == client_id).values(extra=extra))
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("ethnic_minority")

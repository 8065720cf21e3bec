"""The overdue referral facts' index carries the status, which names the overdue measure

Revision ID: 0017_overdue_by_kind
Revises: 0016_idempotency
Create Date: 2026-12-02 10:00:00

The dashboard counts overdue referrals per measure (waiting for a decision past due; accepted but
not completed past due, see srs/referrals/overdue.py) by grouping the overdue facts by status. With
the status in the partial index's INCLUDE list PostgreSQL still answers from the index alone. On
SQLite the index has no INCLUDE list: nothing changes there.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0017_overdue_by_kind"
down_revision = "0016_idempotency"
branch_labels = None
depends_on = None

DEMOGRAPHICS = ["sex", "work_status", "disability", "date_of_birth"]
OPEN = sa.text("status IN ('pending', 'delivered', 'accepted')")


def _recreate(include):
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_report_referral_facts_open_due", table_name="report_referral_facts")
    op.create_index(
        "ix_report_referral_facts_open_due",
        "report_referral_facts",
        ["region_id", "due_at"],
        unique=False,
        postgresql_include=include,
        postgresql_where=OPEN,
    )


def upgrade():
    _recreate(["programme_id", "status", *DEMOGRAPHICS])


def downgrade():
    _recreate(["programme_id", *DEMOGRAPHICS])

"""Monthly summaries of the referral facts, and each referral fact's next referral

Revision ID: 0012_referral_summaries
Revises: 0011_member_once
Create Date: 2026-11-29 14:30:00

The dashboard reads whole months of a period from three small summary tables (referrals by month,
region, programme, status and sex; the decision-time histogram; first referrals by the month of the
previous one) instead of scanning a million fact rows; the facts gain the client's next referral,
which the count of clients referred needs when a period starts inside a month. The facts and the
summaries are rebuilt from the records here (the facts also for databases that 0010 left empty).
"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0012_referral_summaries"
down_revision = "0011_member_once"
branch_labels = None
depends_on = None

OLD_INCLUDE = [
    "programme_id",
    "status",
    "successful",
    "decision_seconds",
    "prev_at",
    "prev_programme_at",
    "multi_region",
]
DEMOGRAPHICS = ["sex", "work_status", "disability", "date_of_birth"]
INCLUDE = [*OLD_INCLUDE, "next_at", "next_programme_at", *DEMOGRAPHICS]
OPEN = sa.text("status IN ('pending', 'delivered', 'accepted')")


def _key(*extra):
    return [
        sa.Column("month", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("region_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("programme_id", sa.Integer(), autoincrement=False, nullable=False),
        *extra,
    ]


def _facts_indexes(include, decision_include):
    with op.batch_alter_table("report_referral_facts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_report_referral_facts_region_created",
            ["region_id", "created_at"],
            unique=False,
            postgresql_include=include,
        )
        batch_op.create_index(
            "ix_report_referral_facts_created",
            ["created_at"],
            unique=False,
            postgresql_include=["region_id", *include],
        )
        batch_op.create_index(
            "ix_report_referral_facts_decision",
            ["decision_seconds"],
            unique=False,
            postgresql_include=decision_include,
            postgresql_where=sa.text("decision_seconds IS NOT NULL"),
        )


def _drop_facts_indexes():
    with op.batch_alter_table("report_referral_facts", schema=None) as batch_op:
        batch_op.drop_index("ix_report_referral_facts_decision")
        batch_op.drop_index("ix_report_referral_facts_created")
        batch_op.drop_index("ix_report_referral_facts_region_created")


def upgrade():
    # The covering indexes gain columns; dropped first so the rebuild below does not keep them up.
    _drop_facts_indexes()
    with op.batch_alter_table("report_referral_facts", schema=None) as batch_op:
        # A deleted referral's fact must outlive the delete until the listener counts it out of the
        # summaries; a cascade would remove it first.
        batch_op.drop_constraint("fk_report_referral_facts_referral_id_referrals", type_="foreignkey")
        batch_op.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("next_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("next_programme_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "report_referral_months",
        *_key(
            sa.Column("status", sa.String(length=12), nullable=False),
            sa.Column("sex", sa.String(length=10), nullable=False),
        ),
        sa.Column("referrals", sa.Integer(), nullable=False),
        sa.Column("successful", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "month", "region_id", "programme_id", "status", "sex", name=op.f("pk_report_referral_months")
        ),
    )
    op.create_table(
        "report_referral_month_decisions",
        *_key(
            sa.Column("sex", sa.String(length=10), nullable=False),
            sa.Column("day", sa.Integer(), autoincrement=False, nullable=False),
        ),
        sa.Column("referrals", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "month", "region_id", "programme_id", "sex", "day", name=op.f("pk_report_referral_month_decisions")
        ),
    )
    op.create_table(
        "report_referral_month_firsts",
        sa.Column("same_programme", sa.Boolean(), nullable=False),
        sa.Column("month", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("prev_month", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("region_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("programme_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sex", sa.String(length=10), nullable=False),
        sa.Column("referrals", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "same_programme",
            "month",
            "prev_month",
            "region_id",
            "programme_id",
            "sex",
            name=op.f("pk_report_referral_month_firsts"),
        ),
    )
    from srs.reports.facts import rebuild_referrals

    rebuild_referrals(op.get_bind())
    _facts_indexes(INCLUDE, ["region_id", "created_at", "programme_id", *DEMOGRAPHICS])
    with op.batch_alter_table("report_referral_facts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_report_referral_facts_open_due",
            ["region_id", "due_at"],
            unique=False,
            postgresql_include=["programme_id", *DEMOGRAPHICS],
            postgresql_where=OPEN,
            sqlite_where=OPEN,
        )


def downgrade():
    with op.batch_alter_table("report_referral_facts", schema=None) as batch_op:
        batch_op.drop_index("ix_report_referral_facts_open_due")
    op.drop_table("report_referral_month_firsts")
    op.drop_table("report_referral_month_decisions")
    op.drop_table("report_referral_months")
    _drop_facts_indexes()
    op.execute("DELETE FROM report_referral_facts WHERE referral_id NOT IN (SELECT id FROM referrals)")
    with op.batch_alter_table("report_referral_facts", schema=None) as batch_op:
        batch_op.drop_column("next_programme_at")
        batch_op.drop_column("next_at")
        batch_op.drop_column("due_at")
        batch_op.create_foreign_key(
            "fk_report_referral_facts_referral_id_referrals",
            "referrals",
            ["referral_id"],
            ["id"],
            ondelete="CASCADE",
        )
    _facts_indexes(OLD_INCLUDE, ["region_id", "created_at", "programme_id"])

"""Report referral facts: one row per referral for the dashboard's referral figures

Revision ID: 0010_referral_facts
Revises: 0009_registry2

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0010_referral_facts"
down_revision = "0009_registry2"
branch_labels = None
depends_on = None

# Columns the dashboard reads from the range scans, so PostgreSQL answers from the index alone.
INCLUDE = [
    "programme_id",
    "status",
    "successful",
    "decision_seconds",
    "prev_at",
    "prev_programme_at",
    "multi_region",
]


def upgrade():
    op.create_table(
        "report_referral_facts",
        sa.Column("referral_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("successful", sa.Boolean(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_seconds", sa.Double(), nullable=True),
        sa.Column("prev_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("prev_programme_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("multi_region", sa.Boolean(), nullable=False),
        sa.Column("sex", sa.String(length=10), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("work_status", sa.String(length=20), nullable=True),
        sa.Column("disability", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_report_referral_facts_referral_id_referrals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("referral_id", name=op.f("pk_report_referral_facts")),
    )
    # The backfill is 0012's: it fills the facts with the columns the code of today selects (this
    # revision's table lacks two of them), before that revision builds its indexes.
    with op.batch_alter_table("report_referral_facts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_referral_facts_client_id"), ["client_id"], unique=False)
        batch_op.create_index(
            "ix_report_referral_facts_region_created",
            ["region_id", "created_at"],
            unique=False,
            postgresql_include=INCLUDE,
        )
        batch_op.create_index(
            "ix_report_referral_facts_created",
            ["created_at"],
            unique=False,
            postgresql_include=["region_id", *INCLUDE],
        )
        batch_op.create_index(
            "ix_report_referral_facts_decision",
            ["decision_seconds"],
            unique=False,
            postgresql_include=["region_id", "created_at", "programme_id"],
            postgresql_where=sa.text("decision_seconds IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_report_referral_facts_multi_region",
            ["created_at"],
            unique=False,
            postgresql_include=["region_id", "programme_id", "client_id"],
            postgresql_where=sa.text("multi_region"),
            sqlite_where=sa.text("multi_region"),
        )


def downgrade():
    with op.batch_alter_table("report_referral_facts", schema=None) as batch_op:
        batch_op.drop_index("ix_report_referral_facts_multi_region")
        batch_op.drop_index("ix_report_referral_facts_decision")
        batch_op.drop_index("ix_report_referral_facts_created")
        batch_op.drop_index("ix_report_referral_facts_region_created")
        batch_op.drop_index(batch_op.f("ix_report_referral_facts_client_id"))
    op.drop_table("report_referral_facts")

"""Report facts: one row per screening (and per screening result) for the dashboard's client figures

Revision ID: 0008_report_facts
Revises: 0007_cases

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0008_report_facts"
down_revision = "0007_cases"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "report_screening_facts",
        sa.Column("screening_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("programme_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("screened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column("prev_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("prev_eligible_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("gaps", sa.Integer(), nullable=False),
        sa.Column("sex", sa.String(length=10), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("work_status", sa.String(length=20), nullable=True),
        sa.Column("disability", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["screening_id"],
            ["screenings.id"],
            name=op.f("fk_report_screening_facts_screening_id_screenings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("screening_id", "programme_id", name=op.f("pk_report_screening_facts")),
    )
    with op.batch_alter_table("report_screening_facts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_screening_facts_client_id"), ["client_id"], unique=False)
        batch_op.create_index(
            "ix_report_screening_facts_scan",
            ["programme_id", "region_id", "screened_at"],
            unique=False,
            postgresql_include=["prev_at", "prev_eligible_at", "eligible", "gaps"],
        )
    # Registrations are counted over clients not merged away: a partial index answers from the index alone.
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_index("ix_clients_region_created")
        batch_op.create_index(
            "ix_clients_active_region_created",
            ["region_id", "created_at"],
            unique=False,
            postgresql_where=sa.text("merged_into_id IS NULL"),
            sqlite_where=sa.text("merged_into_id IS NULL"),
        )
    # Backfill from the records already there (the same SELECT the services keep it with).
    from srs.reports.facts import rebuild_all

    rebuild_all(op.get_bind())


def downgrade():
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_index("ix_clients_active_region_created")
        batch_op.create_index("ix_clients_region_created", ["region_id", "created_at"], unique=False)
    with op.batch_alter_table("report_screening_facts", schema=None) as batch_op:
        batch_op.drop_index("ix_report_screening_facts_scan")
        batch_op.drop_index(batch_op.f("ix_report_screening_facts_client_id"))
    op.drop_table("report_screening_facts")

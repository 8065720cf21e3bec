"""Contribution and support rates as data: rate_versions, and the estimate kept on a screening result

Revision ID: 0027_rates
Revises: 0027_offline_devices
Create Date: 2026-12-01 13:30:00

Each version of a programme's rate table (BPJS Ketenagakerjaan BPU, JKN classes, Viet Nam voluntary
social insurance, household health insurance) with the date it takes effect and the regulation it
comes from; each screening result keeps the estimate it was given.
"""

import sqlalchemy as sa
from alembic import op

revision = "0027_rates"
down_revision = "0027_offline_devices"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "rate_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("scheme", sa.String(length=30), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programmes.id"],
            name=op.f("fk_rate_versions_programme_id_programmes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_rate_versions_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["published_by_id"], ["users.id"], name=op.f("fk_rate_versions_published_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_versions")),
        sa.UniqueConstraint("programme_id", "number", name="uq_rate_versions_programme_number"),
    )
    op.create_index("ix_rate_versions_programme_id", "rate_versions", ["programme_id"])
    with op.batch_alter_table("screening_results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("estimate", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("screening_results", schema=None) as batch_op:
        batch_op.drop_column("estimate")
    op.drop_index("ix_rate_versions_programme_id", table_name="rate_versions")
    op.drop_table("rate_versions")

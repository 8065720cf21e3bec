"""Report facts keep the client's birth year, never the exact birth date

Revision ID: 0031_rights_birth_year
Revises: 0030_letter_agency_contact
Create Date: 2026-12-01 16:00:00

Every age in the reports is now the age reached during the calendar year (the year of the day a
figure is taken on minus the birth year; srs/reports/ages.py), so the facts need the year only.
An erasure keeps the year (srs/privacy/erasure.py): with the year in the facts, it moves no figure.

In each facts table (screening, referral, coverage) ``birth_year`` replaces ``date_of_birth``,
filled from the rows already there. The referral facts' covering indexes carried the birth date
(PostgreSQL's INCLUDE lists): they are dropped first and built again with the year. The downgrade
puts the exact date back from the clients' records.
"""

import sqlalchemy as sa
from alembic import op

revision = "0031_rights_birth_year"
down_revision = "0030_letter_agency_contact"
branch_labels = None
depends_on = None

TABLES = ("report_screening_facts", "report_referral_facts", "report_coverage_facts")
OPEN = sa.text("status IN ('pending', 'delivered', 'accepted')")
RANGE_INCLUDE = [
    "programme_id",
    "status",
    "successful",
    "decision_seconds",
    "prev_at",
    "prev_programme_at",
    "next_at",
    "next_programme_at",
    "multi_region",
]


def _demographics(birth):
    return ["sex", "work_status", "disability", birth]


def _drop_indexes():
    with op.batch_alter_table("report_referral_facts", schema=None) as batch_op:
        batch_op.drop_index("ix_report_referral_facts_open_due")
        batch_op.drop_index("ix_report_referral_facts_decision")
        batch_op.drop_index("ix_report_referral_facts_created")
        batch_op.drop_index("ix_report_referral_facts_region_created")


def _create_indexes(birth):
    demographics = _demographics(birth)
    with op.batch_alter_table("report_referral_facts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_report_referral_facts_region_created",
            ["region_id", "created_at"],
            unique=False,
            postgresql_include=[*RANGE_INCLUDE, *demographics],
        )
        batch_op.create_index(
            "ix_report_referral_facts_created",
            ["created_at"],
            unique=False,
            postgresql_include=["region_id", *RANGE_INCLUDE, *demographics],
        )
        batch_op.create_index(
            "ix_report_referral_facts_decision",
            ["decision_seconds"],
            unique=False,
            postgresql_include=["region_id", "created_at", "programme_id", *demographics],
            postgresql_where=sa.text("decision_seconds IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_report_referral_facts_open_due",
            ["region_id", "due_at"],
            unique=False,
            postgresql_include=["programme_id", "status", *demographics],
            postgresql_where=OPEN,
            sqlite_where=OPEN,
        )


def upgrade():
    _drop_indexes()
    for name in TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(sa.Column("birth_year", sa.Integer(), nullable=True))
        table = sa.table(name, sa.column("date_of_birth", sa.Date), sa.column("birth_year", sa.Integer))
        op.execute(
            table.update().values(birth_year=sa.cast(sa.extract("year", table.c.date_of_birth), sa.Integer))
        )
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.alter_column("birth_year", existing_type=sa.Integer(), nullable=False)
            batch_op.drop_column("date_of_birth")
    _create_indexes("birth_year")


def downgrade():
    _drop_indexes()
    clients = sa.table("clients", sa.column("id", sa.Integer), sa.column("date_of_birth", sa.Date))
    for name in TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(sa.Column("date_of_birth", sa.Date(), nullable=True))
        table = sa.table(name, sa.column("client_id", sa.Integer), sa.column("date_of_birth", sa.Date))
        exact = (
            sa.select(clients.c.date_of_birth).where(clients.c.id == table.c.client_id).scalar_subquery()
        )
        op.execute(table.update().values(date_of_birth=exact))
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.alter_column("date_of_birth", existing_type=sa.Date(), nullable=False)
            batch_op.drop_column("birth_year")
    _create_indexes("date_of_birth")

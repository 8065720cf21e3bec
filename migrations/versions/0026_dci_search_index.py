"""DCI predicate searches answered from an index: poverty score, sex, birth date, region of shareable clients

Revision ID: 0026_dci_search_index
Revises: 0024_dci_client
Create Date: 2026-12-01 13:10:00

A partial index over the clients a partner may ever see (not merged away, with consent), carrying
the attributes DCI predicates name most and the id, so PostgreSQL counts and pages a predicate
search with an index-only scan instead of reading every client of a district.
"""

import sqlalchemy as sa
from alembic import op

revision = "0026_dci_search_index"
down_revision = "0024_dci_client"
branch_labels = None
depends_on = None

_SHAREABLE = sa.text("merged_into_id IS NULL AND consent_given IS TRUE")


def upgrade():
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.create_index(
            "ix_clients_dci_attributes",
            ["welfare_decile", "sex", "date_of_birth", "region_id"],
            unique=False,
            postgresql_include=["id"],
            postgresql_where=_SHAREABLE,
            sqlite_where=_SHAREABLE,
        )


def downgrade():
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_index("ix_clients_dci_attributes")

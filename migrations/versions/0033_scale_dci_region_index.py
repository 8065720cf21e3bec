"""DCI predicate searches by location at 10,000,000 clients: a region-first index, and both DCI indexes
cover restriction and erasure

Revision ID: 0033_scale_dci_region_index
Revises: 0032_rights_notice_read
Create Date: 2026-12-01 16:45:00

At 10,000,000 clients a predicate naming a location (poverty score <= 3, age >= 60, women, regency
35.16) took 6.2 s: ``ix_clients_dci_attributes`` leads with the decile, so PostgreSQL scanned the
whole decile range once per region of the regency (7 times), and because the partner filter also
reads ``restricted_at`` and ``anonymised_at`` (added after that index) every match was fetched from
the table. ``ix_clients_dci_region`` leads with the region (one narrow range per region), and both
indexes now cover exactly the rows a partner may see, so the filter is implied and the scan is
index-only again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0033_scale_dci_region_index"
down_revision = "0032_rights_notice_read"
branch_labels = None
depends_on = None

_OLD = sa.text("merged_into_id IS NULL AND consent_given IS TRUE")
_SHAREABLE = sa.text(
    "merged_into_id IS NULL AND consent_given IS TRUE AND restricted_at IS NULL AND anonymised_at IS NULL"
)


def _attributes(where):
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_index("ix_clients_dci_attributes")
        batch_op.create_index(
            "ix_clients_dci_attributes",
            ["welfare_decile", "sex", "date_of_birth", "region_id"],
            unique=False,
            postgresql_include=["id"],
            postgresql_where=where,
            sqlite_where=where,
        )


def upgrade():
    _attributes(_SHAREABLE)
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.create_index(
            "ix_clients_dci_region",
            ["region_id", "sex", "welfare_decile", "date_of_birth"],
            unique=False,
            postgresql_include=["id"],
            postgresql_where=_SHAREABLE,
            sqlite_where=_SHAREABLE,
        )


def downgrade():
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_index("ix_clients_dci_region")
    _attributes(_OLD)

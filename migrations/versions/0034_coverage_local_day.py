"""Coverage facts: a registration row starts on the registration's local day, as the app keeps it

Revision ID: 0034_coverage_local_day
Revises: 0033_scale_dci_region_index
Create Date: 2026-12-01 20:10:00

Migration 0025 built the registration rows (programme 0) with the UTC day of ``clients.created_at``,
while the app (srs.reports.coverage_facts.registration_day) uses the configured zone's day on
PostgreSQL. A person registered between 00:00 and 07:00 in Jakarta therefore counted from the day
before until their facts were next rebuilt. 0025 is corrected for new databases; this recomputes the
rows on databases that already ran it. SQLite keeps UTC days (it stores no zone), as the app does.
"""

import sqlalchemy as sa
from alembic import op
from flask import current_app

revision = "0034_coverage_local_day"
down_revision = "0033_scale_dci_region_index"
branch_labels = None
depends_on = None


def upgrade():
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    # The dashboard's time zone, as the app is configured (flask db upgrade runs in its context).
    zone = current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Jakarta"
    conn.execute(
        sa.text(
            "UPDATE report_coverage_facts AS f SET start_on = CAST(timezone(:zone, c.created_at) AS DATE) "
            "FROM clients AS c WHERE c.id = f.client_id AND f.programme_id = 0 AND f.function = '' "
            "AND f.start_on <> CAST(timezone(:zone, c.created_at) AS DATE)"
        ),
        {"zone": zone},
    )


def downgrade():
    pass  # the UTC days were the fault; nothing to restore

"""The estimate the person was shown, kept on the referral sent to the agency

Revision ID: 0028_letter_referral_estimate
Revises: 0027_rates
Create Date: 2026-12-01 15:45:00

A referral keeps a copy of the screening's estimate (with the rate version it came from) when it is
made; the agency's webhook, e-mail and inbox, the referral page and the letter show that copy.
Referrals made before this keep none: the letter falls back to their screening's estimate.
"""

import sqlalchemy as sa
from alembic import op

revision = "0028_letter_referral_estimate"
down_revision = "0027_rates"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("referrals") as batch:
        batch.add_column(sa.Column("estimate", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("referrals") as batch:
        batch.drop_column("estimate")

"""How the public reaches an agency: address, phone, e-mail and opening hours

Revision ID: 0030_letter_agency_contact
Revises: 0029_letter_ethnic_minority
Create Date: 2026-12-01 16:10:00

Kept apart from the e-mail and phone referrals are sent to (contact_email, contact_phone); the
referral letter and the programme list show them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0030_letter_agency_contact"
down_revision = "0029_letter_ethnic_minority"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("agencies") as batch:
        batch.add_column(sa.Column("address", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("public_phone", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("public_email", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("opening_hours", sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table("agencies") as batch:
        for name in ("opening_hours", "public_email", "public_phone", "address"):
            batch.drop_column(name)

"""Notices in the agency inbox: when a correction or erasure notice was first opened

Revision ID: 0032_rights_notice_read
Revises: 0031_rights_birth_year
Create Date: 2026-12-01 16:30:00

``outbox_messages.read_at``: a ``client.corrected`` or ``client.erasure_requested`` notice delivered
through the SRS inbox is listed on the agency's "Notices" page, unread until a member of its staff
opens it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0032_rights_notice_read"
down_revision = "0031_rights_birth_year"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("read_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_column("read_at")

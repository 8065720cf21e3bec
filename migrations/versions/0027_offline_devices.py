"""Offline devices: the key each signed-in device encrypts its offline registrations with

Revision ID: 0027_offline_devices
Revises: 0022_erasure
Create Date: 2026-12-01 13:00:00

One row per (user, device). The device fetches its key only while its session is valid; signing
out on the device, or deactivating the user, revokes the row, and a revoked key is never handed
out again (srs/offline/services.py).
"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0027_offline_devices"
down_revision = "0022_erasure"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "offline_devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_key_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_offline_devices_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offline_devices")),
        sa.UniqueConstraint("user_id", "device_id", name=op.f("uq_offline_devices_user_id_device_id")),
    )


def downgrade():
    op.drop_table("offline_devices")

"""SRS as a DCI client: national registries, registry checks of clients, civil-registry events

Revision ID: 0024_dci_client
Revises: 0013_audit_chain
Create Date: 2026-12-01 12:40:00

A national registry (Social Registry or civil registry) SRS asks through DCI; each "check the
national registry" of a client with what the registry held and what was taken over; each birth or
death the civil registry notified about a registered person, as a task for the area's officers.
"""

import sqlalchemy as sa
from alembic import op

revision = "0024_dci_client"
down_revision = "0013_audit_chain"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "dci_registries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=False),
        sa.Column("receiver_id", sa.String(length=120), nullable=False),
        sa.Column("auth_token", sa.String(length=500), nullable=True),
        sa.Column("public_key", sa.Text(), nullable=True),
        sa.Column("timeout_seconds", sa.Double(), nullable=False),
        sa.Column("answers_async", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("inbound_token", sa.String(length=64), nullable=False),
        sa.Column("subscription_code", sa.String(length=120), nullable=True),
        sa.Column("subscription_status", sa.String(length=20), nullable=True),
        sa.Column("subscribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dci_registries")),
        sa.UniqueConstraint("inbound_token", name=op.f("uq_dci_registries_inbound_token")),
    )
    op.create_table(
        "dci_registry_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("registry_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("transaction_id", sa.String(length=99), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("found", sa.JSON(), nullable=True),
        sa.Column("taken", sa.JSON(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_dci_registry_checks_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["registry_id"],
            ["dci_registries.id"],
            name=op.f("fk_dci_registry_checks_registry_id_dci_registries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_dci_registry_checks_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dci_registry_checks")),
        sa.UniqueConstraint("transaction_id", name=op.f("uq_dci_registry_checks_transaction_id")),
    )
    op.create_index("ix_dci_registry_checks_client_id", "dci_registry_checks", ["client_id"])
    op.create_table(
        "dci_civil_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("registry_id", sa.Integer(), nullable=False),
        sa.Column("event_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_dci_civil_events_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["done_by_id"],
            ["users.id"],
            name=op.f("fk_dci_civil_events_done_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["registry_id"],
            ["dci_registries.id"],
            name=op.f("fk_dci_civil_events_registry_id_dci_registries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dci_civil_events")),
        sa.UniqueConstraint("registry_id", "event_key", name="uq_dci_civil_events_key"),
    )
    op.create_index("ix_dci_civil_events_client_id", "dci_civil_events", ["client_id"])


def downgrade():
    op.drop_table("dci_civil_events")
    op.drop_table("dci_registry_checks")
    op.drop_table("dci_registries")

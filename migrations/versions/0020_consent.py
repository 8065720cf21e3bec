"""Consent as records: consent_records, and referrals.cancel_reason

Revision ID: 0020_consent
Revises: 0026_dci_search_index
Create Date: 2026-12-01 12:00:00

Each client whose ``consent_given`` flag is set gets one consent record saying what the flag said
(its date, scope and recorder; purposes screening and referral; every agency; source ``migration``),
recorded at the client's registration time. The client's ``consent_*`` columns stay, as the copy of
the current record that SQL filters read. ``referrals.cancel_reason`` says why a referral was
cancelled (``consent_withdrawn`` when the person withdrew consent).
"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0020_consent"
down_revision = "0026_dci_search_index"
branch_labels = None
depends_on = None

# Frozen here: what the flag meant when records came.
MIGRATED_PURPOSES = '["screening", "referral"]'


def upgrade():
    op.create_table(
        "consent_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("given_on", sa.Date(), nullable=True),
        sa.Column("scope", sa.String(length=300), nullable=True),
        sa.Column("purposes", sa.JSON(), nullable=False),
        sa.Column("all_agencies", sa.Boolean(), nullable=False),
        sa.Column("agencies", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("evidence_filename", sa.String(length=200), nullable=True),
        sa.Column("evidence_type", sa.String(length=40), nullable=True),
        sa.Column("evidence_size", sa.Integer(), nullable=True),
        sa.Column("evidence", sa.LargeBinary(), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by_id", sa.Integer(), nullable=True),
        sa.Column("withdrawal_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["withdrawn_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_consent_records_client_recorded", "consent_records", ["client_id", "recorded_at"], unique=False
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancel_reason", sa.String(length=500), nullable=True))

    # The flags become records, in one statement on either database.
    json_value = "CAST(:purposes AS JSON)" if op.get_bind().dialect.name == "postgresql" else ":purposes"
    empty = "CAST('[]' AS JSON)" if op.get_bind().dialect.name == "postgresql" else "'[]'"
    op.get_bind().execute(
        sa.text(
            "INSERT INTO consent_records (client_id, recorded_by_id, recorded_at, given_on, scope, purposes, "
            f"all_agencies, agencies, source) SELECT id, consent_recorded_by_id, created_at, consent_date, "
            f"consent_scope, {json_value}, :all_agencies, {empty}, 'migration' FROM clients "
            "WHERE consent_given = :given ORDER BY id"
        ),
        {"purposes": MIGRATED_PURPOSES, "all_agencies": True, "given": True},
    )


def downgrade():
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_column("cancel_reason")
    op.drop_index("ix_consent_records_client_recorded", table_name="consent_records")
    op.drop_table("consent_records")

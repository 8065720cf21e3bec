"""Privacy: the legal periods for data-subject requests (seeded), the request ledger, outbox notices

Revision ID: 0021_privacy
Revises: 0020_consent
Create Date: 2026-12-01 12:00:00

The periods are data: Indonesia's UU 27/2022 (3 x 24 hours for access, correction, withdrawal and
restriction) and Viet Nam's Law 91/2025/QH15 with Decree 356/2025/ND-CP (an answer within 2 working
days; withdrawal, restriction and objection carried out within 15 days, 20 where processors act, one
extension of at most 15). The rows are a frozen copy of srs/privacy/legal.py's seed (migrations never
import srs); admins amend the table, not the code.
"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0021_privacy"
down_revision = "0020_consent"
branch_labels = None
depends_on = None

ID_LAW = "UU 27/2022"
VN_LAW = "Law 91/2025/QH15; Decree 356/2025/ND-CP"
ID_OWN = (
    "The law gives the right but no period; SRS answers within the access period (art. 32) as its standard."
)
VN_ANSWER = "Answer within 2 working days of receiving the request."
VN_COMPLETE = "Carry out within 15 days, 20 where processors must also act; one extension of at most 15 days."
KINDS = ("access", "portability", "correction", "erasure", "objection", "restriction", "withdrawal")
ROWS = [
    ("ID", "access", "answer", 72, "hours", None, None, ID_LAW, "art. 7, art. 32", True, None),
    ("ID", "correction", "answer", 72, "hours", None, None, ID_LAW, "art. 6, art. 30", True, None),
    ("ID", "withdrawal", "answer", 72, "hours", None, None, ID_LAW, "art. 9, art. 40", True, None),
    ("ID", "restriction", "answer", 72, "hours", None, None, ID_LAW, "art. 11, art. 41", True, None),
    ("ID", "portability", "answer", 72, "hours", None, None, ID_LAW, "art. 13", False, ID_OWN),
    ("ID", "erasure", "answer", 72, "hours", None, None, ID_LAW, "art. 8, art. 43", False, ID_OWN),
    ("ID", "objection", "answer", 72, "hours", None, None, ID_LAW, "art. 10", False, ID_OWN),
    *[
        (
            "VN",
            k,
            "answer",
            2,
            "working_days",
            None,
            None,
            VN_LAW,
            "Decree 356/2025 (answer)",
            True,
            VN_ANSWER,
        )
        for k in KINDS
    ],
    *[
        ("VN", k, "complete", 15, "days", 20, 15, VN_LAW, "Decree 356/2025 (completion)", True, VN_COMPLETE)
        for k in ("withdrawal", "restriction", "objection")
    ],
]
COLUMNS = (
    "country",
    "kind",
    "stage",
    "amount",
    "unit",
    "amount_with_processors",
    "extension_max",
    "law",
    "article",
    "statutory",
    "note",
)


def upgrade():
    periods = op.create_table(
        "privacy_legal_periods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("stage", sa.String(length=10), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=12), nullable=False),
        sa.Column("amount_with_processors", sa.Integer(), nullable=True),
        sa.Column("extension_max", sa.Integer(), nullable=True),
        sa.Column("law", sa.String(length=120), nullable=False),
        sa.Column("article", sa.String(length=120), nullable=False),
        sa.Column("statutory", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_legal_periods")),
        sa.UniqueConstraint("country", "kind", "stage", name="uq_privacy_legal_periods"),
    )
    with op.batch_alter_table("privacy_legal_periods", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_privacy_legal_periods_country"), ["country"], unique=False)
    op.bulk_insert(periods, [dict(zip(COLUMNS, row)) for row in ROWS])

    op.create_table(
        "data_subject_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=12), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("complete_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rule", sa.String(length=300), nullable=False),
        sa.Column("legal_period_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("extended_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("extension_reason", sa.Text(), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("outcome_note", sa.Text(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("served_by_kind", sa.String(length=20), nullable=True),
        sa.Column("served_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_data_subject_requests_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["regions.id"], name=op.f("fk_data_subject_requests_region_id_regions")
        ),
        sa.ForeignKeyConstraint(
            ["legal_period_id"],
            ["privacy_legal_periods.id"],
            name=op.f("fk_data_subject_requests_legal_period_id_privacy_legal_periods"),
        ),
        sa.ForeignKeyConstraint(
            ["closed_by_id"], ["users.id"], name=op.f("fk_data_subject_requests_closed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_data_subject_requests_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_subject_requests")),
    )
    with op.batch_alter_table("data_subject_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_subject_requests_client_id"), ["client_id"], unique=False)
        batch_op.create_index("ix_dsr_region_status_due", ["region_id", "status", "due_at"], unique=False)


    # Notices about a client to the agencies that received it (client.corrected, ...), in the outbox.
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("event", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("payload", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_column("payload")
        batch_op.drop_column("event")
    op.drop_table("data_subject_requests")
    op.drop_table("privacy_legal_periods")

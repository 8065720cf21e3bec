"""Privacy: erasure by anonymisation, legal holds, restriction, human review of screenings, breaches

Revision ID: 0022_erasure
Revises: 0021_privacy
Create Date: 2026-12-01 12:30:00

``clients.anonymised_at`` and ``clients.restricted_at`` mark erased and restricted records (the
erasure notice to agencies rides on 0021's ``outbox_messages.event``).
"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0022_erasure"
down_revision = "0021_privacy"
branch_labels = None
depends_on = None


def _at(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.add_column("clients", _at("anonymised_at"))
    op.add_column("clients", _at("restricted_at"))
    op.create_table(
        "privacy_legal_holds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("client_id", sa.Integer(), sa.ForeignKey("clients.id"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        _at("set_at", nullable=False),
        _at("lifted_at"),
        sa.Column("lifted_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
    )
    op.create_index("ix_privacy_legal_holds_client_id", "privacy_legal_holds", ["client_id"])
    op.create_table(
        "privacy_erasures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("client_id", sa.Integer(), sa.ForeignKey("clients.id"), nullable=False, unique=True),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("data_subject_requests.id"), nullable=True),
        _at("at", nullable=False),
        sa.Column("by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
    )
    op.create_table(
        "privacy_reviews",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("result_id", sa.Integer(), sa.ForeignKey("screening_results.id"), nullable=False),
        sa.Column("client_id", sa.Integer(), sa.ForeignKey("clients.id"), nullable=False),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("data_subject_requests.id"), nullable=True),
        sa.Column("reviewer_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        _at("requested_at", nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("decision", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        _at("decided_at"),
    )
    for column in ("result_id", "client_id", "reviewer_id"):
        op.create_index(f"ix_privacy_reviews_{column}", "privacy_reviews", [column])
    op.create_table(
        "privacy_breaches",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("description", sa.Text(), nullable=False),
        _at("discovered_at", nullable=False),
        _at("window_start", nullable=False),
        _at("window_end", nullable=False),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("export_action", sa.String(length=60), nullable=True),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        _at("created_at", nullable=False),
        _at("authority_notified_at"),
        _at("people_notified_at"),
    )


def downgrade() -> None:
    op.drop_table("privacy_breaches")
    op.drop_table("privacy_reviews")
    op.drop_table("privacy_erasures")
    op.drop_table("privacy_legal_holds")
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("restricted_at")
        batch.drop_column("anonymised_at")

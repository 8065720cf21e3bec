"""Draft revisions, and import files that can be deleted after their retention period

Revision ID: 0014_outbound
Revises: 0019_outbox_job_id
Create Date: 2026-12-02 10:00:00

A rule draft counts its saves (``revision``) so publishing can name the revision the admin reviewed.
An import batch keeps its results when its file is deleted: ``content`` becomes nullable and
``file_deleted_at`` says when the file went.
"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0014_outbound"
down_revision = "0019_outbox_job_id"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("rule_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), server_default="1", nullable=False))
    with op.batch_alter_table("client_imports", schema=None) as batch_op:
        batch_op.alter_column("content", existing_type=sa.LargeBinary(), nullable=True)
        batch_op.add_column(sa.Column("file_deleted_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("client_imports", schema=None) as batch_op:
        batch_op.drop_column("file_deleted_at")
    op.execute(
        sa.text("UPDATE client_imports SET content = :empty WHERE content IS NULL").bindparams(empty=b"")
    )
    with op.batch_alter_table("client_imports", schema=None) as batch_op:
        batch_op.alter_column("content", existing_type=sa.LargeBinary(), nullable=False)
    with op.batch_alter_table("rule_versions", schema=None) as batch_op:
        batch_op.drop_column("revision")

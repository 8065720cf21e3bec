"""The outbox remembers the queue job that carries each row: outbox_messages.job_id

Revision ID: 0019_outbox_job_id
Revises: 0018_dci
Create Date: 2026-12-03 09:00:00

When Redis restarts empty (or loses a job), the reconciler finds the rows whose job is gone by this
id and puts them back at once, instead of waiting for the stuck cutoff meant for slow rows.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0019_outbox_job_id"
down_revision = "0018_dci"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("job_id", sa.String(length=36), nullable=True))


def downgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_column("job_id")

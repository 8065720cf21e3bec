"""programmes: rescreen runs, eligibility notices

Revision ID: 0005_programmes
Revises: 0004_registry
Create Date: 2026-11-29

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_programmes'
down_revision = '0004_registry'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rescreen_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_version_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('newly_eligible', sa.Integer(), nullable=False),
    sa.Column('started_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['rule_version_id'], ['rule_versions.id'], name=op.f('fk_rescreen_runs_rule_version_id_rule_versions')),
    sa.ForeignKeyConstraint(['started_by_id'], ['users.id'], name=op.f('fk_rescreen_runs_started_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rescreen_runs'))
    )
    with op.batch_alter_table('rescreen_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rescreen_runs_rule_version_id'), ['rule_version_id'], unique=False)

    op.create_table('eligibility_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('rule_version_id', sa.Integer(), nullable=False),
    sa.Column('screening_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('dismissed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_eligibility_notices_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['programme_id'], ['programmes.id'], name=op.f('fk_eligibility_notices_programme_id_programmes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rule_version_id'], ['rule_versions.id'], name=op.f('fk_eligibility_notices_rule_version_id_rule_versions')),
    sa.ForeignKeyConstraint(['screening_id'], ['screenings.id'], name=op.f('fk_eligibility_notices_screening_id_screenings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eligibility_notices')),
    sa.UniqueConstraint('client_id', 'programme_id', 'rule_version_id', name='uq_eligibility_notices_once')
    )
    with op.batch_alter_table('eligibility_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_eligibility_notices_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_eligibility_notices_created_at'), ['created_at'], unique=False)



def downgrade():
    with op.batch_alter_table('eligibility_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_eligibility_notices_created_at'))
        batch_op.drop_index(batch_op.f('ix_eligibility_notices_client_id'))

    op.drop_table('eligibility_notices')
    with op.batch_alter_table('rescreen_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rescreen_runs_rule_version_id'))

    op.drop_table('rescreen_runs')

"""client registry: duplicate pairs for review, bulk imports, trigram name index

Revision ID: 0004_registry
Revises: 0003_holidays
Create Date: 2026-11-29 09:00:16.157590

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_registry'
down_revision = '0003_holidays'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('client_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('total_rows', sa.Integer(), nullable=False),
    sa.Column('processed_rows', sa.Integer(), nullable=False),
    sa.Column('imported', sa.Integer(), nullable=False),
    sa.Column('already_registered', sa.Integer(), nullable=False),
    sa.Column('errors', sa.JSON(), nullable=False),
    sa.Column('failure', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_client_imports_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client_imports'))
    )
    with op.batch_alter_table('client_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_client_imports_uploaded_by_id'), ['uploaded_by_id'], unique=False)

    op.create_table('client_duplicates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('other_client_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=30), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_client_duplicates_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['other_client_id'], ['clients.id'], name=op.f('fk_client_duplicates_other_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_client_duplicates_resolved_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client_duplicates')),
    sa.UniqueConstraint('client_id', 'other_client_id', name='uq_client_duplicates_pair')
    )
    with op.batch_alter_table('client_duplicates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_client_duplicates_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_client_duplicates_other_client_id'), ['other_client_id'], unique=False)
        batch_op.create_index('ix_client_duplicates_status', ['status'], unique=False)

    # Typo-tolerant name search: a trigram GIN index on PostgreSQL (pg_trgm ships with PostgreSQL's
    # contrib package); on SQLite the same name is a plain index.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_clients_name_key_trgm ON clients USING gin (name_key gin_trgm_ops)")
    else:
        with op.batch_alter_table('clients', schema=None) as batch_op:
            batch_op.create_index('ix_clients_name_key_trgm', ['name_key'], unique=False)


def downgrade():
    op.drop_index('ix_clients_name_key_trgm', table_name='clients')

    with op.batch_alter_table('client_duplicates', schema=None) as batch_op:
        batch_op.drop_index('ix_client_duplicates_status')
        batch_op.drop_index(batch_op.f('ix_client_duplicates_other_client_id'))
        batch_op.drop_index(batch_op.f('ix_client_duplicates_client_id'))

    op.drop_table('client_duplicates')
    with op.batch_alter_table('client_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_client_imports_uploaded_by_id'))

    op.drop_table('client_imports')

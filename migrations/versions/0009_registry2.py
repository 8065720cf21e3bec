"""Name search reads a narrow client_names table kept in step by a trigger

Revision ID: 0009_registry2
Revises: 0008_report_facts
Create Date: 2026-11-29 10:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_registry2'
down_revision = '0008_report_facts'
branch_labels = None
depends_on = None

# The same SQL as srs.registry.models.CLIENT_NAMES_FUNCTION / CLIENT_NAMES_TRIGGER (a migration
# does not import application code that may change after it).
FUNCTION = """
CREATE OR REPLACE FUNCTION srs_sync_client_names() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.merged_into_id IS NOT NULL THEN
    DELETE FROM client_names WHERE client_id = NEW.id;
  ELSE
    INSERT INTO client_names (client_id, region_id, name_key)
    VALUES (NEW.id, NEW.region_id, NEW.name_key)
    ON CONFLICT (client_id) DO UPDATE SET region_id = EXCLUDED.region_id, name_key = EXCLUDED.name_key;
  END IF;
  RETURN NULL;
END
$$
"""
TRIGGER = """
CREATE TRIGGER trg_clients_sync_names
AFTER INSERT OR UPDATE OF name_key, region_id, merged_into_id ON clients
FOR EACH ROW EXECUTE FUNCTION srs_sync_client_names()
"""


def upgrade():
    op.create_table('client_names',
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('name_key', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_client_names_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_client_names_region_id_regions')),
    sa.PrimaryKeyConstraint('client_id', name=op.f('pk_client_names'))
    )
    with op.batch_alter_table('client_names', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_client_names_region_id'), ['region_id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "INSERT INTO client_names (client_id, region_id, name_key) "
            "SELECT id, region_id, name_key FROM clients WHERE merged_into_id IS NULL"
        )
        op.execute("CREATE INDEX ix_client_names_name_key_trgm ON client_names USING gin (name_key gin_trgm_ops)")
        op.execute(FUNCTION)
        op.execute(TRIGGER)
    else:
        # SQLite searches clients directly; the table stays empty there.
        with op.batch_alter_table('client_names', schema=None) as batch_op:
            batch_op.create_index('ix_client_names_name_key_trgm', ['name_key'], unique=False)
    # The trigram index moved to client_names; on clients it only slowed inserts down.
    op.drop_index('ix_clients_name_key_trgm', table_name='clients')


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS trg_clients_sync_names ON clients")
        op.execute("DROP FUNCTION IF EXISTS srs_sync_client_names()")
        op.execute("CREATE INDEX ix_clients_name_key_trgm ON clients USING gin (name_key gin_trgm_ops)")
    else:
        with op.batch_alter_table('clients', schema=None) as batch_op:
            batch_op.create_index('ix_clients_name_key_trgm', ['name_key'], unique=False)
    op.drop_index('ix_client_names_name_key_trgm', table_name='client_names')
    with op.batch_alter_table('client_names', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_client_names_region_id'))
    op.drop_table('client_names')

"""A client is a member of at most one household, once: household_members.client_id becomes unique

Revision ID: 0011_member_once
Revises: 0010_referral_facts
Create Date: 2026-12-02 09:00:00

Merging two records of one person used to leave the kept client listed twice in one household, or
in two households. The first is repaired here without losing anything (the same person in the same
household: the head's row stays, else the earliest). The second needs a person to decide which
household the client belongs to, so the upgrade stops and names the clients concerned.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0011_member_once"
down_revision = "0010_referral_facts"
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    # The same client twice in one household: keep the head's row, else the earliest.
    bind.execute(
        sa.text(
            "DELETE FROM household_members WHERE client_id IS NOT NULL AND id NOT IN ("
            " SELECT keeper FROM ("
            "  SELECT COALESCE(MIN(CASE WHEN relationship_to_head = 'head' THEN id END), MIN(id)) AS keeper"
            "  FROM household_members WHERE client_id IS NOT NULL GROUP BY household_id, client_id"
            " ) AS keepers)"
        )
    )
    twice = (
        bind.execute(
            sa.text(
                "SELECT client_id FROM household_members WHERE client_id IS NOT NULL"
                " GROUP BY client_id HAVING COUNT(*) > 1 ORDER BY client_id"
            )
        )
        .scalars()
        .all()
    )
    if twice:
        raise RuntimeError(
            "These clients are members of more than one household: "
            + ", ".join(str(i) for i in twice)
            + ". Remove each from the household they do not belong to (Household on the profile of"
            " that household's head; a head hands over first), then run the upgrade again."
        )
    with op.batch_alter_table("household_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_household_members_client_id"))
        batch_op.create_index(batch_op.f("ix_household_members_client_id"), ["client_id"], unique=True)


def downgrade():
    with op.batch_alter_table("household_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_household_members_client_id"))
        batch_op.create_index(batch_op.f("ix_household_members_client_id"), ["client_id"], unique=False)

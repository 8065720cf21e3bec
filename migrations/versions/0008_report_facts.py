"""Report facts: one row per screening (and per screening result) for the dashboard's client figures

Revision ID: 0008_report_facts
Revises: 0007_cases

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0008_report_facts"
down_revision = "0007_cases"
branch_labels = None
depends_on = None

ANY_PROGRAMME = 0

# The tables as they stand at this revision (ad-hoc constructs: a migration never imports the app).
CLIENTS = sa.table(
    "clients",
    sa.column("id", sa.Integer),
    sa.column("region_id", sa.Integer),
    sa.column("sex", sa.String),
    sa.column("date_of_birth", sa.Date),
    sa.column("work_status", sa.String),
    sa.column("disability", sa.Boolean),
    sa.column("merged_into_id", sa.Integer),
)
SCREENINGS = sa.table(
    "screenings",
    sa.column("id", sa.Integer),
    sa.column("client_id", sa.Integer),
    sa.column("screened_at", sa.DateTime(timezone=True)),
)
RESULTS = sa.table(
    "screening_results",
    sa.column("screening_id", sa.Integer),
    sa.column("programme_id", sa.Integer),
    sa.column("outcome", sa.String),
)
REFERRALS = sa.table(
    "referrals",
    sa.column("client_id", sa.Integer),
    sa.column("programme_id", sa.Integer),
)
FACTS = sa.table(
    "report_screening_facts",
    *(
        sa.column(name)
        for name in (
            "screening_id",
            "programme_id",
            "client_id",
            "region_id",
            "screened_at",
            "eligible",
            "prev_at",
            "prev_eligible_at",
            "gaps",
            "sex",
            "date_of_birth",
            "work_status",
            "disability",
        )
    ),
)


def _facts_select():
    """Every screening fact row of every client not merged away, as one SELECT."""
    S, R, C, F = SCREENINGS.c, RESULTS.c, CLIENTS.c, REFERRALS.c
    eligible_result = sa.exists().where(R.screening_id == S.id, R.outcome == "eligible")
    # Programmes this screening found the client eligible for and never referred to.
    unreferred = (
        sa.select(sa.func.count())
        .select_from(RESULTS)
        .where(
            R.screening_id == S.id,
            R.outcome == "eligible",
            ~sa.exists()
            .where(F.client_id == S.client_id, F.programme_id == R.programme_id)
            .correlate_except(REFERRALS),
        )
        .scalar_subquery()
    )
    base = (
        sa.select(
            S.id.label("screening_id"),
            S.client_id,
            S.screened_at,
            eligible_result.label("eligible"),
            unreferred.label("unreferred"),
            # Ids grow with time: the highest is the latest screening.
            sa.func.row_number().over(partition_by=S.client_id, order_by=S.id.desc()).label("rank"),
            C.region_id,
            C.sex,
            C.date_of_birth,
            C.work_status,
            C.disability,
        )
        .select_from(SCREENINGS.join(CLIENTS, C.id == S.client_id))
        .where(C.merged_into_id.is_(None))
        .subquery("base")
    )
    order = (base.c.screened_at, base.c.screening_id)
    demographics = (base.c.sex, base.c.date_of_birth, base.c.work_status, base.c.disability)
    any_programme = sa.select(
        base.c.screening_id,
        sa.literal(ANY_PROGRAMME).label("programme_id"),
        base.c.client_id,
        base.c.region_id,
        base.c.screened_at,
        base.c.eligible,
        sa.func.lag(base.c.screened_at).over(partition_by=base.c.client_id, order_by=order),
        sa.func.max(sa.case((base.c.eligible, base.c.screened_at))).over(
            partition_by=base.c.client_id, order_by=order, rows=(None, -1)
        ),
        # The gap is about the latest screening only.
        sa.case((base.c.rank == 1, base.c.unreferred), else_=0).label("gaps"),
        *demographics,
    )
    result_eligible = R.outcome == "eligible"
    window = {"partition_by": (base.c.client_id, R.programme_id), "order_by": order}
    referred = sa.exists().where(F.client_id == base.c.client_id, F.programme_id == R.programme_id)
    per_programme = sa.select(
        base.c.screening_id,
        R.programme_id,
        base.c.client_id,
        base.c.region_id,
        base.c.screened_at,
        result_eligible,
        sa.func.lag(base.c.screened_at).over(**window),
        sa.func.max(sa.case((result_eligible, base.c.screened_at))).over(**window, rows=(None, -1)),
        sa.case((sa.and_(base.c.rank == 1, result_eligible, ~referred), 1), else_=0),
        *demographics,
    ).select_from(base.join(RESULTS, R.screening_id == base.c.screening_id))
    return any_programme.union_all(per_programme)


def upgrade():
    op.create_table(
        "report_screening_facts",
        sa.Column("screening_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("programme_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("screened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column("prev_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("prev_eligible_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("gaps", sa.Integer(), nullable=False),
        sa.Column("sex", sa.String(length=10), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("work_status", sa.String(length=20), nullable=True),
        sa.Column("disability", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["screening_id"],
            ["screenings.id"],
            name=op.f("fk_report_screening_facts_screening_id_screenings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("screening_id", "programme_id", name=op.f("pk_report_screening_facts")),
    )
    with op.batch_alter_table("report_screening_facts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_screening_facts_client_id"), ["client_id"], unique=False)
        batch_op.create_index(
            "ix_report_screening_facts_scan",
            ["programme_id", "region_id", "screened_at"],
            unique=False,
            postgresql_include=["prev_at", "prev_eligible_at", "eligible", "gaps"],
        )
    # Registrations are counted over clients not merged away: a partial index answers from the index alone.
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_index("ix_clients_region_created")
        batch_op.create_index(
            "ix_clients_active_region_created",
            ["region_id", "created_at"],
            unique=False,
            postgresql_where=sa.text("merged_into_id IS NULL"),
            sqlite_where=sa.text("merged_into_id IS NULL"),
        )
    # Backfill from the records already there: the SELECT srs/reports/facts.py kept the facts with
    # when this revision was written, copied here so that later changes to the app never change
    # what this step does.
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.execute(sa.text("LOCK TABLE report_screening_facts IN EXCLUSIVE MODE"))
    bind.execute(sa.delete(FACTS))
    bind.execute(sa.insert(FACTS).from_select([c.name for c in FACTS.columns], _facts_select()))


def downgrade():
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_index("ix_clients_active_region_created")
        batch_op.create_index("ix_clients_region_created", ["region_id", "created_at"], unique=False)
    with op.batch_alter_table("report_screening_facts", schema=None) as batch_op:
        batch_op.drop_index("ix_report_screening_facts_scan")
        batch_op.drop_index(batch_op.f("ix_report_screening_facts_client_id"))
    op.drop_table("report_screening_facts")

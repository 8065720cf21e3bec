"""Monthly summaries of the referral facts, and each referral fact's next referral

Revision ID: 0012_referral_summaries
Revises: 0011_member_once
Create Date: 2026-11-29 14:30:00

The dashboard reads whole months of a period from three small summary tables (referrals by month,
region, programme, status and sex; the decision-time histogram; first referrals by the month of the
previous one) instead of scanning a million fact rows; the facts gain the client's next referral,
which the count of clients referred needs when a period starts inside a month. The facts and the
summaries are rebuilt from the records here (the facts also for databases that 0010 left empty).
"""

import sqlalchemy as sa
from alembic import op
from flask import current_app


# revision identifiers, used by Alembic.
revision = "0012_referral_summaries"
down_revision = "0011_member_once"
branch_labels = None
depends_on = None

OLD_INCLUDE = [
    "programme_id",
    "status",
    "successful",
    "decision_seconds",
    "prev_at",
    "prev_programme_at",
    "multi_region",
]
DEMOGRAPHICS = ["sex", "work_status", "disability", "date_of_birth"]
INCLUDE = [*OLD_INCLUDE, "next_at", "next_programme_at", *DEMOGRAPHICS]
OPEN = sa.text("status IN ('pending', 'delivered', 'accepted')")
DAY = 86400.0

# The tables as they stand at this revision (ad-hoc constructs: a migration never imports the app).
# The SELECTs below are the ones srs/reports/facts.py kept the facts and summaries with when this
# revision was written, copied here so that later changes to the app never change what it does.
CLIENTS = sa.table(
    "clients",
    sa.column("id", sa.Integer),
    sa.column("sex", sa.String),
    sa.column("date_of_birth", sa.Date),
    sa.column("work_status", sa.String),
    sa.column("disability", sa.Boolean),
)
REFERRALS = sa.table(
    "referrals",
    *(sa.column(name, sa.Integer) for name in ("id", "client_id", "region_id", "programme_id")),
    sa.column("status", sa.String),
    sa.column("outcome", sa.String),
    *(sa.column(name, sa.DateTime(timezone=True)) for name in ("created_at", "decided_at", "due_at")),
)
FACT_COLUMNS = [
    "referral_id",
    "client_id",
    "region_id",
    "programme_id",
    "status",
    "created_at",
    "successful",
    "decided_at",
    "decision_seconds",
    "due_at",
    "prev_at",
    "prev_programme_at",
    "next_at",
    "next_programme_at",
    "multi_region",
    "sex",
    "date_of_birth",
    "work_status",
    "disability",
]
FACTS = sa.table(
    "report_referral_facts",
    *(sa.column(name) for name in FACT_COLUMNS if name not in ("successful", "multi_region")),
    sa.column("successful", sa.Boolean),
    sa.column("multi_region", sa.Boolean),
    sa.column("decision_seconds", sa.Float),
)
MONTHS = sa.table(
    "report_referral_months",
    *(
        sa.column(n)
        for n in ("month", "region_id", "programme_id", "status", "sex", "referrals", "successful")
    ),
)
DECISIONS = sa.table(
    "report_referral_month_decisions",
    *(sa.column(n) for n in ("month", "region_id", "programme_id", "sex", "day", "referrals")),
)
FIRSTS = sa.table(
    "report_referral_month_firsts",
    *(
        sa.column(n)
        for n in ("same_programme", "month", "prev_month", "region_id", "programme_id", "sex", "referrals")
    ),
)


def _facts_select(dialect):
    """Every referral fact row, as one SELECT."""
    R, C = REFERRALS.c, CLIENTS.c
    order = (R.created_at, R.id)
    by_client = {"partition_by": R.client_id, "order_by": order}
    by_programme = {"partition_by": (R.client_id, R.programme_id), "order_by": order}
    if dialect == "postgresql":
        decision_seconds = sa.cast(sa.func.extract("epoch", R.decided_at - R.created_at), sa.Double)
    else:
        decision_seconds = (sa.func.julianday(R.decided_at) - sa.func.julianday(R.created_at)) * 86400.0
    return sa.select(
        R.id,
        R.client_id,
        R.region_id,
        R.programme_id,
        R.status,
        R.created_at,
        # Never NULL (an undecided outcome would make the AND unknown).
        sa.case((sa.and_(R.status == "completed", R.outcome == "successful"), True), else_=False),
        R.decided_at,
        decision_seconds,
        R.due_at,
        sa.func.lag(R.created_at).over(**by_client),
        sa.func.lag(R.created_at).over(**by_programme),
        sa.func.lead(R.created_at).over(**by_client),
        sa.func.lead(R.created_at).over(**by_programme),
        sa.func.min(R.region_id).over(partition_by=R.client_id)
        != sa.func.max(R.region_id).over(partition_by=R.client_id),
        C.sex,
        C.date_of_birth,
        C.work_status,
        C.disability,
    ).select_from(REFERRALS.join(CLIENTS, C.id == R.client_id))


def _month(column, dialect, timezone):
    """The calendar month of a timestamp as yyyymm: in the configured time zone on PostgreSQL, in
    UTC on SQLite (no time zones there)."""
    if dialect == "postgresql":
        return sa.cast(sa.func.to_char(sa.func.timezone(timezone, column), "YYYYMM"), sa.Integer)
    return sa.cast(sa.func.strftime("%Y%m", column), sa.Integer)


def _summary_selects(dialect, timezone):
    """(table, columns, SELECT) for each monthly summary, counted from the referral facts."""
    F = FACTS.c
    month = _month(F.created_at, dialect, timezone)
    if dialect == "postgresql":
        day = sa.cast(sa.func.floor(F.decision_seconds / DAY), sa.Integer)
    else:
        day = sa.cast(sa.func.julianday(F.decided_at) - sa.func.julianday(F.created_at), sa.Integer)
    common = {"month": month, "region_id": F.region_id, "programme_id": F.programme_id}
    specs = [
        (MONTHS, {**common, "status": F.status, "sex": F.sex}, [], ["referrals", "successful"]),
        (DECISIONS, {**common, "sex": F.sex, "day": day}, [F.decided_at.is_not(None)], ["referrals"]),
    ]
    for same_programme, prev in ((False, F.prev_at), (True, F.prev_programme_at)):
        keys = {
            "same_programme": sa.literal(same_programme),
            "month": month,
            "prev_month": sa.func.coalesce(_month(prev, dialect, timezone), 0),
            "region_id": F.region_id,
            "programme_id": F.programme_id,
            "sex": F.sex,
        }
        specs.append((FIRSTS, keys, [~F.multi_region], ["referrals"]))
    out = []
    for table, keys, conditions, counted in specs:
        grouped = [expr for name, expr in keys.items() if name != "same_programme"]
        values = {"referrals": sa.func.count(), "successful": sa.func.count().filter(F.successful)}
        stmt = (
            sa.select(*keys.values(), *(values[name] for name in counted))
            .select_from(FACTS)
            .where(*conditions)
        )
        out.append((table, [*keys, *counted], stmt.group_by(*grouped).order_by(*grouped)))
    return out


def _rebuild_facts_and_summaries(bind):
    """Every referral fact from the records, then the monthly summaries from the facts."""
    dialect = bind.dialect.name
    if dialect == "postgresql":
        bind.execute(sa.text("LOCK TABLE report_referral_facts IN EXCLUSIVE MODE"))
    bind.execute(sa.delete(FACTS))
    bind.execute(sa.insert(FACTS).from_select(FACT_COLUMNS, _facts_select(dialect)))
    # The dashboard's time zone, as the app is configured (flask db upgrade runs in its context).
    timezone = current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Jakarta"
    for table in (MONTHS, DECISIONS, FIRSTS):
        bind.execute(sa.delete(table))
    for table, columns, stmt in _summary_selects(dialect, timezone):
        bind.execute(sa.insert(table).from_select(columns, stmt))


def _key(*extra):
    return [
        sa.Column("month", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("region_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("programme_id", sa.Integer(), autoincrement=False, nullable=False),
        *extra,
    ]


def _facts_indexes(include, decision_include):
    with op.batch_alter_table("report_referral_facts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_report_referral_facts_region_created",
            ["region_id", "created_at"],
            unique=False,
            postgresql_include=include,
        )
        batch_op.create_index(
            "ix_report_referral_facts_created",
            ["created_at"],
            unique=False,
            postgresql_include=["region_id", *include],
        )
        batch_op.create_index(
            "ix_report_referral_facts_decision",
            ["decision_seconds"],
            unique=False,
            postgresql_include=decision_include,
            postgresql_where=sa.text("decision_seconds IS NOT NULL"),
        )


def _drop_facts_indexes():
    with op.batch_alter_table("report_referral_facts", schema=None) as batch_op:
        batch_op.drop_index("ix_report_referral_facts_decision")
        batch_op.drop_index("ix_report_referral_facts_created")
        batch_op.drop_index("ix_report_referral_facts_region_created")


def upgrade():
    # The covering indexes gain columns; dropped first so the rebuild below does not keep them up.
    _drop_facts_indexes()
    with op.batch_alter_table("report_referral_facts", schema=None) as batch_op:
        # A deleted referral's fact must outlive the delete until the listener counts it out of the
        # summaries; a cascade would remove it first.
        batch_op.drop_constraint("fk_report_referral_facts_referral_id_referrals", type_="foreignkey")
        batch_op.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("next_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("next_programme_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "report_referral_months",
        *_key(
            sa.Column("status", sa.String(length=12), nullable=False),
            sa.Column("sex", sa.String(length=10), nullable=False),
        ),
        sa.Column("referrals", sa.Integer(), nullable=False),
        sa.Column("successful", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "month", "region_id", "programme_id", "status", "sex", name=op.f("pk_report_referral_months")
        ),
    )
    op.create_table(
        "report_referral_month_decisions",
        *_key(
            sa.Column("sex", sa.String(length=10), nullable=False),
            sa.Column("day", sa.Integer(), autoincrement=False, nullable=False),
        ),
        sa.Column("referrals", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "month", "region_id", "programme_id", "sex", "day", name=op.f("pk_report_referral_month_decisions")
        ),
    )
    op.create_table(
        "report_referral_month_firsts",
        sa.Column("same_programme", sa.Boolean(), nullable=False),
        sa.Column("month", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("prev_month", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("region_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("programme_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sex", sa.String(length=10), nullable=False),
        sa.Column("referrals", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "same_programme",
            "month",
            "prev_month",
            "region_id",
            "programme_id",
            "sex",
            name=op.f("pk_report_referral_month_firsts"),
        ),
    )
    _rebuild_facts_and_summaries(op.get_bind())
    _facts_indexes(INCLUDE, ["region_id", "created_at", "programme_id", *DEMOGRAPHICS])
    with op.batch_alter_table("report_referral_facts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_report_referral_facts_open_due",
            ["region_id", "due_at"],
            unique=False,
            postgresql_include=["programme_id", *DEMOGRAPHICS],
            postgresql_where=OPEN,
            sqlite_where=OPEN,
        )


def downgrade():
    with op.batch_alter_table("report_referral_facts", schema=None) as batch_op:
        batch_op.drop_index("ix_report_referral_facts_open_due")
    op.drop_table("report_referral_month_firsts")
    op.drop_table("report_referral_month_decisions")
    op.drop_table("report_referral_months")
    _drop_facts_indexes()
    op.execute("DELETE FROM report_referral_facts WHERE referral_id NOT IN (SELECT id FROM referrals)")
    with op.batch_alter_table("report_referral_facts", schema=None) as batch_op:
        batch_op.drop_column("next_programme_at")
        batch_op.drop_column("next_at")
        batch_op.drop_column("due_at")
        batch_op.create_foreign_key(
            "fk_report_referral_facts_referral_id_referrals",
            "referrals",
            ["referral_id"],
            ["id"],
            ondelete="CASCADE",
        )
    _facts_indexes(OLD_INCLUDE, ["region_id", "created_at", "programme_id"])

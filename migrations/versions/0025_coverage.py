"""Coverage: programmes' ILO functions, enrolments, coverage facts, population denominators

Revision ID: 0025_coverage
Revises: 0022_erasure
Create Date: 2026-12-01 13:10:00

Each programme gets the ILO social protection functions it covers and whether it is contributory
(guessed from its kind here; the demo programmes by their codes). The clients' ``enrolments`` lists
of programme codes become enrolment rows (from the day the client was registered), and referrals
completed with outcome successful become enrolments from the day they closed; the lists stay, kept in
step by the app. Then the coverage facts are built from those rows.
"""

import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op
from flask import current_app

revision = "0025_coverage"
down_revision = "0022_erasure"
branch_labels = None
depends_on = None

# Frozen here (the app's table is srs.programmes.seed): what the demo programmes cover.
_DEMO = {
    "ID-BPJSTK-BPU": (["employment_injury", "survivors", "old_age"], True),
    "ID-JKN-PBI": (["sickness_health", "maternity"], False),
    "ID-PKH": (["children_family", "social_assistance"], False),
    "ID-BPNT": (["social_assistance"], False),
    "ID-PRAKERJA": (["employment_service", "unemployment"], False),
    "VN-BHXH-TN": (["old_age", "survivors"], True),
    "VN-BHYT-HGD": (["sickness_health", "maternity"], True),
    "VN-TCXH": (["social_assistance", "disability", "old_age"], False),
    "VN-ESC-HN": (["employment_service"], False),
}
_BY_KIND = {
    "social_insurance": (["old_age"], True),
    "health_insurance": (["sickness_health"], True),
    "social_assistance": (["social_assistance"], False),
    "employment_service": (["employment_service"], False),
    "training": (["employment_service"], False),
}
_BATCH = 1000


def _as_date(value):
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _registration_day(created_at, dialect):
    """The app's registration day (srs.reports.coverage_facts.registration_day): the local calendar
    day on PostgreSQL, the UTC day on SQLite (which stores UTC without its zone)."""
    if dialect != "postgresql" or not isinstance(created_at, datetime):
        return _as_date(created_at)
    # The dashboard's time zone, as the app is configured (flask db upgrade runs in its context).
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Jakarta")
    aware = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
    return aware.astimezone(zone).date()


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, str):
        return json.loads(value or "[]")
    return list(value)


def upgrade():
    with op.batch_alter_table("programmes") as batch:
        batch.add_column(sa.Column("functions", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch.add_column(sa.Column("contributory", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "enrolments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("start_on", sa.Date(), nullable=False),
        sa.Column("end_on", sa.Date(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_enrolments_client_id_clients"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programmes.id"],
            name=op.f("fk_enrolments_programme_id_programmes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_enrolments_referral_id_referrals"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"], name=op.f("fk_enrolments_recorded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolments")),
    )
    op.create_index("ix_enrolments_client_programme", "enrolments", ["client_id", "programme_id"])
    op.create_index(op.f("ix_enrolments_programme_id"), "enrolments", ["programme_id"])
    op.create_table(
        "report_coverage_facts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("function", sa.String(length=20), nullable=False),
        sa.Column("contributory", sa.Boolean(), nullable=False),
        sa.Column("start_on", sa.Date(), nullable=False),
        sa.Column("end_on", sa.Date(), nullable=True),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("sex", sa.String(length=10), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("work_status", sa.String(length=20), nullable=True),
        sa.Column("disability", sa.Boolean(), nullable=True),
        sa.Column("poverty_status", sa.String(length=12), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_coverage_facts")),
    )
    op.create_index(
        "ix_report_coverage_facts_scan", "report_coverage_facts", ["function", "region_id", "start_on"]
    )
    op.create_index("ix_report_coverage_facts_client", "report_coverage_facts", ["client_id", "function"])
    op.create_table(
        "population_figures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("sex", sa.String(length=10), nullable=False),
        sa.Column("age_group", sa.String(length=10), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("population", sa.BigInteger(), nullable=False),
        sa.Column("poor", sa.BigInteger(), nullable=True),
        sa.Column("births", sa.BigInteger(), nullable=True),
        sa.Column("disabled", sa.BigInteger(), nullable=True),
        sa.Column("imported_by_id", sa.Integer(), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_id"], ["regions.id"], name=op.f("fk_population_figures_region_id_regions"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["imported_by_id"], ["users.id"], name=op.f("fk_population_figures_imported_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_population_figures")),
        sa.UniqueConstraint("region_id", "sex", "age_group", "year", name="uq_population_figures_group"),
    )
    op.create_index(op.f("ix_population_figures_region_id"), "population_figures", ["region_id"])
    _fill()


def _fill():
    conn = op.get_bind()
    programmes = sa.table(
        "programmes",
        sa.column("id"),
        sa.column("code"),
        sa.column("kind"),
        sa.column("functions", sa.JSON()),
        sa.column("contributory"),
    )
    functions = {}
    codes = {}
    for pid, code, kind in conn.execute(sa.select(programmes.c.id, programmes.c.code, programmes.c.kind)):
        tags, contributory = _DEMO.get(code) or _BY_KIND.get(kind, (["social_assistance"], False))
        conn.execute(
            programmes.update()
            .where(programmes.c.id == pid)
            .values(functions=tags, contributory=contributory)
        )
        functions[pid] = (tags, contributory)
        codes[code] = pid
    enrolments = sa.table(
        "enrolments",
        sa.column("client_id"),
        sa.column("programme_id"),
        sa.column("start_on"),
        sa.column("end_on"),
        sa.column("source"),
        sa.column("referral_id"),
        sa.column("recorded_at"),
    )
    now = datetime.now().astimezone()
    rows = []
    held = set()
    clients = conn.execute(
        sa.text("SELECT id, enrolments, created_at FROM clients WHERE merged_into_id IS NULL ORDER BY id")
    )
    for cid, listed, created_at in clients:
        for code in _as_list(listed):
            pid = codes.get(code)
            if pid is None or (cid, pid) in held:
                continue  # a programme outside the catalogue stays in the list only
            held.add((cid, pid))
            rows.append(
                {
                    "client_id": cid,
                    "programme_id": pid,
                    "start_on": _as_date(created_at),
                    "end_on": None,
                    "source": "migration",
                    "referral_id": None,
                    "recorded_at": now,
                }
            )
    referrals = conn.execute(
        sa.text(
            "SELECT id, client_id, programme_id, closed_at, created_at FROM referrals "
            "WHERE status = 'completed' AND outcome = 'successful' ORDER BY id"
        )
    )
    for rid, cid, pid, closed_at, created_at in referrals:
        if (cid, pid) in held:
            continue
        held.add((cid, pid))
        rows.append(
            {
                "client_id": cid,
                "programme_id": pid,
                "start_on": _as_date(closed_at or created_at),
                "end_on": None,
                "source": "referral",
                "referral_id": rid,
                "recorded_at": now,
            }
        )
    for start in range(0, len(rows), _BATCH):
        conn.execute(enrolments.insert(), rows[start : start + _BATCH])
    _build_facts(conn, functions)


def _build_facts(conn, functions):
    facts = sa.table(
        "report_coverage_facts",
        *(
            sa.column(c)
            for c in (
                "client_id",
                "programme_id",
                "function",
                "contributory",
                "start_on",
                "end_on",
                "region_id",
                "sex",
                "date_of_birth",
                "work_status",
                "disability",
                "poverty_status",
            )
        ),
    )
    people = {}
    batch = []
    for row in conn.execute(
        sa.text(
            "SELECT id, created_at, region_id, sex, date_of_birth, work_status, disability, poverty_status "
            "FROM clients WHERE merged_into_id IS NULL"
        )
    ):
        cid, created_at, region_id, sex, dob, work, disability, poverty = row
        person = {
            "client_id": cid,
            "region_id": region_id,
            "sex": sex,
            "date_of_birth": _as_date(dob),
            "work_status": work,
            "disability": disability,
            "poverty_status": poverty or "unknown",
        }
        people[cid] = person
        start = _registration_day(created_at, conn.dialect.name)
        batch.append(
            {**person, "programme_id": 0, "function": "", "contributory": False, "start_on": start, "end_on": None}
        )
    for cid, pid, start_on, end_on in conn.execute(
        sa.text("SELECT client_id, programme_id, start_on, end_on FROM enrolments")
    ):
        person = people.get(cid)
        if person is None:
            continue
        tags, contributory = functions.get(pid, ([], False))
        for tag in tags:
            batch.append(
                {
                    **person,
                    "programme_id": pid,
                    "function": tag,
                    "contributory": contributory,
                    "start_on": _as_date(start_on),
                    "end_on": _as_date(end_on),
                }
            )
    for start in range(0, len(batch), _BATCH):
        conn.execute(facts.insert(), batch[start : start + _BATCH])


def downgrade():
    op.drop_table("population_figures")
    op.drop_table("report_coverage_facts")
    op.drop_table("enrolments")
    with op.batch_alter_table("programmes") as batch:
        batch.drop_column("contributory")
        batch.drop_column("functions")

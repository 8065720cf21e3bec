"""Keeps ``report_screening_facts`` and ``report_referral_facts``, and the monthly summaries of the
referral facts, in step with clients, screenings and referrals.

The facts of a client are always rebuilt whole from the records (delete, then insert from one
SELECT), so there is one definition of what they say. The monthly summaries (``report_referral_months``
and its two siblings) are moved by the difference: the client's old fact rows are counted out, grouped
as the summaries group them, and the new ones counted in, with upserts. The summaries therefore say
exactly what a rebuild from the facts would say (a test checks that after a run of changes).
The rebuild runs in the same transaction as the change: ORM changes are caught after every flush (one
listener for every feature, tests' factories included). The registry's merge moves records with bulk
UPDATEs, but it also marks the duplicate merged through the ORM, so both clients are rebuilt at that
flush, after the records moved. Bulk loads outside the ORM call ``rebuild_all`` and
``rebuild_referrals`` (the migrations, ``flask rebuild-report-facts`` and the benchmark do).

A write pays only for what it can change (issue 16: the listener was 59% of a registration). The
listener decides from the columns each kind of fact reads (``CLIENT_COLUMNS`` and its siblings,
checked against the SELECTs by tests/reports/test_fact_upkeep.py): a new client has no fact; an edit
of a phone or an address, a delivery attempt, a note, refresh nothing; a screening rebuilds the
screening facts only; a referral decision the referral facts and summaries only; a new referral,
a merge or a change of the client's region, sex, birth date, work or disability, both. The
statements are built once and, on PostgreSQL, a refresh's summary upserts go in one statement per
direction, so a refresh is a few round trips, not a dozen.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import (
    BindParameter,
    Connection,
    Double,
    Integer,
    and_,
    bindparam,
    case,
    cast,
    delete,
    event,
    exists,
    func,
    insert,
    inspect,
    literal,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from srs.core import clock
from srs.extensions import db
from srs.programmes.models import Screening, ScreeningResult
from srs.referrals.models import Referral
from srs.registry.models import Client
from srs.reports.ages import birth_year_of
from srs.reports.models import (
    ReferralFact,
    ReferralMonth,
    ReferralMonthDecision,
    ReferralMonthFirst,
    ScreeningFact,
)

ANY_PROGRAMME = 0
_BATCH = 500


def _facts_select(client_ids: Any) -> Any:
    """Every fact row of the given clients (all clients for None), as one SELECT."""
    eligible_result = exists().where(
        ScreeningResult.screening_id == Screening.id, ScreeningResult.outcome == "eligible"
    )
    # Programmes this screening found the client eligible for and never referred to.
    unreferred = (
        select(func.count())
        .where(
            ScreeningResult.screening_id == Screening.id,
            ScreeningResult.outcome == "eligible",
            ~exists()
            .where(
                Referral.client_id == Screening.client_id,
                Referral.programme_id == ScreeningResult.programme_id,
            )
            .correlate_except(Referral),
        )
        .scalar_subquery()
    )
    base_stmt = (
        select(
            Screening.id.label("screening_id"),
            Screening.client_id,
            Screening.screened_at,
            eligible_result.label("eligible"),
            unreferred.label("unreferred"),
            # Ids grow with time: the highest is the latest screening (as the gap list decides).
            func.row_number()
            .over(partition_by=Screening.client_id, order_by=Screening.id.desc())
            .label("rank"),
            Client.region_id,
            Client.sex,
            birth_year_of(Client.date_of_birth).label("birth_year"),
            Client.work_status,
            Client.disability,
        )
        .join(Client, Client.id == Screening.client_id)
        .where(Client.merged_into_id.is_(None))
    )
    if client_ids is not None:
        base_stmt = base_stmt.where(Screening.client_id.in_(client_ids))
    base = base_stmt.subquery("base")
    order = (base.c.screened_at, base.c.screening_id)
    demographics = (base.c.sex, base.c.birth_year, base.c.work_status, base.c.disability)

    any_programme = select(
        base.c.screening_id,
        literal(ANY_PROGRAMME).label("programme_id"),
        base.c.client_id,
        base.c.region_id,
        base.c.screened_at,
        base.c.eligible,
        func.lag(base.c.screened_at).over(partition_by=base.c.client_id, order_by=order),
        func.max(case((base.c.eligible, base.c.screened_at))).over(
            partition_by=base.c.client_id, order_by=order, rows=(None, -1)
        ),
        # The gap is about the latest screening only.
        case((base.c.rank == 1, base.c.unreferred), else_=0).label("gaps"),
        *demographics,
    )
    result_eligible = ScreeningResult.outcome == "eligible"
    per_programme_window: dict[str, Any] = {
        "partition_by": (base.c.client_id, ScreeningResult.programme_id),
        "order_by": order,
    }
    referred = exists().where(
        Referral.client_id == base.c.client_id, Referral.programme_id == ScreeningResult.programme_id
    )
    per_programme = select(
        base.c.screening_id,
        ScreeningResult.programme_id,
        base.c.client_id,
        base.c.region_id,
        base.c.screened_at,
        result_eligible,
        func.lag(base.c.screened_at).over(**per_programme_window),
        func.max(case((result_eligible, base.c.screened_at))).over(**per_programme_window, rows=(None, -1)),
        case((and_(base.c.rank == 1, result_eligible, ~referred), 1), else_=0),
        *demographics,
    ).join(ScreeningResult, ScreeningResult.screening_id == base.c.screening_id)
    return any_programme.union_all(per_programme)


_COLUMNS = [
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
    "birth_year",
    "work_status",
    "disability",
]


def decision_seconds(dialect: str) -> Any:
    """Seconds from a referral to its decision, as the dashboard's median has always measured them."""
    if dialect == "postgresql":
        # extract() gives numeric; percentile_cont read it as double precision, and so does the column.
        return cast(func.extract("epoch", Referral.decided_at - Referral.created_at), Double)
    return (func.julianday(Referral.decided_at) - func.julianday(Referral.created_at)) * 86400.0


def _referral_facts_select(client_ids: Any, dialect: str) -> Any:
    """Every referral fact row of the given clients (all clients for None), as one SELECT.

    Not limited to clients not merged away: the dashboard's referral figures never were (a merge
    moves the duplicate's referrals to the kept client anyway).
    """
    order = (Referral.created_at, Referral.id)
    by_client: dict[str, Any] = {"partition_by": Referral.client_id, "order_by": order}
    by_programme: dict[str, Any] = {
        "partition_by": (Referral.client_id, Referral.programme_id),
        "order_by": order,
    }
    stmt = select(
        Referral.id,
        Referral.client_id,
        Referral.region_id,
        Referral.programme_id,
        Referral.status,
        Referral.created_at,
        # Never NULL (an undecided outcome would make the AND unknown).
        case((and_(Referral.status == "completed", Referral.outcome == "successful"), True), else_=False),
        Referral.decided_at,
        decision_seconds(dialect),
        Referral.due_at,
        func.lag(Referral.created_at).over(**by_client),
        func.lag(Referral.created_at).over(**by_programme),
        func.lead(Referral.created_at).over(**by_client),
        func.lead(Referral.created_at).over(**by_programme),
        func.min(Referral.region_id).over(partition_by=Referral.client_id)
        != func.max(Referral.region_id).over(partition_by=Referral.client_id),
        Client.sex,
        birth_year_of(Client.date_of_birth),
        Client.work_status,
        Client.disability,
    ).join(Client, Client.id == Referral.client_id)
    if client_ids is not None:
        stmt = stmt.where(Referral.client_id.in_(client_ids))
    return stmt


_REFERRAL_COLUMNS = [
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
    "birth_year",
    "work_status",
    "disability",
]


# ---------------------------------------------------------------------------------------------
# Monthly summaries of the referral facts (see srs.reports.models.ReferralMonth)

SUMMARY_TABLES = (ReferralMonth, ReferralMonthDecision, ReferralMonthFirst)
DAY = 86400.0


def month_key(column: Any, dialect: str) -> Any:
    """The calendar month of a timestamp as yyyymm: in the dashboard's time zone on PostgreSQL, in
    UTC on SQLite (no time zones there), so each matches the monthly trend it has always drawn."""
    if dialect == "postgresql":
        return cast(func.to_char(func.timezone(clock.timezone().key, column), "YYYYMM"), Integer)
    return cast(func.strftime("%Y%m", column), Integer)


def decision_value(dialect: str) -> Any:
    """Time to the decision on the referral facts, in each dialect's unit (seconds; SQLite: days)."""
    F = ReferralFact
    if dialect == "postgresql":
        return F.decision_seconds
    return func.julianday(F.decided_at) - func.julianday(F.created_at)


def decision_day(dialect: str) -> Any:
    """The whole day of the time to a decision: the median histogram's bucket, in the summaries and
    in the dashboard's reads alike (one expression, so both put a referral in the same bucket)."""
    if dialect == "postgresql":
        return cast(func.floor(ReferralFact.decision_seconds / DAY), Integer)
    return cast(decision_value(dialect), Integer)


def _summary_selects(dialect: str) -> list[tuple[Any, dict[str, Any], list[Any], list[str]]]:
    """Per summary: (table, its key columns as expressions on the facts, the rows' conditions, the
    counted columns). The counted columns are ``count(*)`` and, for months, the successful ones."""
    F = ReferralFact
    month = month_key(F.created_at, dialect)
    common = {"month": month, "region_id": F.region_id, "programme_id": F.programme_id}
    specs: list[tuple[Any, dict[str, Any], list[Any], list[str]]] = [
        (ReferralMonth, {**common, "status": F.status, "sex": F.sex}, [], ["referrals", "successful"]),
        (
            ReferralMonthDecision,
            {**common, "sex": F.sex, "day": decision_day(dialect)},
            [F.decided_at.is_not(None)],
            ["referrals"],
        ),
    ]
    for same_programme, prev in ((False, F.prev_at), (True, F.prev_programme_at)):
        keys = {
            "same_programme": literal(same_programme),
            "month": month,
            "prev_month": func.coalesce(month_key(prev, dialect), 0),
            "region_id": F.region_id,
            "programme_id": F.programme_id,
            "sex": F.sex,
        }
        specs.append((ReferralMonthFirst, keys, [~F.multi_region], ["referrals"]))
    return specs


def _summary_rows(dialect: str, client_ids: Any, sign: int) -> list[tuple[Any, list[str], Any]]:
    """(table, columns, SELECT) giving each summary's rows for these clients' facts (all for None),
    counts multiplied by ``sign``, grouped and ordered by key (a fixed order of row locks)."""
    F = ReferralFact
    out = []
    for table, keys, conds, counted in _summary_selects(dialect):
        grouped = [expr for name, expr in keys.items() if name != "same_programme"]
        values = {"referrals": func.count() * sign, "successful": func.count().filter(F.successful) * sign}
        stmt = select(*keys.values(), *(values[name] for name in counted)).where(*conds)
        if client_ids is not None:
            stmt = stmt.where(F.client_id.in_(client_ids))
        stmt = stmt.group_by(*grouped).order_by(*grouped)
        out.append((table, [*keys, *counted], stmt))
    return out


def _summary_upserts(dialect: str, client_ids: Any, sign: int) -> list[Any]:
    """The upserts adding (sign 1) or taking away (sign -1) these clients' current facts in the
    monthly summaries, one per summary select."""
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statements = []
    for table, columns, stmt in _summary_rows(dialect, client_ids, sign):
        ins = upsert(table).from_select(columns, stmt)
        counted = [c for c in columns if c in ("referrals", "successful")]
        key = [c.name for c in table.__table__.primary_key.columns]
        statements.append(
            ins.on_conflict_do_update(
                index_elements=key, set_={c: table.__table__.c[c] + ins.excluded[c] for c in counted}
            )
        )
    return statements


def _as_one(statements: list[Any], name: str) -> Any:
    """PostgreSQL: the statements as one, the first ones as data-modifying CTEs of the last. They all
    read the snapshot the statement starts with (so none may need another's effect) and take one round
    trip instead of one each: on a busy server the round trips are most of a write's report upkeep."""
    main = statements[-1]
    for i, statement in enumerate(statements[:-1]):
        main = main.add_cte(statement.cte(f"{name}_{i}"))
    return main


def rebuild_summaries(connection: Connection | None = None) -> None:
    """Rebuild the monthly summaries from the referral facts (after ``rebuild_referrals``, or when the
    configured time zone changed: the summaries count its calendar months)."""
    conn = connection if connection is not None else db.session.connection()
    for table in SUMMARY_TABLES:
        conn.execute(delete(table))
    for table, columns, stmt in _summary_rows(conn.dialect.name, None, 1):
        conn.execute(insert(table).from_select(columns, stmt))


_FACT_TABLES = f"{ScreeningFact.__tablename__}, {ReferralFact.__tablename__}"


def _lock_for_rebuild(conn: Connection, table: str) -> None:
    """A whole rebuild waits for the transactions refreshing some clients and keeps new ones waiting
    until it commits (PostgreSQL; SQLite writes one transaction at a time anyway). Without it a
    refresh could read the facts before the rebuild and write after it: duplicate rows, or a
    client's old rows counted out of summaries that no longer hold them."""
    if conn.dialect.name == "postgresql":
        # One table per rebuild (migration 0008 rebuilds the screening facts before the referral facts
        # exist); the order, screening facts first, is the refresh's, so the two cannot deadlock.
        conn.execute(text(f"LOCK TABLE {table} IN EXCLUSIVE MODE"))


SCREENING = "screening"
REFERRAL = "referral"
BOTH = frozenset({SCREENING, REFERRAL})


def refresh_clients(
    client_ids: Iterable[int], connection: Connection | None = None, parts: Iterable[str] = BOTH
) -> None:
    """Rebuild the facts of these clients from their current records (in the current transaction),
    and move the monthly summaries by the difference.

    ``parts`` narrows the work to what a change can move: ``SCREENING`` rebuilds the screening facts
    only, ``REFERRAL`` the referral facts and their summaries only (see ``_parts_touched``)."""
    wanted = frozenset(parts)
    refresh_parts({int(i): wanted for i in client_ids if i is not None}, connection)


# The client ids of a refresh, bound at execution: the statements are built once per dialect and
# time zone (see _refresh_statements), not on every write.
_IDS: BindParameter[list[int]] = bindparam("client_ids", expanding=True)


@functools.cache
def _refresh_statements(dialect: str, _timezone: str) -> dict[str, list[Any]]:
    """A refresh's statements, in the order they run, per part (the time zone is in the summaries'
    month keys, so a change of it builds them anew)."""
    screening = [
        delete(ScreeningFact).where(ScreeningFact.client_id.in_(_IDS)),
        insert(ScreeningFact).from_select(_COLUMNS, _facts_select(_IDS)),
    ]
    forget = delete(ReferralFact).where(ReferralFact.client_id.in_(_IDS))
    rebuild = insert(ReferralFact).from_select(_REFERRAL_COLUMNS, _referral_facts_select(_IDS, dialect))
    minus, plus = _summary_upserts(dialect, _IDS, -1), _summary_upserts(dialect, _IDS, 1)
    if dialect == "postgresql":
        # Counted out of the summaries and deleted in one statement: both read the old facts.
        referral = [_as_one([*minus, forget], "minus"), rebuild, _as_one(plus, "plus")]
    else:
        referral = [*minus, forget, rebuild, *plus]
    # FOR NO KEY UPDATE, not FOR UPDATE: the write that called the refresh holds a key-share lock on
    # the client's row (its screening's or referral's foreign key), and so may another write of the
    # same client; FOR UPDATE waits for that other one while it waits for this one (a deadlock, a
    # 500 under load). FOR NO KEY UPDATE still admits one refresh of a client at a time.
    lock = select(Client.id).where(Client.id.in_(_IDS)).order_by(Client.id).with_for_update(key_share=True)
    return {"lock": [lock], SCREENING: screening, REFERRAL: referral}


def refresh_parts(parts: Mapping[int, Iterable[str]], connection: Connection | None = None) -> None:
    """Rebuild, per client, the parts of its facts named (``SCREENING``, ``REFERRAL``)."""
    wanted = {client_id: frozenset(which) for client_id, which in parts.items() if which}
    if not wanted:
        return
    conn = connection if connection is not None else db.session.connection()
    statements = _refresh_statements(conn.dialect.name, clock.timezone().key)
    ids = sorted(wanted)
    if conn.dialect.name == "postgresql":
        # Before reading any fact: waits for a whole rebuild in progress (see _lock_for_rebuild).
        # Screening facts first, as before, so two refreshes and a rebuild cannot deadlock.
        needed = set().union(*wanted.values())
        tables = [
            t.__tablename__ for t, p in ((ScreeningFact, SCREENING), (ReferralFact, REFERRAL)) if p in needed
        ]
        conn.execute(text(f"LOCK TABLE {', '.join(tables)} IN ROW EXCLUSIVE MODE"))
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start : start + _BATCH]
        if conn.dialect.name == "postgresql":
            # One refresh of a client at a time: two transactions subtracting the same old facts
            # would count them out twice. (SQLite runs one writing transaction at a time anyway.)
            # All of them at once, in id order: a fixed order of row locks.
            conn.execute(statements["lock"][0], {"client_ids": chunk})
        for part in (SCREENING, REFERRAL):
            of_part = [i for i in chunk if part in wanted[i]]
            for statement in statements[part] if of_part else ():
                conn.execute(statement, {"client_ids": of_part})


def rebuild_all(connection: Connection | None = None) -> int:
    """Rebuild every client's screening facts (after a bulk load or to repair); returns the number of
    rows. Migration 0008 runs it, before the referral facts exist: ``rebuild_referrals`` does those."""
    conn = connection if connection is not None else db.session.connection()
    _lock_for_rebuild(conn, ScreeningFact.__tablename__)
    conn.execute(delete(ScreeningFact))
    conn.execute(insert(ScreeningFact).from_select(_COLUMNS, _facts_select(None)))
    return conn.execute(select(func.count()).select_from(ScreeningFact)).scalar_one()


def rebuild_referrals(connection: Connection | None = None) -> int:
    """Rebuild every referral fact and the monthly summaries (after a bulk load or to repair);
    returns the number of fact rows."""
    conn = connection if connection is not None else db.session.connection()
    _lock_for_rebuild(conn, ReferralFact.__tablename__)
    conn.execute(delete(ReferralFact))
    conn.execute(
        insert(ReferralFact).from_select(_REFERRAL_COLUMNS, _referral_facts_select(None, conn.dialect.name))
    )
    rebuild_summaries(conn)
    return conn.execute(select(func.count()).select_from(ReferralFact)).scalar_one()


def drift(connection: Connection | None = None) -> dict[str, int]:
    """How far the facts and summaries are from the records, by row counts (empty when in step).

    Counted in one statement, so in one snapshot: a referral committed meanwhile cannot look like
    drift. Rows added or removed past the app (plain SQL loads) show; an edit past the app does not.
    """
    conn = connection if connection is not None else db.session.connection()
    active = Client.merged_into_id.is_(None)
    screenings = (
        select(func.count())
        .select_from(Screening)
        .join(Client, Client.id == Screening.client_id)
        .where(active)
    )
    results = (
        select(func.count())
        .select_from(ScreeningResult)
        .join(Screening, Screening.id == ScreeningResult.screening_id)
        .join(Client, Client.id == Screening.client_id)
        .where(active)
    )
    row = conn.execute(
        select(
            screenings.scalar_subquery() + results.scalar_subquery(),
            select(func.count()).select_from(ScreeningFact).scalar_subquery(),
            select(func.count()).select_from(Referral).scalar_subquery(),
            select(func.count()).select_from(ReferralFact).scalar_subquery(),
            select(func.coalesce(func.sum(ReferralMonth.referrals), 0)).scalar_subquery(),
        )
    ).one()
    expected_screening, screening_facts, referrals, referral_facts, summarised = (int(v) for v in row)
    found = {
        "screening_facts": screening_facts - expected_screening,
        "referral_facts": referral_facts - referrals,
        "referral_summaries": summarised - referrals,
    }
    return {name: difference for name, difference in found.items() if difference}


# Which columns each kind of fact reads, so a change of any other column (a phone, a note, a
# delivery attempt, a version) moves no figure and costs no refresh. Kept next to the SELECTs above:
# a column added to them belongs here too (tests/reports/test_fact_upkeep.py checks both lists).
# A move re-stamps the referrals' region copies in the same flush (srs.registry.region_copies, with
# plain UPDATEs the ORM does not see), so the client's region moves the referral facts too.
CLIENT_COLUMNS = frozenset({"region_id", "sex", "date_of_birth", "work_status", "disability"})
SCREENING_COLUMNS = frozenset({"client_id", "screened_at"})
RESULT_COLUMNS = frozenset({"screening_id", "programme_id", "outcome"})
# A referral's existence per client and programme is all the screening facts read (the gaps).
REFERRAL_SCREENING_COLUMNS = frozenset({"client_id", "programme_id"})
REFERRAL_COLUMNS = frozenset(
    {"client_id", "programme_id", "region_id", "status", "outcome", "created_at", "decided_at", "due_at"}
)


def _changed(obj: Any, columns: frozenset[str]) -> bool:
    """Whether this flush changes any of these columns of a loaded row."""
    attrs = inspect(obj).attrs
    return any(attrs[name].history.has_changes() for name in columns)


def _parts_touched(session: Session) -> dict[int, set[str]]:
    """Per client, the parts of its facts (``SCREENING``, ``REFERRAL``) this flush can change.

    A new client has no screening or referral yet, so no fact (its records, if added in the same
    flush, name it themselves); an edit counts only when it changes a column a fact reads."""
    parts: dict[int, set[str]] = {}

    def mark(client_id: int | None, *which: str) -> None:
        if client_id is not None:
            parts.setdefault(int(client_id), set()).update(which)

    def mark_moved(obj: Any, *which: str) -> None:
        mark(obj.client_id, *which)
        # A record moved from one client to another changes the facts of both.
        for old in inspect(obj).attrs.client_id.history.deleted:
            mark(old, *which)

    result_screenings: set[int] = set()
    for obj, gone in (*((o, False) for o in session.dirty), *((o, True) for o in session.deleted)):
        if isinstance(obj, Client):
            if gone or _changed(obj, frozenset({"merged_into_id"})):
                # A merge moved the duplicate's records to the kept client: both are rebuilt whole.
                mark(obj.id, *BOTH)
                mark(obj.merged_into_id, *BOTH)
            elif _changed(obj, CLIENT_COLUMNS):
                mark(obj.id, *BOTH)
        elif isinstance(obj, Screening):
            if gone or _changed(obj, SCREENING_COLUMNS):
                mark_moved(obj, SCREENING)
        elif isinstance(obj, Referral):
            if gone or _changed(obj, REFERRAL_SCREENING_COLUMNS):
                mark_moved(obj, *BOTH)
            elif _changed(obj, REFERRAL_COLUMNS):
                mark(obj.client_id, REFERRAL)
        elif isinstance(obj, ScreeningResult) and (gone or _changed(obj, RESULT_COLUMNS)):
            result_screenings.add(obj.screening_id)
            result_screenings.update(
                v for v in inspect(obj).attrs.screening_id.history.deleted if v is not None
            )
    for obj in session.new:
        if isinstance(obj, Screening):
            mark(obj.client_id, SCREENING)
        elif isinstance(obj, Referral):
            mark(obj.client_id, *BOTH)
        elif isinstance(obj, ScreeningResult):
            result_screenings.add(obj.screening_id)
    if result_screenings:
        for client_id in (
            session.connection()
            .execute(select(Screening.client_id).where(Screening.id.in_(result_screenings)))
            .scalars()
        ):
            mark(client_id, SCREENING)
    return parts


def _after_flush(session: Session, _context: Any) -> None:
    parts = _parts_touched(session)
    if parts:
        refresh_parts(parts, session.connection())


def install() -> None:
    """Listen to every session's flushes (idempotent)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)

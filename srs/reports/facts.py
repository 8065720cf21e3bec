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
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    Connection,
    Double,
    Integer,
    and_,
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
from sqlalchemy.orm import InstanceState, Session

from srs.core import clock
from srs.extensions import db
from srs.programmes.models import Screening, ScreeningResult
from srs.referrals.models import Referral
from srs.registry.models import Client
from srs.reports.models import (
    ReferralFact,
    ReferralMonth,
    ReferralMonthDecision,
    ReferralMonthFirst,
    ScreeningFact,
)

ANY_PROGRAMME = 0
_BATCH = 500


def _facts_select(client_ids: list[int] | None) -> Any:
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
            Client.date_of_birth,
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
    demographics = (base.c.sex, base.c.date_of_birth, base.c.work_status, base.c.disability)

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
    "date_of_birth",
    "work_status",
    "disability",
]


def decision_seconds(dialect: str) -> Any:
    """Seconds from a referral to its decision, as the dashboard's median has always measured them."""
    if dialect == "postgresql":
        # extract() gives numeric; percentile_cont read it as double precision, and so does the column.
        return cast(func.extract("epoch", Referral.decided_at - Referral.created_at), Double)
    return (func.julianday(Referral.decided_at) - func.julianday(Referral.created_at)) * 86400.0


def _referral_facts_select(client_ids: list[int] | None, dialect: str) -> Any:
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
        Client.date_of_birth,
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
    "date_of_birth",
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


def _summary_rows(dialect: str, client_ids: list[int] | None, sign: int) -> list[tuple[Any, list[str], Any]]:
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


def _add_to_summaries(conn: Connection, client_ids: list[int], sign: int) -> None:
    """Add (sign 1) or take away (sign -1) these clients' current facts in the monthly summaries."""
    upsert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    for table, columns, stmt in _summary_rows(conn.dialect.name, client_ids, sign):
        ins = upsert(table).from_select(columns, stmt)
        counted = [c for c in columns if c in ("referrals", "successful")]
        key = [c.name for c in table.__table__.primary_key.columns]
        conn.execute(
            ins.on_conflict_do_update(
                index_elements=key, set_={c: table.__table__.c[c] + ins.excluded[c] for c in counted}
            )
        )


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


def refresh_clients(client_ids: Iterable[int], connection: Connection | None = None) -> None:
    """Rebuild the facts of these clients from their current records (in the current transaction),
    and move the monthly summaries by the difference."""
    ids = sorted({int(i) for i in client_ids if i is not None})
    conn = connection if connection is not None else db.session.connection()
    if ids and conn.dialect.name == "postgresql":
        # Before reading any fact: waits for a whole rebuild in progress (see _lock_for_rebuild).
        conn.execute(text(f"LOCK TABLE {_FACT_TABLES} IN ROW EXCLUSIVE MODE"))
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start : start + _BATCH]
        if conn.dialect.name == "postgresql":
            # One refresh of a client at a time: two transactions subtracting the same old facts
            # would count them out twice. (SQLite runs one writing transaction at a time anyway.)
            conn.execute(select(Client.id).where(Client.id.in_(chunk)).order_by(Client.id).with_for_update())
        conn.execute(delete(ScreeningFact).where(ScreeningFact.client_id.in_(chunk)))
        conn.execute(insert(ScreeningFact).from_select(_COLUMNS, _facts_select(chunk)))
        _add_to_summaries(conn, chunk, -1)
        conn.execute(delete(ReferralFact).where(ReferralFact.client_id.in_(chunk)))
        conn.execute(
            insert(ReferralFact).from_select(
                _REFERRAL_COLUMNS, _referral_facts_select(chunk, conn.dialect.name)
            )
        )
        _add_to_summaries(conn, chunk, 1)


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


def _client_ids_touched(session: Session) -> set[int]:
    ids: set[int] = set()
    result_screenings: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Client):
            ids.add(obj.id)
            # Merged away: the records the merge moved now count for the kept client.
            if obj.merged_into_id is not None:
                ids.add(obj.merged_into_id)
        elif isinstance(obj, Screening | Referral):
            ids.add(obj.client_id)
            # A record moved from one client to another changes the facts of both.
            state: InstanceState[Screening | Referral] = inspect(obj)
            ids.update(v for v in state.attrs.client_id.history.deleted if v is not None)
        elif isinstance(obj, ScreeningResult):
            result_screenings.add(obj.screening_id)
    if result_screenings:
        ids.update(
            session.connection()
            .execute(select(Screening.client_id).where(Screening.id.in_(result_screenings)))
            .scalars()
        )
    return ids


def _after_flush(session: Session, _context: Any) -> None:
    ids = _client_ids_touched(session)
    if ids:
        refresh_clients(ids, session.connection())


def install() -> None:
    """Listen to every session's flushes (idempotent)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)

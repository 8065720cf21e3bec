"""Keeps ``report_coverage_facts`` in step with clients, enrolments and the programmes' functions.

Kept apart from ``facts.py`` (its own listener and rebuild), so the two can change independently.
A client's coverage rows are always rebuilt whole from the records (delete, then insert from
SELECTs, one per ILO function): a registration row, and a row per enrolment and function of its
programme. The rebuild runs in the transaction of the change, after every flush; bulk loads outside
the ORM call ``rebuild_coverage`` (the migration builds the rows itself, with its own SQL).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    cast,
    delete,
    event,
    false,
    func,
    insert,
    inspect,
    literal,
    null,
    select,
)
from sqlalchemy.orm import Session

from srs.core import clock
from srs.extensions import db
from srs.programmes.models import Enrolment, Programme
from srs.registry.models import Client
from srs.reports.ages import birth_year_of
from srs.reports.models import REGISTRATION, CoverageFact

_BATCH = 500
_DEMOGRAPHICS = ("region_id", "sex", "date_of_birth", "work_status", "disability", "poverty_status")
# The facts keep the birth year of the date (srs/reports/ages.py), under their own name.
_FACT_DEMOGRAPHICS = [("birth_year" if name == "date_of_birth" else name) for name in _DEMOGRAPHICS]
_COLUMNS = [
    "client_id",
    "programme_id",
    "function",
    "contributory",
    "start_on",
    "end_on",
    *_FACT_DEMOGRAPHICS,
]


def registration_day(column: Any, dialect: str) -> Any:
    """The calendar day of a registration: local on PostgreSQL, UTC on SQLite (no time zones)."""
    if dialect == "postgresql":
        return cast(func.timezone(clock.timezone().key, column), Date)
    return func.date(column)


def _demographics() -> list[Any]:
    return [
        birth_year_of(Client.date_of_birth) if name == "date_of_birth" else getattr(Client, name)
        for name in _DEMOGRAPHICS
    ]


def _selects(
    conn: Connection, client_ids: list[int] | None, *, registrations_only: bool = False
) -> list[Any]:
    """The SELECTs giving every coverage row of these clients (all for None); only the first, the
    registration rows', with ``registrations_only``."""
    active = [Client.merged_into_id.is_(None)]
    if client_ids is not None:
        active.append(Client.id.in_(client_ids))
    registration = select(
        Client.id,
        literal(0),
        literal(REGISTRATION),
        false(),
        registration_day(Client.created_at, conn.dialect.name),
        cast(null(), Date),
        *_demographics(),
    ).where(*active)
    out = [registration]
    if registrations_only:
        return out
    # One SELECT per function (the functions are a short JSON list per programme, read here: no
    # dialect's JSON functions in the statement).
    by_function: dict[str, list[int]] = {}
    for pid, functions in conn.execute(select(Programme.id, Programme.functions)):
        for f in functions or []:
            by_function.setdefault(f, []).append(pid)
    for function, programme_ids in sorted(by_function.items()):
        out.append(
            select(
                Enrolment.client_id,
                Enrolment.programme_id,
                literal(function),
                Programme.contributory,
                Enrolment.start_on,
                Enrolment.end_on,
                *_demographics(),
            )
            .join(Client, Client.id == Enrolment.client_id)
            .join(Programme, Programme.id == Enrolment.programme_id)
            .where(*active, Enrolment.programme_id.in_(programme_ids))
        )
    return out


def refresh_coverage(client_ids: Iterable[int], connection: Connection | None = None) -> None:
    """Rebuild the coverage rows of these clients from their current records."""
    ids = sorted({int(i) for i in client_ids if i is not None})
    conn = connection if connection is not None else db.session.connection()
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start : start + _BATCH]
        conn.execute(delete(CoverageFact).where(CoverageFact.client_id.in_(chunk)))
        for stmt in _selects(conn, chunk):
            conn.execute(insert(CoverageFact).from_select(_COLUMNS, stmt))


def rebuild_coverage(connection: Connection | None = None) -> int:
    """Rebuild every coverage row (after a bulk load or to repair); returns the number of rows."""
    conn = connection if connection is not None else db.session.connection()
    conn.execute(delete(CoverageFact))
    for stmt in _selects(conn, None):
        conn.execute(insert(CoverageFact).from_select(_COLUMNS, stmt))
    return conn.execute(select(func.count()).select_from(CoverageFact)).scalar_one()


# The client columns a coverage row reads (a change of any other column, a phone, an address, a
# version, moves no coverage figure and costs no refresh); tests/reports/test_coverage.py checks it
# against the SELECTs above.
CLIENT_COLUMNS = frozenset({*_DEMOGRAPHICS, "merged_into_id", "created_at"})


def _changed(obj: Any, columns: Iterable[str]) -> bool:
    attrs = inspect(obj).attrs
    return any(attrs[name].history.has_changes() for name in columns)


def _touched(session: Session) -> tuple[set[int], set[int]]:
    """The clients whose coverage rows this flush can change: (rebuilt whole, registered now).

    A client new in this flush has no row yet and no enrolment but those added with it: only its
    registration row is inserted (no delete, no read of the programmes), unless an enrolment of its
    came in the same flush."""
    ids: set[int] = set()
    registered: set[int] = set()
    programmes: set[int] = set()
    for obj in session.new:
        if isinstance(obj, Client):
            registered.add(obj.id)
    for obj, gone in (*((o, False) for o in session.dirty), *((o, True) for o in session.deleted)):
        if isinstance(obj, Client) and (gone or _changed(obj, CLIENT_COLUMNS)):
            ids.add(obj.id)
            if obj.merged_into_id is not None:
                ids.add(obj.merged_into_id)
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Enrolment):
            ids.add(obj.client_id)
            ids.update(v for v in inspect(obj).attrs.client_id.history.deleted if v is not None)
        elif isinstance(obj, Programme) and obj.id is not None:
            state = inspect(obj)
            if state.attrs.functions.history.has_changes() or state.attrs.contributory.history.has_changes():
                programmes.add(obj.id)
    if programmes:
        ids.update(
            session.connection()
            .execute(select(Enrolment.client_id).where(Enrolment.programme_id.in_(programmes)).distinct())
            .scalars()
        )
    ids.discard(None)  # type: ignore[arg-type]
    return ids, registered - ids


def _add_registrations(client_ids: set[int], conn: Connection) -> None:
    """The registration rows of clients that have none yet (registered in this flush)."""
    ids = sorted(client_ids)
    for start in range(0, len(ids), _BATCH):
        registration = _selects(conn, ids[start : start + _BATCH], registrations_only=True)[0]
        conn.execute(insert(CoverageFact).from_select(_COLUMNS, registration))


def _after_flush(session: Session, _context: Any) -> None:
    ids, registered = _touched(session)
    if ids:
        refresh_coverage(ids, session.connection())
    if registered:
        _add_registrations(registered, session.connection())


def install() -> None:
    """Listen to every session's flushes (idempotent)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)

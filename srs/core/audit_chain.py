"""The audit log as a hash chain: each entry carries SHA-256(previous hash + its own fields).

Changing, removing or inserting an entry anywhere but at the end breaks the chain at that entry, and
``flask verify-audit`` (``verify``) finds the first broken link.

Appending must be serialised, or two transactions would both chain onto the same head: on
PostgreSQL a transaction-scoped advisory lock, on SQLite the database's single write lock, taken
before the head is read and held until the transaction ends. To keep that lock short, entries
recorded during a request wait in the session (``defer``) and are written when it commits; they are
dropped with a rollback (of the whole transaction, or of the savepoint they were recorded in). A
query on the audit log in the same transaction writes them first, so it sees them.

The canonical form below is frozen: migration 0013 holds a copy to hash the entries that existed
before the chain. Changing it means a new migration that re-chains, never an edit here alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, event, inspect, select, text
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from srs.core import clock
from srs.core.models import AuditEntry

GENESIS = "0" * 64
# pg_advisory_xact_lock key: "SRSAUDIT" in ASCII, one number no other feature uses.
CHAIN_LOCK_KEY = 0x5352534155444954
HASHED_FIELDS = ("at", "user_id", "username", "action", "object_type", "object_id", "ip_address", "details")
_PENDING = "srs_audit_pending"


def normalise_details(details: Mapping[str, Any] | None) -> dict[str, Any]:
    """Details as they come back from the JSON column (string keys, lists for tuples, dates as text).

    The hash is computed over this form, so what is read back hashes to what was written.
    """
    normalised: dict[str, Any] = json.loads(json.dumps(dict(details or {}), default=str))
    return normalised


def _instant(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite returns UTC without its offset
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(fields: Mapping[str, Any]) -> str:
    """The entry's hashed fields as one JSON text: sorted keys, no spaces, UTC microseconds."""
    payload = {name: fields.get(name) for name in HASHED_FIELDS}
    payload["at"] = _instant(fields.get("at"))
    payload["details"] = fields.get("details") or {}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the previous entry's hash, a newline and the entry's canonical JSON."""
    return hashlib.sha256(f"{prev_hash}\n{canonical(fields)}".encode()).hexdigest()


def _fields(entry: AuditEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in HASHED_FIELDS}


def lock_chain(conn: Connection) -> None:
    """Take the chain's append lock for the rest of ``conn``'s transaction."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY})
    elif conn.dialect.name == "sqlite":
        # A write statement takes SQLite's database-wide write lock (held to the end of the
        # transaction) even when it matches no row; reading the head first would let another
        # process append in between. The statement changes nothing.
        conn.execute(text("UPDATE audit_entries SET id = id WHERE 0"))


def chain_head(conn: Connection) -> str:
    """The hash of the newest entry, or GENESIS for an empty log (call with the lock held)."""
    head = conn.execute(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).scalar()
    return head or GENESIS


def seal(entries: list[AuditEntry], conn: Connection) -> None:
    """Give ``entries`` (in the order they will be inserted) their place in the chain."""
    lock_chain(conn)
    prev = chain_head(conn)
    for entry in entries:
        if entry.at is None:  # the column default would come too late for the hash
            entry.at = clock.now()
        entry.details = normalise_details(entry.details)
        entry.prev_hash = prev
        entry.hash = entry_hash(prev, _fields(entry))
        prev = entry.hash


# --- entries waiting for the commit ----------------------------------------------------------


def defer(session: Session, entry: AuditEntry) -> None:
    """Keep ``entry`` until ``session`` commits (or drop it with the rollback that undoes its change)."""
    if not session.in_transaction():
        session.begin()  # so that a rollback, even of a transaction that wrote nothing, is seen
    session.info.setdefault(_PENDING, []).append((entry, session.get_nested_transaction()))


def _take_pending(session: Session) -> list[AuditEntry]:
    pending = session.info.pop(_PENDING, [])
    return [entry for entry, _txn in pending]


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "before_flush")
def _seal_new_entries(session: Session, _flush_context: Any, _instances: Any) -> None:
    new = [obj for obj in session.new if isinstance(obj, AuditEntry) and obj.hash is None]
    if not new:
        return
    new.sort(key=lambda obj: inspect(obj).insert_order)  # the order the flush inserts them
    with session.no_autoflush:
        seal(new, session.connection())


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint's entries wait for the outer commit
    entries = _take_pending(session)
    if entries:
        # The rest of the transaction's changes first, without the chain's lock: the commit's own
        # flush then holds it only for these INSERTs and the COMMIT (the lock serialises commits).
        if session.new or session.dirty or session.deleted:
            session.flush()
        session.add_all(entries)  # the commit's flush seals and inserts them


@event.listens_for(Session, "do_orm_execute")
def _write_pending_before_reading_the_log(state: ORMExecuteState) -> None:
    if not state.is_select or not state.session.info.get(_PENDING):
        return
    if any(mapper.class_ is AuditEntry for mapper in state.all_mappers):
        state.session.add_all(_take_pending(state.session))  # the query's autoflush writes them


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    if not session.info.get(_PENDING):
        return
    if not previous_transaction.nested:
        session.info.pop(_PENDING, None)
        return
    session.info[_PENDING] = [
        (entry, txn) for entry, txn in session.info[_PENDING] if not _within(txn, previous_transaction)
    ]


@event.listens_for(Session, "after_transaction_end")
def _forget_at_the_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None and not transaction.nested:
        session.info.pop(_PENDING, None)


def write_now(entries: Iterable[AuditEntry], bind: Any) -> None:
    """Write ``entries`` in a transaction of their own (on a connection of their own)."""
    entries = list(entries)
    if not entries:
        return
    with Session(bind) as session:
        session.add_all(entries)
        session.commit()


# --- verification ----------------------------------------------------------------------------


@dataclass
class ChainReport:
    entries: int
    last_hash: str
    broken_at: int | None = None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def _rows(conn: Connection, batch: int) -> Iterator[Any]:
    last_id = 0
    columns = [AuditEntry.id, AuditEntry.prev_hash, AuditEntry.hash] + [
        getattr(AuditEntry, name) for name in HASHED_FIELDS
    ]
    while True:
        rows = conn.execute(
            select(*columns).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id


def verify(conn: Connection, batch: int = 1000) -> ChainReport:
    """Walk the chain in id order; the first entry whose link or hash is wrong breaks it."""
    prev = GENESIS
    prev_id: int | None = None
    count = 0
    for row in _rows(conn, batch):
        fields = {name: getattr(row, name) for name in HASHED_FIELDS}
        if row.prev_hash != prev:
            before = f"entry {prev_id}" if prev_id is not None else "the start of the log"
            return ChainReport(
                count,
                prev,
                row.id,
                f"entry {row.id}: prev_hash {row.prev_hash} does not match the hash of {before} "
                f"({prev}): an entry before it was removed or inserted, or {before} was changed",
            )
        computed = entry_hash(prev, fields)
        if row.hash != computed:
            return ChainReport(
                count,
                prev,
                row.id,
                f"entry {row.id}: stored hash {row.hash} but its fields hash to {computed}: "
                f"the entry was changed after it was written",
            )
        prev, prev_id, count = row.hash, row.id, count + 1
    return ChainReport(count, prev)

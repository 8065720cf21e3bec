"""The audit log as a hash chain: each entry carries SHA-256(previous hash + its own fields).

Changing, removing or inserting a sealed entry anywhere but at the end breaks the chain at that
entry, and ``flask verify-audit`` (``verify``) finds the first broken link.

A request does not chain its entries. They are written with the change they record, in the same
transaction (so atomically), but unsealed: ``prev_hash``, ``hash`` and ``chain_seq`` NULL. Entries
recorded during a request wait in the session (``defer``) and are inserted when it commits; they are
dropped with a rollback (of the whole transaction, or of the savepoint they were recorded in). A
query on the audit log in the same transaction writes them first, so it sees them.

The sealer (``seal_pending``) chains them afterwards, in a transaction of its own: it takes the
chain's lock (PostgreSQL: a transaction-scoped advisory lock; SQLite: the database's write lock),
reads the head (the highest ``chain_seq``), and gives each committed unsealed entry, in id order,
the next ``chain_seq``, its ``prev_hash`` and its ``hash``. The chain's order is ``chain_seq``, not
the id: ids are taken at INSERT, but a transaction that took an id first may commit after one that
took a later id, and an entry is sealed only once it is committed (a late one simply gets a later
place). The lock is the sealer's alone, so no web request waits on another's COMMIT any more. The
worker's scheduler runs the sealer every tick (``SRS_AUDIT_SEAL_SECONDS``, 5 s by default), and
``flask verify-audit`` runs it before it verifies.

The window, honestly: an entry is protected by the chain only once it is sealed. Until then (a few
seconds normally; as long as no worker runs, otherwise) someone with write access to the database
and the right to switch triggers off could change or remove it, and the chain would not show it (on
PostgreSQL the trigger refuses any change to an unsealed entry too, except its one sealing; SQLite
has no trigger). ``verify`` therefore reports the unsealed entries apart, with the oldest one's
time; one unsealed for longer than ``UNSEALED_WARNING`` is a warning (the sealer is not running).

The canonical form below is frozen: migrations 0013 and 0035 hold a copy to hash entries
themselves. Changing it means a new migration that re-chains, never an edit here alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, event, func, select, text, update
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from srs.core import clock
from srs.core.models import AuditEntry

GENESIS = "0" * 64
# pg_advisory_xact_lock key: "SRSAUDIT" in ASCII, one number no other feature uses.
CHAIN_LOCK_KEY = 0x5352534155444954
HASHED_FIELDS = ("at", "user_id", "username", "action", "object_type", "object_id", "ip_address", "details")
_PENDING = "srs_audit_pending"
# Entries sealed per transaction of the sealer: its UPDATE carries four values per entry.
SEAL_BATCH = 5000
# An entry unsealed for longer than this means the sealer is not running (it runs every few seconds).
UNSEALED_WARNING = timedelta(minutes=10)


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


def lock_chain(conn: Connection) -> None:
    """Take the chain's lock (the sealer's) for the rest of ``conn``'s transaction."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY})
    elif conn.dialect.name == "sqlite":
        # A write statement takes SQLite's database-wide write lock (held to the end of the
        # transaction) even when it matches no row; reading the head first would let another
        # sealer append in between. The statement changes nothing.
        conn.execute(text("UPDATE audit_entries SET id = id WHERE 0"))


def chain_head(conn: Connection) -> tuple[int, str]:
    """The ``chain_seq`` and hash of the newest sealed entry, or (0, GENESIS) (call with the lock held)."""
    head = conn.execute(
        select(AuditEntry.chain_seq, AuditEntry.hash)
        .where(AuditEntry.chain_seq.is_not(None))
        .order_by(AuditEntry.chain_seq.desc())
        .limit(1)
    ).first()
    if head is None:
        return 0, GENESIS
    return int(head.chain_seq), head.hash or GENESIS  # a hash removed by hand: verify reports it


def _unsealed() -> Any:
    # All three NULL: an entry whose chain_seq alone was removed is not sealed again (verify finds it).
    return (AuditEntry.chain_seq.is_(None), AuditEntry.prev_hash.is_(None), AuditEntry.hash.is_(None))


def _seal_batch(conn: Connection, batch: int) -> int:
    """Seal up to ``batch`` unsealed entries in one transaction on ``conn``; how many."""
    with conn.begin():
        lock_chain(conn)
        seq, prev = chain_head(conn)
        columns = [AuditEntry.id] + [getattr(AuditEntry, name) for name in HASHED_FIELDS]
        rows = conn.execute(select(*columns).where(*_unsealed()).order_by(AuditEntry.id).limit(batch)).all()
        if not rows:
            return 0
        seals = []
        for row in rows:
            seq += 1
            digest = entry_hash(prev, {name: getattr(row, name) for name in HASHED_FIELDS})
            seals.append({"entry_id": row.id, "seq": seq, "prev": prev, "digest": digest})
            prev = digest
        # One statement (an executemany) for the batch; "still unsealed" again, in case.
        conn.execute(
            update(AuditEntry)
            .where(AuditEntry.id == bindparam("entry_id"), *_unsealed())
            .values(chain_seq=bindparam("seq"), prev_hash=bindparam("prev"), hash=bindparam("digest")),
            seals,
        )
        return len(rows)


def seal_pending(bind: Engine, batch: int = SEAL_BATCH) -> int:
    """Seal every committed unsealed entry, in id order, at the end of the chain; how many were sealed.

    A service with a transaction of its own (per batch of ``batch`` entries) on a connection of its
    own, like ``write_now``: it commits what it seals. With nothing to seal it costs one query on a
    partial index, without the lock. Two sealers at once are serialised by the chain's lock, and the
    second finds the entries the first sealed already sealed, so running it again changes nothing.
    """
    total = 0
    with bind.connect() as conn:
        with conn.begin():
            waiting = conn.execute(select(AuditEntry.id).where(*_unsealed()).limit(1)).first()
        if waiting is None:
            return 0
        while True:
            sealed = _seal_batch(conn, batch)
            total += sealed
            if sealed < batch:
                return total


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
def _normalise_new_entries(session: Session, _flush_context: Any, _instances: Any) -> None:
    # The sealer hashes the details as they are read back; an entry added to the session directly
    # (not through srs.core.audit) must be stored in that form too.
    for obj in session.new:
        if isinstance(obj, AuditEntry) and obj.hash is None:
            obj.details = normalise_details(obj.details)


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint's entries wait for the outer commit
    entries = _take_pending(session)
    if entries:
        # Inserted unsealed by the commit's flush, with the rest of the transaction: no lock, no head
        # read; the sealer chains them once they are committed.
        session.add_all(entries)


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
    """What ``verify`` found: the sealed entries walked, and the unsealed ones (the window)."""

    entries: int
    last_hash: str
    broken_at: int | None = None
    problem: str | None = None
    unsealed: int = 0
    oldest_unsealed_at: datetime | None = None

    @property
    def intact(self) -> bool:
        return self.broken_at is None

    def unsealed_too_long(self, now: datetime | None = None) -> bool:
        """An entry has waited for the sealer longer than UNSEALED_WARNING (is a worker running?)."""
        if self.oldest_unsealed_at is None:
            return False
        return (now or clock.now()) - self.oldest_unsealed_at > UNSEALED_WARNING


def _rows(conn: Connection, batch: int) -> Iterator[Any]:
    last_seq: int | None = None
    columns = [AuditEntry.id, AuditEntry.chain_seq, AuditEntry.prev_hash, AuditEntry.hash] + [
        getattr(AuditEntry, name) for name in HASHED_FIELDS
    ]
    while True:
        after = AuditEntry.chain_seq.is_not(None) if last_seq is None else AuditEntry.chain_seq > last_seq
        rows = conn.execute(select(*columns).where(after).order_by(AuditEntry.chain_seq).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last_seq = rows[-1].chain_seq


def _window(conn: Connection) -> tuple[int, datetime | None]:
    """How many entries wait for the sealer, and when the oldest was recorded."""
    count, oldest = conn.execute(
        select(func.count(), func.min(AuditEntry.at)).where(AuditEntry.chain_seq.is_(None))
    ).one()
    if isinstance(oldest, str):  # a driver that hands back text
        oldest = datetime.fromisoformat(oldest)
    if oldest is not None and oldest.tzinfo is None:  # SQLite returns UTC without its offset
        oldest = oldest.replace(tzinfo=UTC)
    return int(count or 0), oldest


def verify(conn: Connection, batch: int = 1000) -> ChainReport:
    """Walk the sealed entries in chain order; the first whose link or hash is wrong breaks the chain.

    The unsealed entries are counted apart (``unsealed``, ``oldest_unsealed_at``): the chain does
    not cover them yet. One with a seal column set but no ``chain_seq`` was taken out of the chain
    by hand, and breaks it.
    """
    prev = GENESIS
    prev_id: int | None = None
    count = 0
    unsealed, oldest = _window(conn)
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
                unsealed,
                oldest,
            )
        computed = entry_hash(prev, fields)
        if row.hash != computed:
            return ChainReport(
                count,
                prev,
                row.id,
                f"entry {row.id}: stored hash {row.hash} but its fields hash to {computed}: "
                f"the entry was changed after it was written",
                unsealed,
                oldest,
            )
        prev, prev_id, count = row.hash, row.id, count + 1
    if unsealed:
        unplaced = conn.execute(
            select(func.min(AuditEntry.id)).where(
                AuditEntry.chain_seq.is_(None),
                (AuditEntry.prev_hash.is_not(None)) | (AuditEntry.hash.is_not(None)),
            )
        ).scalar()
        if unplaced is not None:
            return ChainReport(
                count,
                prev,
                unplaced,
                f"entry {unplaced}: sealed (it has a hash) but has no place in the chain (chain_seq): "
                f"it was taken out of the chain after it was written",
                unsealed,
                oldest,
            )
    return ChainReport(count, prev, unsealed=unsealed, oldest_unsealed_at=oldest)

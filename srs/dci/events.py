"""Registry changes become DCI events: written in the change's own transaction, notified later.

A session listener sees every client the ORM inserts or changes and writes a DciChange row in the
same transaction (REGISTER for a new client, DELETE when a client is merged away or withdraws
consent, LINK when a registered person joins a household and UNLINK when they leave it, UPDATE
otherwise). Bulk imports insert clients below the ORM (COPY on PostgreSQL); their
audit entry lists every client they registered, and the listener reads that. Nothing is lost
between the change and its notification: the rows wait in the database until the dispatcher
(srs.dci.jobs.dispatch_changes) matches them against the subscriptions.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from srs.core import clock
from srs.core.models import AuditEntry
from srs.dci.models import DciChange
from srs.registry.models import Client, HouseholdMember

_PENDING = "srs_dci_changes"
_WRITTEN = "srs_dci_written"
_installed = False


def _changed_to(client: Client, name: str) -> tuple[bool, Any]:
    history = inspect(client).attrs[name].history
    if not history.has_changes():
        return False, None
    return True, history.added[0] if history.added else None


# Columns whose change is a link to a household, not an update of the person.
_LINK_COLUMNS = frozenset({"household_id"})


def _events_for_dirty(client: Client) -> list[str]:
    merged, merged_value = _changed_to(client, "merged_into_id")
    if merged and merged_value is not None:
        return ["DELETE"]
    consent, consent_value = _changed_to(client, "consent_given")
    if consent and consent_value is False:
        return ["DELETE"]
    if consent and consent_value is True:
        return ["REGISTER"]
    events: list[str] = []
    linked, household = _changed_to(client, "household_id")
    if linked:
        events.append("LINK" if household is not None else "UNLINK")
    state = inspect(client)
    changed = {a.key for a in state.attrs if a.history.has_changes() and a.key in state.mapper.column_attrs}
    if changed - _LINK_COLUMNS:
        events.append("UPDATE")
    return events


def _membership_events(session: Session) -> list[tuple[int, str]]:
    """LINK/UNLINK for registered people added to, moved between or removed from a household's members."""
    events: list[tuple[int, str]] = []
    for obj in session.new:
        if isinstance(obj, HouseholdMember) and obj.client_id is not None:
            events.append((obj.client_id, "LINK"))
    for obj in session.deleted:
        if isinstance(obj, HouseholdMember) and obj.client_id is not None:
            events.append((obj.client_id, "UNLINK"))
    for obj in session.dirty:
        if not isinstance(obj, HouseholdMember):
            continue
        history = inspect(obj).attrs["client_id"].history
        if history.has_changes():
            events += [(old, "UNLINK") for old in history.deleted if old is not None]
            events += [(new, "LINK") for new in history.added if new is not None]
        elif inspect(obj).attrs["household_id"].history.has_changes() and obj.client_id is not None:
            events += [(obj.client_id, "UNLINK"), (obj.client_id, "LINK")]
    return events


def _after_flush(session: Session, _context: Any) -> None:
    pending: list[tuple[int, str]] = session.info.setdefault(_PENDING, [])
    for obj in session.new:
        if isinstance(obj, Client) and obj.id is not None:
            pending.append((obj.id, "REGISTER"))
        elif isinstance(obj, AuditEntry) and obj.action == "clients.import":
            for client_id in (obj.details or {}).get("client_ids") or []:
                if isinstance(client_id, int):
                    pending.append((client_id, "REGISTER"))
    for obj in session.dirty:
        if isinstance(obj, Client) and session.is_modified(obj, include_collections=False):
            pending += [(obj.id, kind) for kind in _events_for_dirty(obj)]
    pending += _membership_events(session)


def _after_flush_postexec(session: Session, _context: Any) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    written: set[tuple[int, str]] = session.info.setdefault(_WRITTEN, set())
    now = clock.now()
    for client_id, kind in pending:
        # One event per client and kind in a transaction, however many flushes touched it.
        if (client_id, kind) in written:
            continue
        written.add((client_id, kind))
        session.add(DciChange(client_id=client_id, event=kind, at=now))


def _forget(session: Session, *_args: Any) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_WRITTEN, None)


def install() -> None:
    """Listen on every session once (the app's sessions are all SQLAlchemy Sessions)."""
    global _installed
    if _installed:
        return
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "after_flush_postexec", _after_flush_postexec)
    event.listen(Session, "after_commit", _forget)
    event.listen(Session, "after_soft_rollback", _forget)
    _installed = True

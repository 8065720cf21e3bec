"""The audit log: every read of a client's record and every change is written here.

Three ways in:

* ``record``: an entry that belongs to the change (or the read) it records: written when the
  request's transaction commits, dropped with a rollback;
* ``record_list``: a list, a search or an export page (the query, masked, and the ids shown);
* ``record_security``: a refusal (failed sign-in, lockout, 403, 404 on a record) that must outlive
  the rollback of the request that was refused: written in a transaction of its own.

Entries are chained by hash (srs.core.audit_chain) and never changed or deleted: a request writes
them unsealed, and ``srs.core.jobs.seal_audit_chain`` (a periodic job of the worker, every
``SRS_AUDIT_SEAL_SECONDS``) chains them once they are committed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from flask import current_app, g, has_request_context, request
from flask_login import current_user
from sqlalchemy import Select, String, select

from srs.core import audit_chain, clock
from srs.core.actor import Actor
from srs.core.models import AuditEntry
from srs.extensions import db

# Keys whose values never enter the log, whatever a caller passes.
SECRET_KEYS = {"password", "password_hash", "token", "token_hash", "secret", "webhook_secret", "csrf_token"}
ID_NUMBER_KEYS = {"id_number"}
_LONG_DIGITS = re.compile(r"\d{8,}")


def mask_id_number(value: str | None) -> str | None:
    """An ID number shown with only its last four digits: ``************1234``."""
    if not value:
        return value
    return "*" * max(len(value) - 4, 0) + value[-4:]


def scrub(value: Any, key: str | None = None) -> Any:
    """Remove secrets and mask ID numbers (and any long digit run) in audit details."""
    key = None if key is None else str(key)  # a dict may have numbers as keys
    if key is not None and key.lower() in SECRET_KEYS:
        return "[removed]"
    if isinstance(value, dict):
        return {k: scrub(v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v, key) for v in value]
    if isinstance(value, str):
        if key is not None and key.lower() in ID_NUMBER_KEYS:
            return mask_id_number(value)
        return _LONG_DIGITS.sub(lambda m: mask_id_number(m.group(0)) or "", value)
    return value


_NUMBER_PUNCTUATION = re.compile(r"[\s\-+/()]")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def mask_query_value(value: Any) -> Any:
    """A search term as the log keeps it: a number (ID or phone, 6 digits or more) masked."""
    if not isinstance(value, str):
        return scrub(value)
    if _ISO_DATE.fullmatch(value.strip()):
        return value.strip()  # a date filter, not a number of a person
    compact = _NUMBER_PUNCTUATION.sub("", value)
    if compact.isdigit() and len(compact) >= 6:
        return mask_id_number(compact)
    return scrub(value)


def scrub_query(query: Mapping[str, Any] | None) -> dict[str, Any]:
    """The filters of a list or search, without the empty ones, numbers masked, secrets removed."""
    cleaned: dict[str, Any] = {}
    for key, value in (query or {}).items():
        if value is None or value == "" or value is False:
            continue
        cleaned[key] = "[removed]" if str(key).lower() in SECRET_KEYS else mask_query_value(value)
    return cleaned


def client_address() -> str | None:
    if not has_request_context():
        return None
    return request.remote_addr


def _fit(value: Any, column: str) -> str | None:
    """``value`` as text cut to its column's length: an over-long value (a forwarded address, an id
    typed into a URL) must not make the entry fail; on PostgreSQL it would be refused, the length
    guard refuses it everywhere, and a refusal's entry would be lost with it."""
    if value is None:
        return None
    text = str(value)
    column_type = AuditEntry.__table__.c[column].type
    limit = column_type.length if isinstance(column_type, String) else None
    return text[:limit] if limit else text


def _entry(
    action: str, object_type: str | None, object_id: Any, user: Actor | None, details: dict[str, Any]
) -> AuditEntry:
    actor = user
    if actor is None and has_request_context() and current_user and current_user.is_authenticated:
        actor = current_user
    return AuditEntry(
        at=clock.now(),
        user_id=getattr(actor, "id", None),
        username=_fit(getattr(actor, "username", None), "username"),
        action=_fit(action, "action"),
        object_type=_fit(object_type, "object_type"),
        object_id=_fit(object_id, "object_id"),
        ip_address=_fit(client_address(), "ip_address"),
        details=audit_chain.normalise_details(scrub(details)),
    )


def record(
    action: str,
    object_type: str | None = None,
    object_id: Any = None,
    *,
    user: Actor | None = None,
    **details: Any,
) -> AuditEntry:
    """Record an entry with the current transaction: written when it commits, dropped if it rolls back."""
    entry = _entry(action, object_type, object_id, user, details)
    audit_chain.defer(db.session(), entry)
    return entry


def record_list(
    action: str,
    object_type: str,
    ids: Iterable[Any],
    *,
    query: Mapping[str, Any] | None = None,
    user: Actor | None = None,
    **details: Any,
) -> AuditEntry:
    """Record that a list, search or export showed these records to the user.

    ``ids`` are the records on the page (or in the file); ``query`` the filters and search terms as
    typed (numbers masked: an ID number typed into a search never enters the log in full).
    """
    shown = list(ids)
    return record(action, object_type, None, user=user, query=scrub_query(query), ids=shown, **details)


_SECURITY = "srs_security_entries"


def record_security(
    action: str,
    object_type: str | None = None,
    object_id: Any = None,
    *,
    user: Actor | None = None,
    **details: Any,
) -> AuditEntry:
    """Record a refusal in a transaction of its own, so that the request's rollback keeps it.

    During a request the entry is written once the request's own transaction has ended (committed or
    rolled back; on SQLite a second writer could not write before that); elsewhere at once.
    """
    entry = _entry(action, object_type, object_id, user, details)
    if has_request_context():
        g.setdefault(_SECURITY, []).append(entry)
    else:
        audit_chain.write_now([entry], db.engine)
    return entry


def write_security_entries() -> None:
    """Write the refusals recorded during this request (called when its transaction has ended)."""
    entries = g.pop(_SECURITY, [])
    if not entries:
        return
    try:
        audit_chain.write_now(entries, db.engine)
    except Exception:  # the answer to the request must not become a 500; the failure is logged
        current_app.logger.exception("could not write %d security audit entries", len(entries))


def audit_query(
    *,
    action: str | None = None,
    username: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Select[AuditEntry]:
    """Audit entries, newest first, filtered by what an admin typed; ``since`` <= at < ``until``."""
    stmt = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if action:
        stmt = stmt.where(AuditEntry.action.startswith(action))
    if username:
        stmt = stmt.where(AuditEntry.username == username)
    if object_type:
        stmt = stmt.where(AuditEntry.object_type == object_type)
    if object_id:
        stmt = stmt.where(AuditEntry.object_id == object_id)
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= since)
    if until is not None:
        stmt = stmt.where(AuditEntry.at < until)
    return stmt


def _record_ids() -> dict[str, str]:
    """The record ids a request named: in its path (``client_id``...) or its query (``?client_id=``)."""
    ids = {k: str(v) for k, v in (request.view_args or {}).items() if k.endswith("_id") or k == "id"}
    for key, value in request.args.items():
        if key.endswith("_id") and key not in ids:
            ids[key] = value[:40]
    return ids


def record_refusal(status: int) -> None:
    """A 403, or a 404 from one of the app's routes, written to the log in its own transaction.

    A 404 is answered the same for a record that does not exist and one outside the caller's area;
    the log tells them apart for the auditor (the id asked for, by whom). A 404 for a path no route
    matches (a scanner probing URLs) is not a record request and is not logged.
    """
    if status not in (403, 404) or not has_request_context() or request.url_rule is None:
        return
    ids = _record_ids()
    object_type = object_id = None
    if ids:
        key, object_id = next(iter(ids.items()))
        object_type = key[: -len("_id")] if key.endswith("_id") else None
    record_security(
        "access.denied" if status == 403 else "record.not_found",
        object_type,
        object_id,
        method=request.method,
        endpoint=request.endpoint,
        path=request.path,
        ids=ids,
    )

"""The audit log: every read of a client's record and every change is written here."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import Select, select

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


def client_address() -> str | None:
    if not has_request_context():
        return None
    return request.remote_addr


def record(
    action: str,
    object_type: str | None = None,
    object_id: Any = None,
    *,
    user: Any = None,
    **details: Any,
) -> AuditEntry:
    """Add an audit entry to the current transaction (it is committed with the change it records)."""
    actor = user
    if actor is None and has_request_context() and current_user and current_user.is_authenticated:
        actor = current_user
    entry = AuditEntry(
        user_id=getattr(actor, "id", None),
        username=getattr(actor, "username", None),
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        ip_address=client_address(),
        details=scrub(details),
    )
    db.session.add(entry)
    return entry


def audit_query(
    *,
    action: str | None = None,
    username: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Select[tuple[AuditEntry]]:
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

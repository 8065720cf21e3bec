"""The device key, and one sync operation (a registration made offline) as the server runs it."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select, update

from srs.accounts.models import User
from srs.core import audit, clock
from srs.core.errors import Conflict, ValidationFailed
from srs.core.idempotency import KEY_PATTERN
from srs.core.transaction import changed_rows
from srs.extensions import db
from srs.offline.models import OfflineDevice
from srs.registry import duplicates, services
from srs.registry.duplicates import DuplicateId

# A device id is the random UUID the browser made for itself.
DEVICE_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
OPERATIONS = ("client.create", "client.update")
MAX_BATCH = 50
_KEY = re.compile(KEY_PATTERN)


class DeviceRevoked(Conflict):
    status = 403


def _device_id(raw: Any) -> str:
    if not isinstance(raw, str) or not DEVICE_ID.match(raw):
        raise ValidationFailed(
            _("The device is not valid."), {"device_id": [_("Must be the device's UUID.")]}
        )
    return raw


def device_key(user: User, raw_device_id: Any) -> str:
    """The key of ``user``'s device (made on first use); DeviceRevoked once it was revoked."""
    device_id = _device_id(raw_device_id)
    device = db.session.scalar(
        select(OfflineDevice).where(OfflineDevice.user_id == user.id, OfflineDevice.device_id == device_id)
    )
    if device is None:
        device = OfflineDevice(user_id=user.id, device_id=device_id, secret=secrets.token_urlsafe(32))
        db.session.add(device)
        db.session.flush()
        audit.record("offline.device_enrolled", "user", user.id, device=device_id)
    elif device.revoked_at is not None:
        raise DeviceRevoked(_("This device was signed out; its store is wiped and it starts afresh."))
    device.last_key_at = clock.now()
    return device.secret


def forget_device(user: User, raw_device_id: Any) -> bool:
    """Revoke the device's key (signing out there): what it stored can never be read again."""
    device_id = _device_id(raw_device_id)
    done = changed_rows(
        update(OfflineDevice)
        .where(
            OfflineDevice.user_id == user.id,
            OfflineDevice.device_id == device_id,
            OfflineDevice.revoked_at.is_(None),
        )
        .values(revoked_at=clock.now())
    )
    if done:
        audit.record("offline.device_revoked", "user", user.id, device=device_id)
    return bool(done)


def must_wipe(raw_device_id: Any) -> bool:
    """For a device whose session ended: whether it must wipe its store (key revoked, user inactive).

    A session that merely went idle keeps the store: signing in again reads it again.
    """
    try:
        device_id = _device_id(raw_device_id)
    except ValidationFailed:
        return False
    rows = db.session.execute(
        select(OfflineDevice.revoked_at, User.active)
        .join(User, User.id == OfflineDevice.user_id)
        .where(OfflineDevice.device_id == device_id)
    ).all()
    return any(revoked is not None or not active for revoked, active in rows)


# --- one operation of a sync batch ----------------------------------------------------------------


def check_operation(item: Any) -> dict[str, Any]:
    """The envelope of one operation: key, op, body, recorded_at; ValidationFailed on its fields."""
    errors: dict[str, list[str]] = {}
    if not isinstance(item, Mapping):
        raise ValidationFailed(
            _("Each operation must be an object."), {"operation": [_("Must be an object.")]}
        )
    key, op, body, recorded = item.get("key"), item.get("op"), item.get("body"), item.get("recorded_at")
    if not isinstance(key, str) or not _KEY.match(key):
        errors["key"] = [_("The device's UUID of this registration (1-200 printable characters).")]
    if op not in OPERATIONS:
        errors["op"] = [_("Choose one of: %(choices)s.", choices=", ".join(OPERATIONS))]
    if not isinstance(body, Mapping):
        errors["body"] = [_("Must be an object.")]
    recorded_at = None
    if recorded is not None:
        try:
            recorded_at = datetime.fromisoformat(str(recorded)[:40].replace("Z", "+00:00"))
        except ValueError:
            errors["recorded_at"] = [_("Write the time as ISO 8601, for example 2026-03-21T09:30:00Z.")]
    if errors:
        raise ValidationFailed(_("The operation is not valid."), errors)
    return {
        "key": key,
        "op": op,
        "body": dict(body),  # type: ignore[arg-type]
        "recorded_at": recorded_at.isoformat() if recorded_at else None,
    }


def create_client(operation: Mapping[str, Any], user: User) -> tuple[int, dict[str, Any], str | None]:
    """Register the operation's client: (status, answer, location) for the batch's answer.

    The server's clock sets created_at; the device's time is kept as "recorded on device" (in the
    answer and the audit log), whatever the device's clock said.
    """
    recorded = operation.get("recorded_at")
    try:
        registered = services.register_client(operation["body"], user, source="offline")
    except DuplicateId as exc:
        # Taken meanwhile: a question for the officer (the same person?), not a lost record.
        db.session.rollback()
        return (
            409,
            {
                "outcome": "id_taken",
                "detail": exc.detail,
                "errors": exc.errors,
                "existing_client_id": exc.existing_id,
                "existing_link": url_for("registry.profile", client_id=exc.existing_id)
                if exc.existing_id
                else None,
            },
            None,
        )
    client = registered.client
    shown = duplicates.visible_duplicates(registered.possible_duplicates, user)
    link = url_for("registry.profile", client_id=client.id)
    audit.record("offline.synced", "client", client.id, recorded_on_device=recorded, key=operation["key"])
    return (
        201,
        {
            "outcome": "probable_duplicate" if client.needs_review else "created",
            "client_id": client.id,
            "link": link,
            "possible_duplicates": [d.client.id for d in shown],
            "created_at": client.created_at.isoformat() if client.created_at else clock.now().isoformat(),
            "recorded_on_device": recorded,
        },
        link,
    )


def record_for_device(client_id: Any, user: User) -> dict[str, Any]:
    """A client as the device keeps it for editing offline: its values and the version they are of.

    The full record (ID number too) leaves the server: audited as a read, like the edit form.
    """
    client = services.load_client(client_id, user)
    services.read_profile(client, user, page="offline")
    return {"client_id": client.id, "version": client.version, "values": services.client_input(client)}


def _edit_parts(body: Mapping[str, Any]) -> tuple[Any, Any, dict[str, Any], dict[str, Any]]:
    base, changes = body.get("base"), body.get("changes")
    errors: dict[str, list[str]] = {}
    if not isinstance(base, Mapping):
        errors["base"] = [_("Must be an object.")]
    if not isinstance(changes, Mapping) or not changes:
        errors["changes"] = [_("Give at least one changed field.")]
    if errors:
        raise ValidationFailed(_("The operation is not valid."), errors)
    return body.get("client_id"), body.get("version"), dict(base), dict(changes)  # type: ignore[arg-type]


def update_client(operation: Mapping[str, Any], user: User) -> tuple[int, dict[str, Any], str | None]:
    """Apply an edit made offline, from the version it started from (``version``, with ``base``: the
    values it read). Fields nobody changed since merge; a field the server changed since to another
    value than the device's is a conflict: nothing is applied, and the answer holds both values per
    field for the officer to choose (sent again as a new operation from the server's version)."""
    client_id, version, base, changes = _edit_parts(operation["body"])
    client = services.load_client(client_id, user)
    link = url_for("registry.profile", client_id=client.id)
    current = services.client_input(client)
    merged = version != client.version
    if merged:
        conflicts = {
            name: {"device": value, "server": current.get(name), "base": base.get(name)}
            for name, value in changes.items()
            if name in current and current.get(name) != base.get(name) and current.get(name) != value
        }
        if conflicts:
            return (
                409,
                {
                    "outcome": "conflict",
                    "client_id": client.id,
                    "link": link,
                    "version": client.version,
                    "conflicts": conflicts,
                    "detail": _("Someone changed these fields on the server since this device read them."),
                },
                None,
            )
    updated = services.update_client(client, changes, user, client.version)
    audit.record(
        "offline.synced",
        "client",
        client.id,
        recorded_on_device=operation.get("recorded_at"),
        key=operation["key"],
    )
    return (
        200,
        {
            "outcome": "updated",
            "client_id": client.id,
            "link": link,
            "version": updated.version,
            "merged": merged,
            "recorded_on_device": operation.get("recorded_at"),
        },
        link,
    )


def run_operation(operation: Mapping[str, Any], user: User) -> tuple[int, dict[str, Any], str | None]:
    """One checked operation, by its kind."""
    if operation["op"] == "client.update":
        return update_client(operation, user)
    return create_client(operation, user)

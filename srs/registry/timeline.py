"""The registry's part of a client's timeline: registration, edits, household changes, merges."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from srs.core.models import AuditEntry
from srs.core.wiring import TimelineItem
from srs.extensions import db
from srs.registry.forms import RELATIONSHIP_LABELS as RELATIONSHIP_NAMES
from srs.registry.households import describe_merge
from srs.registry.models import Client

_TIMELINE_ACTIONS = (
    "client.update",
    "client.merge",
    "client.household",
    "client.household_head",
    "client.household_move",
)


def _change_line(changes: dict[str, Any]) -> str:
    parts = []
    for name, change in changes.items():
        if isinstance(change, dict):
            parts.append(f"{name}: {change.get('from')!s} → {change.get('to')!s}")
    return "; ".join(parts)


def _household_line(details: dict[str, Any]) -> tuple[str, str]:
    if "updated_member" in details:
        return _("Household member changed"), f"{details['updated_member']}: " + _change_line(
            details.get("changes", {})
        )
    if "moved_to_household_id" in details:
        return _("Household member removed"), _(
            "%(name)s moved to household %(id)s",
            name=details["removed_member"],
            id=details["moved_to_household_id"],
        )
    if "removed_member" in details:
        title, name = _("Household member removed"), details["removed_member"]
    else:
        title, name = _("Household member added"), details.get("added_member", "")
    relationship = details.get("relationship")
    label = RELATIONSHIP_NAMES.get(relationship, relationship) if relationship else ""
    return title, f"{name} ({label})" if label else str(name)


def _relationship_name(code: Any) -> str:
    return str(RELATIONSHIP_NAMES.get(code, code))


def _head_line(details: dict[str, Any]) -> tuple[str, str]:
    parts = [f"{details.get('old_head') or '—'} → {details.get('new_head', '')}"]
    for change in details.get("relationships", []):
        parts.append(
            f"{change.get('name')}: {_relationship_name(change.get('from'))} → "
            f"{_relationship_name(change.get('to'))}"
        )
    if details.get("to_review"):
        parts.append(_("to check: %(names)s", names=", ".join(details["to_review"])))
    return _("Head of household changed"), "; ".join(parts)


def _household_move_line(details: dict[str, Any]) -> str:
    return _(
        "%(name)s: household %(old)s → %(new)s (%(relationship)s)",
        name=details.get("moved_client", ""),
        old=details.get("from_household_id") or "—",
        new=details.get("to_household_id"),
        relationship=_relationship_name(details.get("relationship")),
    )


def registry_timeline(client: Client) -> list[TimelineItem]:
    """Registration (from the client rows), edits with what changed, household changes and merges
    (from the audit log). Records merged into this one bring their history along.
    """
    from srs.accounts.models import User

    records = [client, *db.session.scalars(select(Client).where(Client.merged_into_id == client.id))]
    creators = {
        user_id: username
        for user_id, username in db.session.execute(
            select(User.id, User.username).where(
                User.id.in_({r.created_by_id for r in records if r.created_by_id})
            )
        )
    }
    items = []
    for record in records:
        import_id = (record.extra or {}).get("import_id")
        detail = _("Bulk import #%(id)s", id=import_id) if import_id else None
        if record.id != client.id:
            detail = (detail + " · " if detail else "") + _("from merged record #%(id)s", id=record.id)
        items.append(
            TimelineItem(
                at=record.created_at,
                kind="registration",
                title=_("Registered"),
                detail=detail,
                by=creators.get(record.created_by_id),
            )
        )
    entries = db.session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.object_type == "client",
            AuditEntry.object_id.in_([str(r.id) for r in records]),
            AuditEntry.action.in_(_TIMELINE_ACTIONS),
        )
        .order_by(AuditEntry.at)
    )
    for entry in entries:
        details = entry.details or {}
        if entry.action == "client.update":
            title = _("Details changed")
            detail = _change_line(details.get("changes", {}))
        elif entry.action == "client.household":
            title, detail = _household_line(details)
        elif entry.action == "client.household_head":
            title, detail = _head_line(details)
        elif entry.action == "client.household_move":
            title = _("Moved to another household")
            detail = _household_move_line(details)
        else:
            title = _("Merged with a duplicate record")
            detail = _("Record #%(id)s was merged into this one.", id=details.get("merged_client_id"))
            if details.get("households"):
                detail += " " + describe_merge(details["households"])
        if entry.object_id != str(client.id):
            detail = (detail + " · " if detail else "") + _("from merged record #%(id)s", id=entry.object_id)
        items.append(
            TimelineItem(
                at=entry.at, kind=entry.action.split(".")[1], title=title, detail=detail, by=entry.username
            )
        )
    return items

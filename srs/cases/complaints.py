"""Complaints: deadlines by category in working days, a tracking number people can quote, escalation.

A tracking number reads ``CMP-2026-000123-K``: the year it was received, a serial, and a check
character (ISO 7064 MOD 37-2 over the serial digits and the year) so a mistyped digit is caught
instead of finding somebody else's complaint.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, select

from srs.accounts.models import User
from srs.cases.models import (
    COMPLAINT_CHANNELS,
    COMPLAINT_OPEN_STATUSES,
    COMPLAINT_STATUSES,
    FOLLOWUP_KINDS,
    Complaint,
    ComplaintCategory,
)
from srs.core import audit, clock
from srs.core.errors import Conflict, NotFound, ValidationFailed
from srs.core.ids import parse_id
from srs.core.lengths import check_length, check_long_text
from srs.core.workdays import due_date
from srs.extensions import db
from srs.regions.models import Region
from srs.regions.scope import load_in_scope, region_id_condition, region_in_scope
from srs.registry.services import load_client

# Indonesian public-service complaint deadlines (working days); admins may change them.
DEFAULT_CATEGORIES = [
    ("light", "Light", 2),
    ("normative", "Normative", 5),
    ("no_supervisory", "Without supervisory element", 14),
    ("investigation", "Needing investigation", 60),
]
CATEGORY_LABELS = {
    "light": _l("Light"),
    "normative": _l("Normative"),
    "no_supervisory": _l("Without supervisory element"),
    "investigation": _l("Needing investigation"),
}

_CHECK_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"
_TRACKING_RE = re.compile(r"^CMP-?(\d{4})-?(\d{6,})-?([0-9A-Z*])$")


def check_character(digits: str) -> str:
    """ISO 7064 MOD 37-2 check character over ``digits``."""
    total = 0
    for ch in digits:
        total = ((total + _CHECK_ALPHABET.index(ch)) * 2) % 37
    return _CHECK_ALPHABET[(38 - total) % 37]


def tracking_number(year: int, serial: int) -> str:
    body = f"{year:04d}{serial:06d}"
    return f"CMP-{year:04d}-{serial:06d}-{check_character(body)}"


def normalise_tracking(raw: str | None) -> str | None:
    """The canonical tracking number for what a person typed, or None if it cannot be one.

    Spaces, lower case, a missing dash and the letter O typed for zero are forgiven; a wrong check
    character is not.
    """
    text = re.sub(r"[\s.]", "", (raw or "").upper())
    if not text:
        return None
    if text.startswith("CMP"):
        head, rest = text[:3], text[3:]
        text = head + rest[:-1].replace("O", "0") + rest[-1:]
    match = _TRACKING_RE.match(text)
    if not match:
        return None
    year, serial, check = match.groups()
    if check_character(year + serial) != check:
        return None
    return f"CMP-{year}-{serial}-{check}"


def ensure_categories() -> None:
    """Create the default categories that are missing (idempotent)."""
    existing = set(db.session.scalars(select(ComplaintCategory.code)))
    for code, name, days in DEFAULT_CATEGORIES:
        if code not in existing:
            db.session.add(ComplaintCategory(code=code, name=name, working_days=days))
    db.session.flush()


def categories(active_only: bool = True) -> list[ComplaintCategory]:
    stmt = select(ComplaintCategory).order_by(ComplaintCategory.working_days, ComplaintCategory.id)
    if active_only:
        stmt = stmt.where(ComplaintCategory.active.is_(True))
    return list(db.session.scalars(stmt))


def category_label(category: ComplaintCategory) -> str:
    label = CATEGORY_LABELS.get(category.code)
    return str(label) if label is not None else category.name


def set_category_days(category: ComplaintCategory, days: Any, by: User) -> ComplaintCategory:
    """Change a category's deadline (affects complaints received from now on)."""
    try:
        value = int(days)
        if not 1 <= value <= 365:
            raise ValueError
    except (TypeError, ValueError):
        msg = _("Give a whole number of working days between 1 and 365.")
        raise ValidationFailed(msg, {f"days_{category.id}": [msg]}) from None
    if value != category.working_days:
        audit.record(
            "complaint.category_days", "complaint_category", category.id, old=category.working_days, new=value
        )
        category.working_days = value
    return category


def set_categories_days(days: Mapping[int, Any], by: User) -> None:
    """Change several categories' deadlines (category id: days, as typed); all or none.

    Raises ValidationFailed with every refused field (``days_<id>``) when one is not a whole number
    of working days; the caller runs this in ``attempt()`` so the accepted ones are undone too.
    """
    errors: dict[str, list[str]] = {}
    for category in categories(active_only=False):
        if category.id not in days:
            continue
        try:
            set_category_days(category, days[category.id], by)
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationFailed(_("Give a whole number of working days between 1 and 365."), errors)


def complaint_scope(user: User | None = None) -> ColumnElement[bool]:
    """SQL condition: the complaint lies in the user's regions (by default the current user's)."""
    return region_id_condition(Complaint.region_id, user)


def load_complaint(complaint_id: Any, user: User) -> Complaint:
    """The complaint if it lies in ``user``'s scope; NotFound (404) otherwise."""
    return load_in_scope(Complaint, complaint_id, user, scope=complaint_scope(user))


@dataclass
class ComplaintInput:
    channel: str | None
    category_id: Any
    subject: str | None
    description: str | None
    client_id: int | None = None
    region_id: Any = None
    complainant_name: str | None = None
    complainant_phone: str | None = None
    received_on: date | None = None


def create_complaint(data: ComplaintInput, by: User) -> Complaint:
    """Take a complaint: its category's deadline in working days gives the due date."""
    errors: dict[str, list[str]] = {}
    if data.channel not in COMPLAINT_CHANNELS:
        errors["channel"] = [_("Choose how the complaint came in.")]
    category_pk = parse_id(data.category_id)
    category = db.session.get(ComplaintCategory, category_pk) if category_pk is not None else None
    if category is None or not category.active:
        errors["category_id"] = [_("Choose a category.")]
    subject = (data.subject or "").strip()
    if not subject:
        errors["subject"] = [_("Give the complaint a short subject.")]
    else:
        check_length(subject, Complaint.subject, "subject", errors)
    description = (data.description or "").strip()
    if not description:
        errors["description"] = [_("Describe the complaint.")]
    else:
        check_long_text(description, "description", errors)
    complainant_name = (data.complainant_name or "").strip() or None
    complainant_phone = (data.complainant_phone or "").strip() or None
    check_length(complainant_name, Complaint.complainant_name, "complainant_name", errors)
    check_length(complainant_phone, Complaint.complainant_phone, "complainant_phone", errors)
    client = None
    region = None
    if data.client_id is not None:
        try:
            client = load_client(data.client_id, by)  # a merged-away record takes no complaint
        except NotFound:
            errors["client_id"] = [_("No such client in your regions.")]
        else:
            region = client.region
    else:
        region_pk = parse_id(data.region_id)
        region = db.session.get(Region, region_pk) if region_pk is not None else None
        if region is None or not region_in_scope(region, by):
            errors["region_id"] = [_("Choose one of your regions.")]
            region = None
    received = data.received_on or clock.today()
    if received > clock.today():
        errors["received_on"] = [_("The date cannot be in the future.")]
    if errors:
        raise ValidationFailed(_("The complaint is not complete."), errors)
    assert category is not None and region is not None
    complaint = Complaint(
        channel=data.channel,
        client_id=client.id if client else None,
        region_id=region.id,
        category_id=category.id,
        complainant_name=complainant_name,
        complainant_phone=complainant_phone,
        subject=subject,
        description=description,
        received_on=received,
        due_on=due_date(region.country, received, category.working_days),
        created_by_id=by.id,
    )
    db.session.add(complaint)
    db.session.flush()
    complaint.tracking_number = tracking_number(received.year, complaint.id)
    audit.record(
        "complaint.create",
        "complaint",
        complaint.id,
        tracking_number=complaint.tracking_number,
        client_id=complaint.client_id,
        category=category.code,
    )
    return complaint


def find_by_tracking(raw: str | None) -> Complaint | None:
    """The complaint in the current user's scope with that tracking number."""
    number = normalise_tracking(raw)
    if number is None:
        return None
    return db.session.scalar(select(Complaint).where(Complaint.tracking_number == number, complaint_scope()))


_TRANSITIONS = {
    "received": {"in_progress", "resolved", "rejected"},
    "in_progress": {"resolved", "rejected"},
    "resolved": set(),
    "rejected": set(),
}


def change_status(complaint: Complaint, status: str | None, text: str | None, by: User) -> Complaint:
    """Move a complaint on: in progress, resolved (with what was done) or rejected (with a reason)."""
    if status not in COMPLAINT_STATUSES:
        raise ValidationFailed(_("Choose a status."), {"status": [_("Choose a status.")]})
    if status not in _TRANSITIONS[complaint.status]:
        raise Conflict(
            _("A complaint that is %(status)s cannot be moved to that status.", status=complaint.status)
        )
    text = (text or "").strip()
    errors: dict[str, list[str]] = {}
    if not check_long_text(text, "text", errors):
        raise ValidationFailed(errors["text"][0], errors)
    if status == "rejected":
        if not text:
            raise ValidationFailed(
                _("Say why the complaint is rejected."), {"text": [_("Say why the complaint is rejected.")]}
            )
        complaint.rejection_reason = text
    if status == "resolved":
        if not text:
            raise ValidationFailed(_("Say how it was resolved."), {"text": [_("Say how it was resolved.")]})
        complaint.resolution = text
    if status in ("resolved", "rejected"):
        complaint.resolved_at = clock.now()
    old = complaint.status
    complaint.status = status
    audit.record("complaint.status", "complaint", complaint.id, old=old, new=status)
    return complaint


def record_followup(complaint: Complaint, kind: str | None, url: str, by: User) -> Complaint:
    """Record that the complaint led to a referral or to a correction of the client's data."""
    if kind not in FOLLOWUP_KINDS:
        raise ValidationFailed(
            _("Choose what the complaint led to."), {"kind": [_("Choose what the complaint led to.")]}
        )
    if complaint.client_id is None:
        raise Conflict(_("An anonymous complaint has no client to refer or correct."))
    complaint.followup_kind = kind
    complaint.followup_url = url[:300]
    complaint.followup_at = clock.now()
    audit.record("complaint.followup", "complaint", complaint.id, kind=kind, client_id=complaint.client_id)
    return complaint


def complaints_query(status: str | None = None, overdue: bool = False) -> Select[Complaint]:
    """Complaints in scope, the closest deadline first."""
    stmt = select(Complaint).where(complaint_scope())
    if status in COMPLAINT_STATUSES:
        stmt = stmt.where(Complaint.status == status)
    elif status == "open":
        stmt = stmt.where(Complaint.status.in_(COMPLAINT_OPEN_STATUSES))
    if overdue:
        stmt = stmt.where(Complaint.status.in_(COMPLAINT_OPEN_STATUSES), Complaint.due_on < clock.today())
    return stmt.order_by(Complaint.due_on, Complaint.id)


def is_overdue(complaint: Complaint, today: date | None = None) -> bool:
    return complaint.status in COMPLAINT_OPEN_STATUSES and complaint.due_on < (today or clock.today())


def escalate_overdue(today: date | None = None) -> list[int]:
    """Mark open complaints past their due date as escalated, once each, with an audit entry."""
    today = today or clock.today()
    overdue = db.session.scalars(
        select(Complaint)
        .where(
            Complaint.status.in_(COMPLAINT_OPEN_STATUSES),
            Complaint.due_on < today,
            Complaint.escalated_at.is_(None),
        )
        .with_for_update(skip_locked=True)
    ).all()
    now = clock.now()
    for complaint in overdue:
        complaint.escalated_at = now
        audit.record(
            "complaint.escalated",
            "complaint",
            complaint.id,
            user=None,
            tracking_number=complaint.tracking_number,
            due_on=complaint.due_on.isoformat(),
        )
    return [c.id for c in overdue]

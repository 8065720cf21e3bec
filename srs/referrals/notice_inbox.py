"""Notices in the agency's SRS inbox: corrections and erasure requests about clients it received.

A notice (``client.corrected``, ``client.erasure_requested``; srs/referrals/notices.py) goes through
the outbox like a referral; its inbox row is "done" once delivered. Here the agency's staff list
them (newest first) and open one, which marks it read for the whole agency. What is shown is what the
notice carries and nothing more: the date, the kind, the referral's tracking number, and for a
correction the fields the agency receives with their new values; for an erasure, that the copy of
the client's data held for that referral is to be erased.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select

from srs.accounts.models import User
from srs.core import audit, clock
from srs.core.errors import NotFound
from srs.core.ids import parse_id
from srs.extensions import db
from srs.referrals.models import OutboxMessage, Referral
from srs.registry.fields import share_labels

NOTICE_KINDS = {
    "client.corrected": _l("Correction"),
    "client.erasure_requested": _l("Erasure requested"),
}


@dataclass
class Notice:
    """One notice as the inbox shows it."""

    id: int
    at: datetime | None
    event: str
    kind: Any
    referral_id: int
    read_at: datetime | None
    # A correction: (label, new value) of each field the agency receives; an erasure: empty.
    fields: list[tuple[Any, Any]]

    @property
    def tracking_number(self) -> str:
        return f"#{self.referral_id}"


def notices_query(user: User) -> Select[Any]:
    """The notices delivered to the user's agency through the inbox, newest first."""
    return (
        select(OutboxMessage)
        .join(Referral, Referral.id == OutboxMessage.referral_id)
        .where(
            Referral.agency_id == (user.agency_id or 0),
            OutboxMessage.channel == "inbox",
            OutboxMessage.event.in_(tuple(NOTICE_KINDS)),
            OutboxMessage.status == "done",
        )
        .order_by(OutboxMessage.done_at.desc(), OutboxMessage.id.desc())
    )


def unread_count(user: User) -> int:
    stmt = notices_query(user).order_by(None).where(OutboxMessage.read_at.is_(None))
    return int(db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


def describe(message: OutboxMessage) -> Notice:
    """What the inbox shows of a notice: its own payload, labelled."""
    payload = message.payload or {}
    labels = share_labels()
    fields = [
        (labels.get(name, name), value) for name, value in sorted((payload.get("fields") or {}).items())
    ]
    return Notice(
        id=message.id,
        at=message.done_at or message.created_at,
        event=message.event or "",
        kind=NOTICE_KINDS.get(message.event or "", message.event),
        referral_id=message.referral_id,
        read_at=message.read_at,
        fields=fields if message.event == "client.corrected" else [],
    )


def open_notice(raw_id: Any, user: User) -> Notice:
    """One notice of the user's agency (404 otherwise); the first opening marks it read (audited)."""
    notice_id = parse_id(raw_id)
    message: OutboxMessage | None = (
        db.session.scalar(notices_query(user).where(OutboxMessage.id == notice_id))
        if notice_id is not None
        else None
    )
    if message is None:
        raise NotFound(_("No such notice."))
    if message.read_at is None:
        message.read_at = clock.now()
    audit.record(
        "referral.notice_read",
        "referral",
        message.referral_id,
        user=user,
        notice_id=message.id,
        notice_event=message.event,
    )
    return describe(message)

"""Notices about a client to the agencies that received the client's data, through their channels.

When a person's record is corrected or its erasure is asked for, each agency that received the data
in a referral is told (UU 27/2022 and Law 91/2025 ask the controller to pass corrections and erasure
on to recipients). A notice is an outbox row with an ``event`` and a ``payload``: the relay and the
delivery job carry it like a referral (same retries, same idempotency key, same signature), the
webhook body is ``{"event": <event>, **payload}`` and the e-mail says what changed, never the values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from srs.agencies.models import Agency
from srs.core import clock
from srs.extensions import db
from srs.referrals.models import OutboxMessage, Referral
from srs.referrals.services import _relay_after_commit, channels_for, shared_client_fields


def shared_field_names(referral: Referral) -> set[str]:
    """The client fields the referral's programme shares with its agency."""
    return {name for name, _label, _value in shared_client_fields(referral)}


def delivered_referrals(client_id: int) -> list[Referral]:
    """The client's referrals an agency received (delivered, whatever happened to them after)."""
    stmt = (
        select(Referral)
        .where(Referral.client_id == client_id, Referral.delivered_at.is_not(None))
        .order_by(Referral.id)
    )
    return list(db.session.scalars(stmt))


def notify_recipients(
    client_id: int, event: str, payload_for: Callable[[Referral], dict[str, Any] | None]
) -> list[OutboxMessage]:
    """One notice per channel of each agency that received the client in a referral.

    ``payload_for(referral)`` gives the notice's body, or None when this agency need not be told
    (it never received the fields concerned). Rows are added to the current transaction; the relay
    sends them once it commits.
    """
    now = clock.now()
    messages = []
    for referral in delivered_referrals(client_id):
        payload = payload_for(referral)
        if payload is None:
            continue
        agency = db.session.get_one(Agency, referral.agency_id)
        for channel in channels_for(agency):
            message = OutboxMessage(
                referral_id=referral.id, channel=channel, available_at=now, event=event, payload=payload
            )
            db.session.add(message)
            messages.append(message)
    if messages:
        db.session.flush()
        _relay_after_commit()
    return messages


EVENT_SUBJECTS = {
    "client.corrected": lambda ref: _(
        "[SRS] Correction to the record of a client in referral #%(id)d", id=ref
    ),
    "client.erasure_requested": lambda ref: _("[SRS] Erasure asked for a client in referral #%(id)d", id=ref),
}


def mail_text(message: OutboxMessage, referral: Referral) -> tuple[str, str]:
    """Subject and body of a notice e-mail, in the language in force: which fields, never their values."""
    subject_for = EVENT_SUBJECTS.get(message.event or "")
    subject = (
        subject_for(referral.id)
        if subject_for
        else _("[SRS] Notice about a client in referral #%(id)d", id=referral.id)
    )
    fields = ", ".join(sorted((message.payload or {}).get("fields", {}))) or "-"
    url = f"{current_app.config['BASE_URL']}/referrals/{referral.id}"
    text = _(
        "Notice %(event)s about the client of referral #%(id)d.\n"
        "Fields concerned: %(fields)s\n"
        "Update your copy of the record; open it in SRS: %(url)s\n",
        event=message.event,
        id=referral.id,
        fields=fields,
        url=url,
    )
    return subject, text

"""The data-subject request ledger: record a request with its legal clock, answer, extend, close.

An officer records a request from the person's profile (or the API); its deadlines come from the
country's legal periods (srs/privacy/legal.py). Open requests show on the officer's home page and the
supervisor's dashboard; the periodic job escalates the overdue ones; each is closed with an outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, func, or_, select

from srs.accounts.models import User
from srs.core import audit, clock
from srs.core.errors import Conflict, NotFound, ValidationFailed
from srs.core.ids import parse_id
from srs.core.iso import iso
from srs.extensions import db
from srs.privacy import legal
from srs.privacy.models import (
    REQUEST_CHANNELS,
    REQUEST_KINDS,
    REQUEST_OUTCOMES,
    DataSubjectRequest,
)
from srs.referrals import notices
from srs.referrals.models import Referral
from srs.referrals.services import shared_client_fields
from srs.regions.scope import region_id_condition
from srs.registry import services as registry
from srs.registry.models import Client

KIND_LABELS = {
    "access": _l("Access to their data (a copy)"),
    "portability": _l("Their data in a machine-readable file"),
    "correction": _l("Correction"),
    "erasure": _l("Erasure"),
    "objection": _l("Objection to an automated decision"),
    "restriction": _l("Restriction of processing"),
    "withdrawal": _l("Withdrawal of consent"),
}
CHANNEL_LABELS = {
    "in_person": _l("In person"),
    "phone": _l("Phone"),
    "letter": _l("Letter"),
    "email": _l("E-mail"),
}
OUTCOME_LABELS = {
    "fulfilled": _l("Fulfilled"),
    "partly_fulfilled": _l("Partly fulfilled"),
    "refused": _l("Refused (with the reason in the note)"),
    "withdrawn_by_person": _l("Withdrawn by the person"),
}
NOTE_MAX = 2000


def _choice(
    data: Mapping[str, Any], name: str, allowed: tuple[str, ...], errors: dict[str, list[str]]
) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        errors[name] = [_("Choose one of: %(values)s.", values=", ".join(allowed))]
        return ""
    if value.strip() not in allowed:
        errors[name] = [_("Unknown value; choose one of: %(values)s.", values=", ".join(allowed))]
    return value.strip()


def _note(data: Mapping[str, Any], errors: dict[str, list[str]], name: str = "note") -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        errors[name] = [_("Must be text.")]
        return None
    if len(value) > NOTE_MAX:
        errors[name] = [_("At most %(n)d characters.", n=NOTE_MAX)]
    return value.strip() or None


def processors_act(client: Client) -> bool:
    """True when agencies hold the person's data for a programme and would have to act too."""
    return (
        db.session.scalar(
            select(Referral.id)
            .where(Referral.client_id == client.id, Referral.delivered_at.is_not(None))
            .limit(1)
        )
        is not None
    )


def record_request(client: Client, data: Mapping[str, Any], user: User) -> DataSubjectRequest:
    """Record a request received from the person; its deadlines follow the country's legal periods.

    Raises ValidationFailed (422) for an unknown kind or channel, or when no period is set for the
    country (an admin adds the row; the request is not recorded with a made-up deadline).
    """
    if not isinstance(data, Mapping):
        raise ValidationFailed(_("The request must be an object."), {})
    errors: dict[str, list[str]] = {}
    kind = _choice(data, "kind", REQUEST_KINDS, errors)
    channel = _choice(data, "received_via", REQUEST_CHANNELS, errors)
    note = _note(data, errors)
    if errors:
        raise ValidationFailed(_("The request needs attention."), errors)
    now = clock.now()
    country = client.region.country
    deadlines = legal.clock_for(country, kind, now, processors=processors_act(client))
    if deadlines is None:
        raise ValidationFailed(
            _(
                "No legal period is set for this kind of request in %(country)s; an administrator adds one.",
                country=country,
            ),
            {"kind": [_("No legal period is set for this kind of request in this country.")]},
        )
    request = DataSubjectRequest(
        client_id=client.id,
        region_id=client.region_id,
        kind=kind,
        channel=channel,
        note=note,
        status="open",
        received_at=now,
        due_at=deadlines.due_at,
        complete_by=deadlines.complete_by,
        rule=deadlines.rule,
        legal_period_id=deadlines.period.id,
        created_by_id=user.id,
    )
    db.session.add(request)
    db.session.flush()
    audit.record(
        "privacy.request.create",
        "client",
        client.id,
        user=user,
        request_id=request.id,
        kind=kind,
        channel=channel,
        due_at=request.due_at.isoformat(),
    )
    return request


def scoped_requests(user: User) -> Select[DataSubjectRequest]:
    """Requests about clients in the user's area (admins: all)."""
    return select(DataSubjectRequest).where(region_id_condition(DataSubjectRequest.region_id, user))


def get_request(request_id: Any, user: User) -> DataSubjectRequest:
    """The request if it exists and its client lies in the user's area; NotFound otherwise (never 403)."""
    pk = parse_id(request_id)
    found = None
    if pk is not None:
        found = db.session.scalar(scoped_requests(user).where(DataSubjectRequest.id == pk))
    if found is None:
        raise NotFound(_("No request with this number in your area."))
    return found


def requests_of(client: Client) -> list[DataSubjectRequest]:
    """The client's requests, newest first."""
    stmt = (
        select(DataSubjectRequest)
        .where(DataSubjectRequest.client_id == client.id)
        .order_by(DataSubjectRequest.received_at.desc(), DataSubjectRequest.id.desc())
    )
    return list(db.session.scalars(stmt))


def _open_or_conflict(request: DataSubjectRequest) -> None:
    if request.status != "open":
        raise Conflict(_("This request is already closed."))


def mark_answered(request: DataSubjectRequest, user: User, note: str | None = None) -> DataSubjectRequest:
    """Record the first reply to the person (stops the answer clock; the completion clock runs on)."""
    _open_or_conflict(request)
    if request.answered_at is None:
        request.answered_at = clock.now()
        audit.record(
            "privacy.request.answer", "client", request.client_id, user=user, request_id=request.id, note=note
        )
    return request


def extend(request: DataSubjectRequest, data: Mapping[str, Any], user: User) -> DataSubjectRequest:
    """Extend the completion period once, by at most the law's extension, with a reason for the person."""
    _open_or_conflict(request)
    errors: dict[str, list[str]] = {}
    completion = legal.periods_for(request.client.region.country, request.kind).get("complete")
    limit = completion.extension_max if completion else None
    if request.complete_by is None or not limit:
        raise Conflict(_("The law sets no extension for this kind of request."))
    if request.extended_until is not None:
        raise Conflict(_("This request was extended once already; the law allows one extension."))
    days = data.get("days")
    if isinstance(days, str) and days.strip().isdigit():
        days = int(days.strip())
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= limit:
        errors["days"] = [_("A number of days from 1 to %(n)d.", n=limit)]
    reason = _note(data, errors, "reason")
    if not reason and "reason" not in errors:
        errors["reason"] = [_("Say why the extension is needed (the person is told).")]
    if errors:
        raise ValidationFailed(_("The extension needs attention."), errors)
    assert isinstance(days, int)  # checked above: a refusal raised otherwise
    request.extended_until = request.complete_by + timedelta(days=days)
    request.extension_reason = reason
    audit.record(
        "privacy.request.extend",
        "client",
        request.client_id,
        user=user,
        request_id=request.id,
        days=days,
        until=request.extended_until.isoformat(),
    )
    return request


def close_request(request: DataSubjectRequest, data: Mapping[str, Any], user: User) -> DataSubjectRequest:
    """Close the request with an outcome (and a note: the reason, when refused)."""
    if not isinstance(data, Mapping):
        raise ValidationFailed(_("The request must be an object."), {})
    _open_or_conflict(request)
    errors: dict[str, list[str]] = {}
    outcome = _choice(data, "outcome", REQUEST_OUTCOMES, errors)
    note = _note(data, errors)
    if outcome == "refused" and not note and "note" not in errors:
        errors["note"] = [_("Say why the request is refused (the person is told).")]
    if errors:
        raise ValidationFailed(_("The outcome needs attention."), errors)
    now = clock.now()
    request.status = "closed"
    request.outcome = outcome
    request.outcome_note = note
    request.closed_at = now
    request.closed_by_id = user.id
    request.answered_at = request.answered_at or now
    audit.record(
        "privacy.request.close",
        "client",
        request.client_id,
        user=user,
        request_id=request.id,
        outcome=outcome,
        late=now > request.deadline,
    )
    return request


def link_service(request: DataSubjectRequest, kind: str, object_id: Any) -> None:
    """Remember what served the request (the export, the corrected record, the erasure, ...)."""
    request.served_by_kind = kind
    request.served_by_id = None if object_id is None else int(object_id)


# ---------------------------------------------------------------- deadlines


def overdue_condition(now: datetime | None = None) -> Any:
    """SQL: open requests whose next legal deadline has passed (see DataSubjectRequest.deadline)."""
    now = now or clock.now()
    r = DataSubjectRequest
    answer_late = and_(r.answered_at.is_(None), r.due_at < now)
    one_period_late = and_(r.complete_by.is_(None), func.coalesce(r.extended_until, r.due_at) < now)
    completion_late = and_(r.complete_by.is_not(None), func.coalesce(r.extended_until, r.complete_by) < now)
    return and_(r.status == "open", or_(answer_late, one_period_late, completion_late))


def is_overdue(request: DataSubjectRequest, now: datetime | None = None) -> bool:
    return request.status == "open" and request.deadline < (now or clock.now())


def open_for(user: User, limit: int = 20) -> list[DataSubjectRequest]:
    """Open requests in the user's area, the nearest deadline first (the officer's home page)."""
    stmt = (
        scoped_requests(user)
        .where(DataSubjectRequest.status == "open")
        .order_by(DataSubjectRequest.due_at, DataSubjectRequest.id)
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def counts_for(user: User) -> dict[str, int]:
    """Open, overdue and escalated requests in the user's area (the supervisor's dashboard)."""
    base = scoped_requests(user).where(DataSubjectRequest.status == "open").order_by(None)

    def count(stmt: Any) -> int:
        return db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0

    return {
        "open": count(base),
        "overdue": count(base.where(overdue_condition())),
        "escalated": count(base.where(DataSubjectRequest.escalated_at.is_not(None))),
    }


def escalate_overdue(now: datetime | None = None) -> list[int]:
    """Mark open requests past their legal deadline as escalated, once each, with an audit entry.

    The supervisor's dashboard lists them (as overdue complaints and referrals are); the entry keeps
    when the law's clock ran out.
    """
    now = now or clock.now()
    stmt = (
        select(DataSubjectRequest)
        .where(overdue_condition(now), DataSubjectRequest.escalated_at.is_(None))
        .limit(500)
    )
    if db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    overdue = list(db.session.scalars(stmt))
    for request in overdue:
        request.escalated_at = now
        audit.record(
            "privacy.request.escalate",
            "client",
            request.client_id,
            user=None,
            request_id=request.id,
            kind=request.kind,
            deadline=request.deadline.isoformat(),
        )
    return [r.id for r in overdue]


def to_dict(request: DataSubjectRequest) -> dict[str, Any]:
    """The API shape of a request (API.md)."""
    return {
        "id": request.id,
        "client_id": request.client_id,
        "kind": request.kind,
        "received_via": request.channel,
        "note": request.note,
        "status": request.status,
        "received_at": iso(request.received_at),
        "due_at": iso(request.due_at),
        "complete_by": iso(request.complete_by),
        "extended_until": iso(request.extended_until),
        "answered_at": iso(request.answered_at),
        "overdue": is_overdue(request),
        "escalated_at": iso(request.escalated_at),
        "rule": request.rule,
        "outcome": request.outcome,
        "outcome_note": request.outcome_note,
        "closed_at": iso(request.closed_at),
        "served_by": {"kind": request.served_by_kind, "id": request.served_by_id}
        if request.served_by_kind
        else None,
    }


# ---------------------------------------------------------------- correction


def correction_request(request_id: Any, client: Client, user: User) -> DataSubjectRequest:
    """The open correction request about ``client`` that an edit serves (422 when it is not one)."""
    found = get_request(request_id, user)
    if found.client_id != client.id or found.kind != "correction":
        raise ValidationFailed(
            _("This request is not a correction request about this client."),
            {"request_id": [_("Choose an open correction request of this client.")]},
        )
    _open_or_conflict(found)
    return found


def correct(request: DataSubjectRequest, data: Mapping[str, Any], user: User, version: Any) -> list[str]:
    """Apply a correction through the normal edit, link it to the request, tell the agencies.

    The change is the registry's own (validation, version check, audit of every field); then each
    agency that received one of the changed fields in a referral gets a ``client.corrected`` notice
    through its channel, with the new values of only the fields it receives. Returns the changed fields.
    """
    _open_or_conflict(request)
    client = request.client
    before = registry.client_input(client)
    registry.update_client(client, data, user, version)
    after = registry.client_input(client)
    changed = sorted(name for name in after if after[name] != before[name])
    now = clock.now()
    # The notice names fields as the agency receives them ("region", not "region_code").
    shared_names = {name.removesuffix("_code") for name in changed}

    def payload_for(referral: Referral) -> dict[str, Any] | None:
        values = {
            name: iso(value) if hasattr(value, "isoformat") else value
            for name, _label, value in shared_client_fields(referral)
            if name in shared_names
        }
        if not values:
            return None
        return {
            "client_id": client.id,
            "referral_id": referral.id,
            "request_id": request.id,
            "corrected_at": iso(now),
            "fields": values,
        }

    sent = notices.notify_recipients(client.id, "client.corrected", payload_for) if changed else []
    link_service(request, "client", client.id)
    if request.answered_at is None:
        request.answered_at = now
    audit.record(
        "privacy.request.correct",
        "client",
        client.id,
        user=user,
        request_id=request.id,
        fields=changed,
        agencies_told=sorted({m.referral_id for m in sent}),
    )
    return changed

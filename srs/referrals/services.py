"""Referrals: creation with consent and deadlines, the state machine, scoping, the officer's lists.

Services never commit: the request (or the job) commits at its edge. A referral, its first event and
its outbox rows are added to the same transaction, so either all are saved or none is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.util import identity_key

from srs.accounts.models import User
from srs.agencies.models import Agency
from srs.core import audit, clock
from srs.core.errors import Conflict, ValidationFailed
from srs.core.ids import parse_id
from srs.core.iso import iso
from srs.core.lengths import check_long_text
from srs.core.queue import enqueue_after_commit
from srs.core.workdays import due_date, end_of_day
from srs.extensions import db
from srs.programmes import enrolments
from srs.programmes.estimates import estimate_as_dict, shown_estimate
from srs.programmes.models import Programme, Screening
from srs.referrals import overdue as overdue_measures
from srs.referrals import policies
from srs.referrals.models import OPEN_STATUSES, OutboxMessage, Referral, ReferralEvent
from srs.regions.scope import load_in_scope, region_id_condition, sees_everything
from srs.registry import consent
from srs.registry.fields import field_by_share_key
from srs.registry.models import Client

DECLINE_REASONS: dict[str, Any] = {
    "not_eligible": _l("Not eligible on checking"),
    "already_enrolled": _l("Already enrolled"),
    "documents_missing": _l("Documents missing"),
    "unreachable": _l("Client could not be reached"),
    "client_refused": _l("Client refused"),
    "quota_full": _l("Programme quota full"),
    "other": _l("Other"),
}
OUTCOMES: dict[str, Any] = {"successful": _l("Successful"), "unsuccessful": _l("Unsuccessful")}
STATUS_LABELS: dict[str, Any] = {
    "pending": _l("Pending"),
    "delivered": _l("Delivered"),
    "accepted": _l("Accepted"),
    "declined": _l("Declined"),
    "completed": _l("Completed"),
    "cancelled": _l("Cancelled"),
}
# Who may move a referral from which status to which (the state machine of API.md).
# action: the statuses it may start from (who may take it: policies.can_take_action)
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "accept": ("delivered",),
    "decline": ("delivered",),
    "complete": ("accepted",),
    "cancel": ("pending", "delivered", "accepted"),
}
TARGET = {"accept": "accepted", "decline": "declined", "complete": "completed", "cancel": "cancelled"}
# The client fields an agency sees when its programme lists none.
DEFAULT_SHARED_FIELDS = ["full_name", "sex", "date_of_birth", "phone", "region", "address"]


# ---------------------------------------------------------------- scope


def scope_condition(user: User) -> ColumnElement[bool]:
    """Referrals ``user`` may see: agency staff their agency's delivered ones; officers their regions."""
    if sees_everything(user):
        return true()
    if policies.works_for_agency(user):
        if user.agency_id is None:
            return false()
        return and_(Referral.agency_id == user.agency_id, Referral.delivered_at.is_not(None))
    return region_id_condition(Referral.region_id, user)


def load_referral(referral_id: Any, user: User) -> Referral:
    """The referral if it exists and ``user`` may see it; NotFound (404) otherwise."""
    return load_in_scope(Referral, referral_id, user, scope=scope_condition(user))


def list_query(
    user: User,
    status: str | None = None,
    programme_code: str | None = None,
    attention: bool = False,
    overdue: bool | str | None = False,
) -> Any:
    """Referrals in ``user``'s scope, newest first, with the optional filters.

    ``overdue``: True or "any" for overdue of either kind, a kind (``overdue.KINDS``) for that one.
    """
    stmt = select(Referral).where(scope_condition(user))
    if status:
        stmt = stmt.where(Referral.status == status)
    if programme_code:
        stmt = stmt.join(Programme, Programme.id == Referral.programme_id).where(
            Programme.code == programme_code
        )
    if attention:
        stmt = stmt.where(attention_condition())
    if overdue:
        kind = overdue if isinstance(overdue, str) and overdue in overdue_measures.KINDS else None
        stmt = stmt.where(overdue_measures.referral_condition(kind))
    return stmt.order_by(Referral.created_at.desc(), Referral.id.desc())


def attention_condition() -> ColumnElement[bool]:
    """What an officer should look at: declined, delivery failed, overdue (either kind)."""
    return or_(
        Referral.status == "declined",
        Referral.delivery_failed.is_(True),
        overdue_measures.referral_condition(),
    )


def overdue_kind(referral: Referral) -> str | None:
    """The overdue measure ``referral`` counts in now (None: not overdue)."""
    return overdue_measures.kind_of_referral(referral)


def is_overdue(referral: Referral) -> bool:
    """Overdue of either kind now."""
    return overdue_kind(referral) is not None


# ---------------------------------------------------------------- creation


@dataclass
class NewReferrals:
    client: Client
    programme_ids: list[int]
    note: str | None = None
    screening_id: int | None = None
    consent_confirmed: bool = False
    consent_override_reason: str | None = None


def channels_for(agency: Agency) -> list[str]:
    """The inbox always; plus the agency's own channel (webhook or e-mail) when it has one."""
    channels = ["inbox"]
    if agency.channel == "webhook" and agency.webhook_url:
        channels.append("webhook")
    elif agency.channel == "email":
        channels.append("email")
    return channels


def _check_consent(
    client: Client, programmes: list[Programme], user: User, confirmed: bool, override_reason: str | None
) -> str | None:
    """None when the client's consent covers every programme's agency; the override reason when a
    supervisor refers without it. ValidationFailed (422) otherwise, saying what is missing."""
    override = (override_reason or "").strip() or None
    now = consent.state(client)
    uncovered = [p for p in programmes if not now.covers(p.agency.code, "referral")]
    if not uncovered:
        if not confirmed:
            raise ValidationFailed(
                _("Please confirm the client agreed to share their data with the agency."),
                {"consent": [_("Confirm the client's consent to share.")]},
            )
        return None
    if override and policies.can_override_consent(user):
        return override
    if override:
        raise ValidationFailed(
            _("Only a supervisor may refer without the client's consent."),
            {"consent_override_reason": [_("Only a supervisor may override missing consent.")]},
        )
    if now.withdrawn:
        message = _(
            "The client withdrew their consent on %(date)s: nothing can be shared with an agency until "
            "consent is recorded again.",
            date=format_date(now.current.withdrawn_at, "medium") if now.current else "",
        )
        raise ValidationFailed(message, {"consent": [message]})
    if now.given:
        names = ", ".join(p.agency.name for p in uncovered)
        message = _(
            "The client's consent does not cover sharing with %(agencies)s. Record a consent that does, "
            "or ask a supervisor.",
            agencies=names,
        )
        raise ValidationFailed(message, {"consent": [message]})
    raise ValidationFailed(
        _("The client has not consented to share their data. Record consent first, or ask a supervisor."),
        {"consent": [_("No consent to share is recorded for this client.")]},
    )


def create_referrals(data: NewReferrals, user: User) -> list[Referral]:
    """One referral per chosen programme, each with its event and outbox rows, in this transaction."""
    client = data.client
    if client.anonymised_at is not None or client.restricted_at is not None:
        # A restricted or erased record is shared with no agency (srs.privacy.restriction).
        raise Conflict(_("This record is restricted or erased: it cannot be referred."))
    if not data.programme_ids:
        raise ValidationFailed(
            _("Choose at least one programme."), {"programmes": [_("Choose at least one programme.")]}
        )
    note = (data.note or "").strip() or None
    if note and len(note) > 2000:
        raise ValidationFailed(_("The note is too long."), {"note": [_("At most 2000 characters.")]})
    too_long: dict[str, list[str]] = {}
    if not check_long_text(data.consent_override_reason, "consent_override_reason", too_long, 1000):
        raise ValidationFailed(_("Please correct the marked fields."), too_long)
    screening = None
    if data.screening_id is not None:
        # An id past every id column names no screening (and would not bind on SQLite).
        screening_pk = parse_id(data.screening_id)
        screening = db.session.get(Screening, screening_pk) if screening_pk is not None else None
        if screening is None or screening.client_id != client.id:
            raise ValidationFailed(
                _("The screening does not belong to this client."),
                {"screening_id": [_("Unknown screening for this client.")]},
            )
    programmes = []
    for pid in dict.fromkeys(data.programme_ids):
        programme_pk = parse_id(pid)
        programme = db.session.get(Programme, programme_pk) if programme_pk is not None else None
        if programme is None or not programme.active or programme.country != client.region.country:
            raise ValidationFailed(
                _("Unknown programme."), {"programmes": [_("Unknown or inactive programme.")]}
            )
        programmes.append(programme)
    override = _check_consent(client, programmes, user, data.consent_confirmed, data.consent_override_reason)
    referrals = []
    for programme in programmes:
        open_one = db.session.scalar(
            select(Referral.id).where(
                Referral.client_id == client.id,
                Referral.programme_id == programme.id,
                Referral.status.in_(OPEN_STATUSES),
            )
        )
        if open_one is not None:
            raise Conflict(
                _(
                    "%(name)s already has an open referral to %(programme)s.",
                    name=client.full_name,
                    programme=programme.name_in("en"),
                ),
                {"programme_code": [_("An open referral to this programme exists.")]},
            )
        referrals.append(_add_referral(client, programme, screening, note, override, user))
    db.session.flush()
    for referral in referrals:
        audit.record(
            "referral.create",
            "referral",
            referral.id,
            client_id=client.id,
            programme=referral_programme(referral).code,
            consent_override=bool(override),
            consent_override_reason=override,
        )
    _relay_after_commit()
    return referrals


def _add_referral(
    client: Client,
    programme: Programme,
    screening: Screening | None,
    note: str | None,
    override: str | None,
    user: User,
) -> Referral:
    agency = programme.agency
    now = clock.now()
    timezone = current_app.config["BABEL_DEFAULT_TIMEZONE"]
    local_day = now.astimezone(end_of_day(now.date(), timezone).tzinfo).date()
    due = end_of_day(due_date(agency.country, local_day, agency.response_days), timezone)
    referral = Referral(
        client_id=client.id,
        programme_id=programme.id,
        agency_id=agency.id,
        screening_id=screening.id if screening else None,
        region_id=client.region_id,
        status="pending",
        note=note,
        consent_override_reason=override,
        created_by_id=user.id,
        created_at=now,
        due_at=due,
        estimate=shown_estimate(client.id, programme.id, screening.id if screening else None),
    )
    referral.events.append(ReferralEvent(status="pending", at=now, by_id=user.id, note=note))
    db.session.add(referral)
    db.session.flush()
    for channel in channels_for(agency):
        db.session.add(OutboxMessage(referral_id=referral.id, channel=channel, available_at=now))
    return referral


def _relay_after_commit() -> None:
    """Have the relay put the new outbox rows on the queue once this transaction commits."""
    # Imported here: the jobs import this module. The job is named by its function, not a string.
    from srs.referrals.jobs import relay

    enqueue_after_commit(relay, result_ttl=60, unless_waiting=True)


def referral_programme(referral: Referral) -> Programme:
    return db.session.get_one(Programme, referral.programme_id)


# ---------------------------------------------------------------- state machine


@dataclass
class Action:
    name: str  # accept | decline | complete | cancel
    note: str | None = None
    reason: str | None = None
    outcome: str | None = None
    version: int | None = None


def allowed_actions(referral: Referral, user: User) -> list[str]:
    """The actions ``user`` may take on ``referral`` now (for buttons)."""
    return [
        name
        for name, sources in TRANSITIONS.items()
        if referral.status in sources and policies.can_take_action(user, name, referral)
    ]


def apply_action(referral: Referral, action: Action, user: User) -> Referral:
    """Move ``referral`` along the state machine; 409 for an illegal change or a stale version.

    The update is ``UPDATE ... WHERE version = :read`` (SQLAlchemy's version counter), so when two
    people act at once exactly one wins and the other gets a Conflict.
    """
    if action.name not in TRANSITIONS:
        raise Conflict(_("Unknown action."))
    sources = TRANSITIONS[action.name]
    target = TARGET[action.name]
    if not policies.can_take_action(user, action.name, referral):
        raise Conflict(_("Your role may not do this."))
    if action.version is not None and action.version != referral.version:
        raise Conflict(
            _(
                "Someone else changed this referral meanwhile (it is now %(status)s). Reload and try again.",
                status=STATUS_LABELS[referral.status],
            )
        )
    if referral.status not in sources:
        raise Conflict(
            _(
                "A referral that is %(status)s cannot be %(target)s.",
                status=STATUS_LABELS[referral.status],
                target=STATUS_LABELS[target],
            )
        )
    note = (action.note or "").strip() or None
    errors: dict[str, list[str]] = {}
    if note and len(note) > 2000:
        errors["note"] = [_("At most 2000 characters.")]
    if action.name == "decline":
        if action.reason not in DECLINE_REASONS:
            errors["reason"] = [_("Choose a reason from the list.")]
        if action.reason == "other" and not note:
            errors["note"] = [_("Explain the reason in the note.")]
    if action.name == "complete" and action.outcome not in OUTCOMES:
        errors["outcome"] = [_("Choose successful or unsuccessful.")]
    if action.name == "cancel" and not (action.reason or "").strip():
        errors["reason"] = [_("Give a reason for cancelling.")]
    elif action.name == "cancel":
        check_long_text(action.reason, "reason", errors, 500)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)

    with db.session.no_autoflush:
        now = clock.now()
        referral.status = target
        event_note = note
        if action.name == "decline":
            referral.decline_reason = action.reason
            referral.decided_at = now
            assert action.reason is not None  # checked against DECLINE_REASONS above
            event_note = f"{DECLINE_REASONS[action.reason]}" + (f": {note}" if note else "")
        elif action.name == "accept":
            referral.decided_at = now
        elif action.name == "complete":
            referral.outcome = action.outcome
            referral.closed_at = now
            assert action.outcome is not None  # checked against OUTCOMES above
            event_note = f"{OUTCOMES[action.outcome]}" + (f": {note}" if note else "")
        elif action.name == "cancel":
            referral.closed_at = now
            reason = (action.reason or "").strip()
            referral.cancel_reason = reason
            event_note = reason + (f": {note}" if note else "")
            _stop_deliveries(referral)
        if action.name == "decline":
            referral.closed_at = now
        referral.events.append(ReferralEvent(status=target, at=now, by_id=user.id, note=event_note))
    try:
        db.session.flush()
    except StaleDataError as exc:
        db.session.rollback()
        raise Conflict(
            _("Someone else changed this referral at the same moment. Reload and try again.")
        ) from exc
    audit.record(f"referral.{action.name}", "referral", referral.id, status=target)
    if action.name == "complete" and action.outcome == "successful":
        # The person is now covered by the programme (counted in the coverage figures).
        enrolments.enrol_from_referral(referral, user)
    return referral


def _stop_deliveries(referral: Referral) -> None:
    """A cancelled referral needs no more deliveries: those not yet sent are cancelled.

    A row already on the queue ('enqueued') is cancelled too; its job then finds nothing to do.
    """
    for message in db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.referral_id == referral.id,
            OutboxMessage.channel.in_(("inbox", "webhook", "email", "escalation")),
            OutboxMessage.status.in_(("pending", "enqueued", "failed")),
        )
    ):
        message.status = "cancelled"
    referral.delivery_failed = False


# ---------------------------------------------------------------- consent withdrawn


CONSENT_WITHDRAWN_REASON = "consent_withdrawn"


def on_consent_withdrawn(client: Client, record: Any, user: User) -> list[Referral]:
    """The hook for a withdrawal (srs.registry.consent.CONSENT_WITHDRAWN), in its transaction.

    Every open referral of the client is cancelled with reason ``consent_withdrawn``, its deliveries
    not yet sent are stopped, and each agency with a channel of its own (webhook, e-mail) is sent a
    cancellation notice that carries no personal data; the SRS inbox shows the referral cancelled.
    """
    now = clock.now()
    cancelled = list(
        db.session.scalars(
            select(Referral)
            .where(Referral.client_id == client.id, Referral.status.in_(OPEN_STATUSES))
            .order_by(Referral.id)
        )
    )
    note = _("The client withdrew their consent to share their data.")
    for referral in cancelled:
        with db.session.no_autoflush:
            referral.status = "cancelled"
            referral.closed_at = now
            referral.cancel_reason = CONSENT_WITHDRAWN_REASON
            _stop_deliveries(referral)
            referral.events.append(
                ReferralEvent(status="cancelled", at=now, by_id=getattr(user, "id", None), note=note)
            )
        agency = db.session.get(Agency, referral.agency_id)
        if agency is not None and any(c != "inbox" for c in channels_for(agency)):
            db.session.add(OutboxMessage(referral_id=referral.id, channel="cancellation", available_at=now))
    db.session.flush()
    for referral in cancelled:
        audit.record(
            "referral.cancel",
            "referral",
            referral.id,
            user=user,
            status="cancelled",
            reason=CONSENT_WITHDRAWN_REASON,
            client_id=client.id,
            consent_record_id=record.id,
        )
    if cancelled:
        _relay_after_commit()
    return cancelled


def shares_client_data(referral: Referral, consent_state: consent.ConsentState | None = None) -> bool:
    """May the agency see the client's data on this referral now?

    Yes while the client's current consent covers the agency for referral; or, without it, when a
    supervisor's override made the referral after the last withdrawal (an override never outlives a
    withdrawal that came after it).
    """
    now = consent_state
    if now is None:
        client = db.session.get_one(Client, referral.client_id)
        now = consent.state(client)
    agency = db.session.get(Agency, referral.agency_id)
    if now.covers(agency.code if agency else None, "referral"):
        return True
    if referral.consent_override_reason:
        return now.last_withdrawn_at is None or referral.created_at >= now.last_withdrawn_at
    return False


def retry_delivery(referral: Referral, user: User) -> int:
    """Put a referral's failed deliveries back in the outbox (one new delivery each; same key)."""
    messages = list(
        db.session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.referral_id == referral.id, OutboxMessage.status == "failed"
            )
        )
    )
    if not messages:
        raise Conflict(_("No failed delivery to retry for this referral."))
    now = clock.now()
    for message in messages:
        message.status = "pending"
        message.attempts = 0
        message.available_at = now
        message.last_error = None
    referral.delivery_failed = False
    db.session.flush()
    audit.record("referral.retry_delivery", "referral", referral.id, messages=len(messages))
    _relay_after_commit()
    return len(messages)


# ---------------------------------------------------------------- reading


def history(referral: Referral, *, withhold_notes: bool = False) -> list[dict[str, Any]]:
    """The referral's steps; ``withhold_notes``: without the notes (they may speak of the person),
    but for the cancellation's, which says why (for an agency the client's consent no longer covers)."""
    ids = {e.by_id for e in referral.events if e.by_id}
    # The users already loaded (the one who made the step, usually) cost no query.
    loaded = (db.session.identity_map.get(identity_key(User, i)) for i in ids)
    users = {u.id: u.username for u in loaded if isinstance(u, User)}
    if ids - users.keys():
        users.update(
            (u.id, u.username)
            for u in db.session.scalars(select(User).where(User.id.in_(ids - users.keys())))
        )
    return [
        {
            "status": e.status,
            "at": e.at,
            "by": users.get(e.by_id) if e.by_id else "system",
            "note": None if withhold_notes and e.status != "cancelled" else e.note,
        }
        for e in referral.events
    ]


def shared_client_fields(
    referral: Referral, consent_state: consent.ConsentState | None = None
) -> list[tuple[str, Any, Any]]:
    """(field, label, value) of only the client fields the programme shares with its agency.

    Nothing when the client's consent does not (or no longer) let the agency see them.
    """
    if not shares_client_data(referral, consent_state):
        return []
    programme = referral_programme(referral)
    client = db.session.get_one(Client, referral.client_id)
    rows = []
    for name in programme.shared_fields or DEFAULT_SHARED_FIELDS:
        field = field_by_share_key(name)  # the client fields' table: label and where the value is
        if field is None:
            continue  # a name an older catalogue kept, no longer a field
        value = client.region.name if field.type == "region" else field.read(client)
        rows.append((name, field.share_label, value))
    return rows


def to_dict(referral: Referral, with_history: bool = True) -> dict[str, Any]:
    """The API shape of a referral (schema ``Referral`` of /api/v1/openapi.json)."""
    programme = referral_programme(referral)
    data: dict[str, Any] = {
        "id": referral.id,
        "client_id": referral.client_id,
        "programme_code": programme.code,
        "agency_code": programme.agency.code,
        "status": referral.status,
        "created_at": iso(referral.created_at),
        "delivered_at": iso(referral.delivered_at),
        "due_at": iso(referral.due_at),
        "overdue": is_overdue(referral),
        "overdue_kind": overdue_kind(referral),
        "escalated_at": iso(referral.escalated_at),
        "delivery_failed": referral.delivery_failed,
        "decline_reason": referral.decline_reason,
        "cancel_reason": referral.cancel_reason,
        "consent_override_reason": referral.consent_override_reason,
        "outcome": referral.outcome,
        "note": referral.note,
        "estimate": estimate_as_dict(referral.estimate) if referral.estimate else None,
        "version": referral.version,
    }
    if with_history:
        data["history"] = [{**h, "at": iso(h["at"])} for h in history(referral)]
    return data


def for_agency(
    referral: Referral, data: dict[str, Any], consent_state: consent.ConsentState | None = None
) -> dict[str, Any]:
    """``to_dict``'s shape as agency staff get it: ``client`` the shared fields, or null (with the
    officer's note) when the client's consent does not cover the agency (API.md "Consent")."""
    shared = shares_client_data(referral, consent_state)
    if shared:
        data["client"] = {
            name: (value.isoformat() if hasattr(value, "isoformat") else value)
            for name, _label, value in shared_client_fields(referral, consent_state)
        }
    else:
        data["client"] = data["note"] = data["estimate"] = None  # the estimate tells income and poverty
        if "history" in data:
            data["history"] = [{**h, "at": iso(h["at"])} for h in history(referral, withhold_notes=True)]
    data["client_withheld"] = not shared
    return data


def consent_states(referrals: list[Referral]) -> dict[int, consent.ConsentState]:
    """The consent now of the clients of ``referrals``, by client id (one query for a page)."""
    return consent.states(r.client_id for r in referrals)


def mark_delivered(referral: Referral, now: datetime | None = None) -> bool:
    """Pending -> delivered (the agency's inbox shows it); False when it is no longer pending."""
    if referral.status != "pending":
        return False
    when = now or clock.now()
    referral.status = "delivered"
    referral.delivered_at = when
    # Added by id, not through referral.events, which would load the whole history first.
    db.session.add(ReferralEvent(referral_id=referral.id, status="delivered", at=when, by_id=None, note=None))
    return True


def escalation_due(now: datetime | None = None) -> Any:
    """Referrals waiting for a decision past due, not yet escalated (the escalation asks the agency
    for its decision; an accepted referral not completed is shown, not escalated)."""
    return select(Referral).where(
        overdue_measures.referral_condition(overdue_measures.AWAITING_DECISION, now),
        Referral.escalated_at.is_(None),
    )

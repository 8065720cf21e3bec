"""SRS as a DCI client of the civil registry (CRVS API v1.0.0): births and deaths become officers' tasks.

SRS subscribes to the civil registry's LiveBirth and Death events (``registry/subscribe``, answered
by ``on-subscribe``); each ``notify`` about a registered person (the deceased, or a newborn's
parent, matched by NIK or Vietnamese ID) becomes a CivilEvent for the officers of that person's
area: update the household, close open referrals. Events about people SRS has not registered are
acknowledged and dropped; nothing of them is kept. One event is one task, however often the
registry repeats its notification (unique per registry and reference).
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from srs.accounts.models import User
from srs.core import audit, clock
from srs.core.errors import Conflict, ValidationFailed
from srs.core.lengths import check_length
from srs.dci import envelope as env
from srs.dci import transport
from srs.dci.lookup import callback_base, day_of, json_object, request_header, verify_signature
from srs.dci.models import CivilEvent, NationalRegistry
from srs.extensions import db
from srs.regions.scope import region_id_condition
from srs.registry.models import Client

CIVIL_REG_TYPE = "ns:org:RegistryType:Civil"
EVENT_TYPES = {"LiveBirth": "birth", "Death": "death"}


def _event_type(name: str) -> str:
    return f"spdci-common:RegistryEventType:{name}"


def subscribe(registry: NationalRegistry, user: User) -> NationalRegistry:
    """Ask the civil registry for LiveBirth and Death notifications (one subscribe message, two requests).

    The registry acknowledges at once and answers at ``on-subscribe``; until then the subscription
    is ``requested``. An unreachable registry leaves it ``failed`` with the reason, to retry.
    """
    if registry.kind != "crvs":
        raise ValidationFailed(_("Only a civil registry is subscribed to."), {})
    transaction_id = f"srs-sub-{env.new_id()}"
    items = [
        {
            "reference_id": f"{transaction_id}-{name}",
            "timestamp": env.timestamp(),
            "subscribe_criteria": {
                "version": env.VERSION,
                "reg_type": CIVIL_REG_TYPE,
                "reg_event_type": _event_type(name),
                "filter_type": "predicate",
                # Every event of the country: SRS matches the people it registered itself, so the
                # registry never learns who SRS holds.
                "filter": [
                    {
                        "seq_num": 1,
                        "expression1": {
                            "attribute_name": "country_code",
                            "operator": "eq",
                            "attribute_value": registry.country,
                        },
                    }
                ],
                "notify_record_type": "spdci-extensions-dci:Person",
            },
        }
        for name in EVENT_TYPES
    ]
    header = request_header("subscribe", registry, callback_base(registry) + "on-subscribe")
    header["total_count"] = len(items)
    message = {"transaction_id": transaction_id, "subscribe_request": items}
    url = registry.base_url.rstrip("/") + "/registry/subscribe"
    try:
        reply = transport.exchange(
            url, env.envelope(header, message), registry.timeout_seconds, registry.auth_token
        )
    except transport.CallbackError as exc:
        registry.subscription_status = "failed"
        audit.record(
            "dci.crvs_subscribe", "dci_registry", registry.id, user=user, status="failed", error=str(exc)
        )
        return registry
    ack = reply.get("message") if isinstance(reply, dict) else None
    ok = isinstance(ack, dict) and ack.get("ack_status") == "ACK"
    registry.subscription_status = "requested" if ok else "failed"
    registry.subscription_code = None
    audit.record(
        "dci.crvs_subscribe", "dci_registry", registry.id, user=user, status=registry.subscription_status
    )
    return registry


def receive_on_subscribe(registry: NationalRegistry, body: Any) -> NationalRegistry:
    """The registry's answer to the subscription: its codes, or why it refused."""
    message = body.get("message") if isinstance(body, dict) else None
    answers = message.get("subscribe_response") if isinstance(message, dict) else None
    if not isinstance(answers, list):
        raise ValidationFailed("message.subscribe_response must be a list.", {})
    codes = [
        str(s.get("code"))
        for a in answers
        if isinstance(a, dict) and a.get("status") == "succ"
        for s in a.get("subscriptions") or []
        if isinstance(s, dict) and s.get("code")
    ]
    registry.subscription_code = ",".join(codes)[:120] or None
    registry.subscription_status = "subscribed" if codes else "failed"
    registry.subscribed_at = clock.now() if codes else None
    audit.record(
        "dci.crvs_subscribed", "dci_registry", registry.id, user=None, status=registry.subscription_status
    )
    return registry


def _identifier_values(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [str(i["identifier_value"]) for i in items if isinstance(i, dict) and i.get("identifier_value")]


def _registered(numbers: list[str]) -> Client | None:
    if not numbers:
        return None
    return db.session.scalar(
        select(Client)
        .where(
            Client.id_number.in_(numbers),
            Client.id_type.in_(("nik", "vn_pid")),
            Client.merged_into_id.is_(None),
        )
        .order_by(Client.id)
    )


def _kind(data: dict[str, Any]) -> str | None:
    name = str(data.get("reg_event_type") or "").rsplit(":", 1)[-1]
    return EVENT_TYPES.get(name)


def receive_notify(registry: NationalRegistry, body: Any) -> list[CivilEvent]:
    """A ``notify`` from the civil registry: a task per event about a person SRS registered.

    Raises ValidationFailed (answered as a NACK) when the message is not a notify message. Events
    SRS already holds (same reference) are not made twice.
    """
    problem = verify_signature(registry, body)
    if problem:
        raise ValidationFailed(f"The message's {problem}.", {})
    message = body.get("message") if isinstance(body, dict) else None
    events = message.get("notify_event") if isinstance(message, dict) else None
    if not isinstance(events, list):
        raise ValidationFailed("message.notify_event must be a list.", {})
    made: list[CivilEvent] = []
    for event in events:
        if not isinstance(event, dict) or not isinstance(event.get("data"), dict):
            continue
        data = event["data"]
        kind = _kind(data)
        records = data.get("reg_records")
        person = records[0] if isinstance(records, list) and records else records
        if kind is None or not isinstance(person, dict):
            continue
        key = str(event.get("reference_id") or "")[:200]
        if not key or db.session.scalar(
            select(CivilEvent.id).where(CivilEvent.registry_id == registry.id, CivilEvent.event_key == key)
        ):
            continue
        if kind == "death":
            client = _registered(_identifier_values(person.get("identifier")))
            event_date = person.get("death_date")
        else:
            parents = _identifier_values(person.get("parent1_identifier")) + _identifier_values(
                person.get("parent2_identifier")
            )
            client = _registered(parents)
            event_date = person.get("birth_date")
        if client is None:
            continue  # not a person SRS registered: nothing is kept
        name = json_object(person.get("name"))
        details = {
            "name": " ".join(str(name[k]) for k in ("given_name", "second_name", "surname") if name.get(k))[
                :200
            ],
            "sex": person.get("sex") if person.get("sex") in ("male", "female") else None,
        }
        row = CivilEvent(
            registry_id=registry.id,
            event_key=key,
            kind=kind,
            client_id=client.id,
            event_date=day_of(event_date),
            details=details,
        )
        db.session.add(row)
        db.session.flush()
        audit.record("dci.civil_event", "client", client.id, user=None, registry=registry.name, kind=kind)
        made.append(row)
    return made


def open_events_query(user: User) -> Any:
    """Open civil events in the user's area, oldest first."""
    return in_scope(user).where(CivilEvent.done_at.is_(None)).order_by(CivilEvent.received_at, CivilEvent.id)


def done_events_query(user: User) -> Any:
    """Settled civil events in the user's area, latest first."""
    return in_scope(user).where(CivilEvent.done_at.is_not(None)).order_by(CivilEvent.done_at.desc())


def in_scope(user: User) -> Any:
    """Civil events about clients in the user's area: scope follows the client's current region."""
    return (
        select(CivilEvent)
        .join(Client, Client.id == CivilEvent.client_id)
        .where(region_id_condition(Client.region_id, user))
    )


def open_count(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(open_events_query(user).subquery())) or 0


def settle(event: CivilEvent, outcome: str, user: User) -> CivilEvent:
    """Mark a civil event's task done with what the officer did. Conflict (409) when already done."""
    if event.done_at is not None:
        raise Conflict(_("This task is already done."))
    errors: dict[str, list[str]] = {}
    text = (outcome or "").strip()
    if not text:
        errors["outcome"] = [_("Say what was done.")]
    else:
        check_length(text, CivilEvent.outcome, "outcome", errors)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    event.done_at = clock.now()
    event.done_by_id = user.id
    event.outcome = text
    audit.record("dci.civil_event_done", "client", event.client_id, user=user, kind=event.kind)
    return event

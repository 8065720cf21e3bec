"""SRS as a DCI client of a national Social Registry: "check the national registry" for a client.

The second step of the district procedure is to check the person against the national welfare
database. SRS asks the configured Social Registry of the client's country by NIK or Vietnamese ID
(``registry/sync/search``, or ``registry/search`` answered by an ``on-search`` callback when the
registry works asynchronously), keeps what it holds (poverty status, welfare decile, household
size, the date of its data) beside what was typed, and lets the officer take values over with
their source and date recorded. A registry that is down or slow never blocks anything: the call
has a timeout, the check is marked failed with a clear message, and it can be retried from the
profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select

from srs.accounts.models import User
from srs.core import audit, clock
from srs.core.errors import Conflict, NotFound, ValidationFailed
from srs.dci import envelope as env
from srs.dci import signing, transport
from srs.dci.models import NationalRegistry, RegistryCheck
from srs.dci.vocabulary import RECORD_ID_TYPE
from srs.extensions import db
from srs.registry import services as registry_services
from srs.registry.models import POVERTY_STATUSES, Client

SOCIAL_REG_TYPE = "ns:org:RegistryType:Social"

# What an officer may take over from the registry, and how it is named in the client record.
TAKEABLE = ("poverty_status", "welfare_decile", "household_size")


@dataclass(frozen=True)
class Answer:
    """What a registry answered for one check."""

    status: str  # found | not_found | failed
    found: dict[str, Any] | None = None
    error: str | None = None


def json_object(value: Any) -> dict[str, Any]:
    """``value`` when a registry's JSON holds an object there, else an empty one."""
    return value if isinstance(value, dict) else {}


def registry_for(client: Client, kind: str = "social") -> NationalRegistry | None:
    """The active registry of ``kind`` for the client's country, if one is configured."""
    country = client.region.country if client.region else None
    return db.session.scalar(
        select(NationalRegistry)
        .where(
            NationalRegistry.kind == kind,
            NationalRegistry.country == country,
            NationalRegistry.active.is_(True),
        )
        .order_by(NationalRegistry.id)
    )


def checks_of(client: Client) -> list[RegistryCheck]:
    """The client's registry checks, newest first."""
    return list(
        db.session.scalars(
            select(RegistryCheck)
            .where(RegistryCheck.client_id == client.id)
            .order_by(RegistryCheck.requested_at.desc(), RegistryCheck.id.desc())
        )
    )


def callback_base(registry: NationalRegistry) -> str:
    """Where this registry calls SRS back (on-search, on-subscribe, notify): a secret path per registry."""
    return url_for("dci_inbound.base", token=registry.inbound_token, _external=True)


def request_header(action: str, registry: NationalRegistry, sender_uri: str | None = None) -> dict[str, Any]:
    """The header of a request SRS sends to a registry."""
    header: dict[str, Any] = {
        "version": env.VERSION,
        "message_id": env.new_id(),
        "message_ts": env.timestamp(),
        "action": action,
        "sender_id": env.sender_id(),
        "receiver_id": registry.receiver_id,
        "total_count": 1,
        "is_msg_encrypted": False,
    }
    if sender_uri:
        header["sender_uri"] = sender_uri
    return header


def _search_message(client: Client, transaction_id: str) -> dict[str, Any]:
    return {
        "transaction_id": transaction_id,
        "search_request": [
            {
                "reference_id": f"{transaction_id}-1",
                "timestamp": env.timestamp(),
                "search_criteria": {
                    "version": env.VERSION,
                    "reg_type": SOCIAL_REG_TYPE,
                    "query_type": "idtype-value",
                    "query": {"type": RECORD_ID_TYPE[client.id_type], "value": client.id_number},
                    "pagination": {"page_size": 5, "page_number": 1},
                },
                "locale": "ind" if client.region and client.region.country == "ID" else "vie",
            }
        ],
    }


def start_check(client: Client, user: User | None) -> RegistryCheck:
    """Ask the national registry about ``client``; the check, answered (sync) or pending (async).

    Raises ValidationFailed (422) when the client has no NIK or Vietnamese ID, or no registry is
    configured for the country. Never raises because the registry is down: the check says so.
    """
    if client.id_type not in RECORD_ID_TYPE or not client.id_number:
        raise ValidationFailed(
            _("The national registry is searched by NIK or Vietnamese ID; this client has none yet."), {}
        )
    target = registry_for(client)
    if target is None:
        raise ValidationFailed(_("No national registry is configured for this country."), {})
    transaction_id = f"srs-chk-{env.new_id()}"
    check = RegistryCheck(
        client_id=client.id,
        registry_id=target.id,
        user_id=getattr(user, "id", None),
        transaction_id=transaction_id,
        status="pending",
        taken=[],
    )
    db.session.add(check)
    db.session.flush()
    message = _search_message(client, transaction_id)
    action = "search" if target.answers_async else "sync/search"
    sender_uri = callback_base(target) + "on-search" if target.answers_async else None
    header = request_header("search", target, sender_uri)
    url = target.base_url.rstrip("/") + f"/registry/{action}"
    try:
        reply = transport.exchange(
            url, env.envelope(header, message), target.timeout_seconds, target.auth_token
        )
    except transport.CallbackError as exc:
        _settle(check, Answer("failed", error=str(exc)))
    else:
        if target.answers_async:
            ack = (reply or {}).get("message") if isinstance(reply, dict) else None
            if not isinstance(ack, dict) or ack.get("ack_status") != "ACK":
                _settle(check, Answer("failed", error=_ack_error(ack)))
        else:
            _settle(check, read_search_answer(target, reply, client))
    audit.record(
        "dci.registry_check",
        "client",
        client.id,
        user=user,
        registry=target.name,
        transaction_id=transaction_id,
        status=check.status,
    )
    return check


def _ack_error(ack: Any) -> str:
    if isinstance(ack, dict) and isinstance(ack.get("error"), dict):
        return f"the registry refused the request: {ack['error'].get('code', 'no code')}"[:300]
    return "the registry did not acknowledge the request"


def _settle(check: RegistryCheck, answer: Answer) -> None:
    check.status = answer.status
    check.found = answer.found
    check.error = (answer.error or "")[:300] or None
    check.answered_at = clock.now()


def receive_on_search(registry: NationalRegistry, body: Any) -> RegistryCheck:
    """An ``on-search`` callback of an asynchronous registry: the pending check it answers, settled.

    Raises NotFound when no pending check has this transaction (a stray or repeated callback).
    """
    message = body.get("message") if isinstance(body, dict) else None
    transaction_id = message.get("transaction_id") if isinstance(message, dict) else None
    check = db.session.scalar(
        select(RegistryCheck).where(
            RegistryCheck.transaction_id == str(transaction_id), RegistryCheck.registry_id == registry.id
        )
    )
    if check is None or check.status != "pending":
        raise NotFound(_("No pending registry check has this transaction id."))
    client = db.session.get(Client, check.client_id)
    _settle(check, read_search_answer(registry, body, client))
    audit.record(
        "dci.registry_check_answered",
        "client",
        check.client_id,
        user=None,
        registry=registry.name,
        transaction_id=check.transaction_id,
        status=check.status,
    )
    return check


def verify_signature(registry: NationalRegistry, body: Any) -> str | None:
    """Why a registry's message is not to be trusted (None when it is, or no key is configured)."""
    if not registry.public_key:
        return None
    if not isinstance(body, dict):
        return "not an envelope"
    verdict = signing.verify(
        body.get("signature"),
        body.get("header") or {},
        body.get("message"),
        signing.load_public_key(registry.public_key),
    )
    return None if verdict.ok else f"signature {verdict.reason}"


def read_search_answer(registry: NationalRegistry, reply: Any, client: Client | None) -> Answer:
    """What a search answer says about the client: the facts SRS shows, or why it says nothing."""
    problem = verify_signature(registry, reply)
    if problem:
        return Answer("failed", error=f"the registry's answer was refused: {problem}")
    message = reply.get("message") if isinstance(reply, dict) else None
    items = message.get("search_response") if isinstance(message, dict) else None
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        return Answer("failed", error="the registry's answer has no search_response")
    item = items[0]
    if item.get("status") != "succ":
        reason = str(item.get("status_reason_code") or item.get("status") or "no status")
        return Answer("failed", error=f"the registry rejected the search: {reason}")
    data = json_object(item.get("data"))
    records = data.get("reg_records")
    if isinstance(records, dict):
        records = [records]
    if not isinstance(records, list) or not records:
        return Answer("not_found")
    record = records[0] if isinstance(records[0], dict) else {}
    return Answer("found", found=facts_of(record, client))


def _number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def day_of(value: Any) -> date | None:
    """The day a DCI date or date-time names (its first ten characters), through the app's one
    date parser; None for anything else. Registries send both forms."""
    if not isinstance(value, str):
        return None
    try:
        return clock.parse_date(value[:10])
    except ValueError:
        return None


def _date(value: Any) -> str | None:
    day = day_of(value)
    return day.isoformat() if day else None


def _has_id(record: dict[str, Any], number: str | None) -> bool:
    identifiers = (
        record.get("member_identifier") or (record.get("demographic_info") or {}).get("identifier") or []
    )
    if isinstance(identifiers, dict):
        identifiers = [identifiers]
    return any(isinstance(i, dict) and i.get("identifier_value") == number for i in identifiers)


def facts_of(record: dict[str, Any], client: Client | None) -> dict[str, Any]:
    """The facts SRS keeps from a Member or Group record (nothing else of it is stored)."""
    member = record
    group: dict[str, Any] | None = None
    if record.get("@type") == "Group" or "member_list" in record:
        group = record
        members = [m for m in record.get("member_list") or [] if isinstance(m, dict)]
        number = client.id_number if client else None
        member = next((m for m in members if _has_id(m, number)), record.get("group_head_info") or {})
    person = json_object(member.get("demographic_info"))
    name = json_object(person.get("name"))
    status = (group or {}).get("poverty_status") or member.get("poverty_status")
    decile = _number((group or {}).get("poverty_score", member.get("poverty_score")))
    size = _number((group or {}).get("group_size", member.get("household_size")))
    full_name = " ".join(
        str(name[k]) for k in ("given_name", "second_name", "surname") if name.get(k)
    ).strip()
    return {
        "poverty_status": status if status in POVERTY_STATUSES else None,
        "welfare_decile": decile if decile is not None and 1 <= decile <= 10 else None,
        "household_size": size if size is not None and 1 <= size <= 50 else None,
        "full_name": full_name[:200] or None,
        "sex": person.get("sex") if person.get("sex") in ("male", "female") else None,
        "birth_date": _date(person.get("birth_date")),
        "data_date": _date(
            record.get("last_updated") or member.get("last_updated") or record.get("registration_date")
        ),
        "record_id": str(record.get("@id"))[:200] if record.get("@id") else None,
    }


def take_over(check: RegistryCheck, fields: list[str], user: User) -> Client:
    """Copy the chosen values from the registry's answer into the client record, with source and date.

    Goes through the registry's normal edit (validation, audit, report upkeep, the DCI change feed);
    the poverty status's source and date become the registry's name and the date of its data.
    Raises Conflict (409) when the check has no answer, ValidationFailed (422) for an unknown field
    or one the registry did not give.
    """
    if check.status != "found" or not check.found:
        raise Conflict(_("This check has no answer from the registry to take over."))
    unknown = [f for f in fields if f not in TAKEABLE]
    missing = [f for f in fields if f in TAKEABLE and check.found.get(f) is None]
    if not fields or unknown or missing:
        raise ValidationFailed(
            _("Choose values the registry gave."), {"fields": [_("Choose values the registry gave.")]}
        )
    client = db.session.get(Client, check.client_id)
    if client is None or client.merged_into_id is not None:
        raise NotFound(_("No client with this number in your area."))
    changes: dict[str, Any] = {f: check.found[f] for f in fields}
    if "poverty_status" in changes or "welfare_decile" in changes:
        changes["welfare_source"] = check.source.name[:80]
        changes["welfare_date"] = check.found.get("data_date") or clock.today().isoformat()
    registry_services.update_client(client, changes, user, client.version)
    now = clock.now()
    check.taken = [
        *check.taken,
        *(
            {
                "field": f,
                "value": check.found[f],
                "at": env.timestamp(now),
                "by": getattr(user, "username", None),
            }
            for f in fields
        ),
    ]
    audit.record(
        "dci.registry_takeover",
        "client",
        client.id,
        user=user,
        registry=check.source.name,
        fields=fields,
        data_date=check.found.get("data_date"),
    )
    return client

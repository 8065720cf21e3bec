"""The Social Registry's work: checking a request, and searches (partners.py: profiles; subscriptions.py).

Services never commit. A request's transaction, its outbox row and its audit entries are written
together at the edge; the callbacks they queue go out through srs.dci.jobs.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import func, select

from srs.accounts.models import User
from srs.core import audit
from srs.core.replica import reads_from_replica
from srs.dci import envelope as env
from srs.dci import signing
from srs.dci.models import DciOutbox, DciPartner, DciSubscription, DciTransaction
from srs.dci.partners import partner_for
from srs.dci.query import QueryError, base_condition, compile_query, sort_columns
from srs.dci.records import group_record, load_clients, load_households, member_record
from srs.dci.vocabulary import (
    LOCALES,
    RECORD_TYPES,
)
from srs.extensions import db
from srs.registry.models import Client

REG_TYPE = "ns:org:RegistryType:Social"
CALLBACK_PATHS = {
    "on-search": "registry/on-search",
    "on-subscribe": "registry/on-subscribe",
    "on-unsubscribe": "registry/on-unsubscribe",
    "txn-on-status": "registry/txn/on-status",
    "notify": "registry/notify",
}


def setting(name: str, default: int | float) -> Any:
    """A DCI tuning value: app config ``DCI_<NAME>``, else env ``SRS_DCI_<NAME>``."""
    key = f"DCI_{name}"
    if key in current_app.config:
        return current_app.config[key]
    raw = os.environ.get(f"SRS_{key}")
    return type(default)(raw) if raw else default


# ---------------------------------------------------------------- checking a request


def authorised_partner(user: User) -> DciPartner:
    """The partner behind the bearer token; DciError 401/403 otherwise."""
    if user is None or not getattr(user, "is_authenticated", False):
        raise env.DciError(
            "err.request.unauthorized", "A bearer token from POST /api/v1/auth/token is required."
        )
    partner = partner_for(user)
    if partner is None:
        raise env.DciError(
            "err.request.forbidden", "Only partner accounts with a DCI profile may call /dci/."
        )
    return partner


def check_signature(partner: DciPartner, incoming: env.Incoming) -> None:
    """A partner registered with a public key must sign; its signature must be good and fresh."""
    if not partner.public_key:
        return
    if not incoming.signature:
        raise env.DciError(
            "err.signature.missing", "This partner signs its messages; the signature is missing."
        )
    verdict = signing.verify(
        incoming.signature, incoming.header, incoming.message, signing.load_public_key(partner.public_key)
    )
    if not verdict.ok:
        raise env.DciError("err.signature.invalid", f"The signature is not valid ({verdict.reason}).")


def callback_url(partner: DciPartner, sender_uri: Any, action: str) -> str:
    """Where to call the partner back: header.sender_uri, which must lie under one of its bases.

    Without sender_uri, the spec lets the receiver use the address agreed at onboarding: the
    partner's first callback base and the spec's path for the callback.
    """
    if sender_uri is None or sender_uri == "":
        if not partner.callback_bases:
            raise env.DciError("err.sender_uri.invalid", "No sender_uri and no callback base registered.")
        return partner.callback_bases[0] + CALLBACK_PATHS[action]
    if not isinstance(sender_uri, str) or len(sender_uri) > 1000 or not under_a_base(partner, sender_uri):
        raise env.DciError(
            "err.sender_uri.invalid", "header.sender_uri is not under a callback address registered for you."
        )
    return sender_uri


def under_a_base(partner: DciPartner, url: str) -> str | None:
    """The callback base ``url`` lies under (same scheme, host, port, and path below), or None."""
    target = urlsplit(url)
    if target.scheme not in ("http", "https") or target.username or target.password or ".." in target.path:
        return None
    for base in partner.callback_bases:
        allowed = urlsplit(base)
        if (
            target.scheme == allowed.scheme
            and target.hostname == allowed.hostname
            and target.port == allowed.port
            and (target.path or "/").startswith(allowed.path or "/")
        ):
            return base
    return None


def request_hash(incoming: env.Incoming) -> str:
    canonical = json.dumps({"header": incoming.header, "message": incoming.message}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def find_transaction(partner: DciPartner, message_id: str) -> DciTransaction | None:
    return db.session.scalar(
        select(DciTransaction).where(
            DciTransaction.partner_id == partner.id, DciTransaction.message_id == message_id
        )
    )


def replay(partner: DciPartner, incoming: env.Incoming) -> DciTransaction | None:
    """The transaction this message already started (a resend), or None for a new message.

    The same message_id with another content is refused: one id, one message.
    """
    existing = find_transaction(partner, incoming.header["message_id"])
    if existing is None:
        return None
    if existing.request_hash != request_hash(incoming):
        raise env.HeaderReject(
            "rjct.message_id.duplicate", "This message_id was already used for a different message."
        )
    return existing


def new_transaction(
    partner: DciPartner,
    incoming: env.Incoming,
    action: str,
    transaction_id: str,
    *,
    sync: bool,
    sender_uri: str | None,
) -> DciTransaction:
    tx = DciTransaction(
        partner_id=partner.id,
        message_id=incoming.header["message_id"],
        action=action,
        transaction_id=transaction_id,
        correlation_id=env.new_id(),
        request_hash=request_hash(incoming),
        status="rcvd",
        sync=sync,
        sender_uri=sender_uri,
        statuses=[],
    )
    db.session.add(tx)
    db.session.flush()
    return tx


def queue_callback(
    partner: DciPartner,
    action: str,
    url: str,
    tx: DciTransaction | None,
    header: dict[str, Any] | None = None,
    message: Any = None,
    *,
    subscription: DciSubscription | None = None,
    change_id: int | None = None,
) -> DciOutbox:
    """An outbox row for a callback, in the caller's transaction; the relay or the request sends it."""
    row = DciOutbox(
        partner_id=partner.id,
        action=action,
        url=url,
        message_id=(header or {}).get("message_id") or env.new_id(),
        transaction_row_id=tx.id if tx is not None else None,
        subscription_id=subscription.id if subscription is not None else None,
        change_id=change_id,
        header=header,
        message=message,
    )
    db.session.add(row)
    db.session.flush()
    return row


# ---------------------------------------------------------------- locale and items


def app_locale(dci_locale: Any) -> str:
    """The SRS language for an ISO 639-3 locale (eng, ind, vie); English otherwise."""
    return LOCALES.get(dci_locale, "en") if isinstance(dci_locale, str) else "en"


def dci_locale(app_lang: str) -> str:
    return {v: k for k, v in LOCALES.items()}.get(app_lang, "eng")


def locale_ok(value: Any) -> bool:
    return value is None or (
        isinstance(value, str) and len(value) == 3 and value.isascii() and value.islower()
    )


class ItemReject(Exception):  # noqa: N818
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def reference_id(item: dict[str, Any], seen: set[str], code_prefix: str = "rjct") -> str:
    reference = item.get("reference_id")
    if not isinstance(reference, str) or not reference.strip() or len(reference) > 200:
        raise ItemReject(
            f"{code_prefix}.reference_id.invalid", "reference_id must be a text of 1 to 200 characters."
        )
    if reference in seen:
        raise ItemReject(
            f"{code_prefix}.reference_id.duplicate", "This reference_id appears twice in the message."
        )
    seen.add(reference)
    return reference


def safe_reference(item: Any) -> str:
    value = item.get("reference_id") if isinstance(item, dict) else None
    return value[:200] if isinstance(value, str) else ""


def _pagination(raw: Any) -> tuple[int, int]:
    default = int(setting("PAGE_SIZE_DEFAULT", 20))
    maximum = int(setting("PAGE_SIZE_MAX", 200))
    if raw is None:
        return default, 1
    if not isinstance(raw, dict) or "page_size" not in raw:
        raise ItemReject("rjct.pagination.invalid", "pagination needs page_size.")

    def whole(value: Any) -> int | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return int(value) if float(value).is_integer() else None

    size = whole(raw["page_size"])
    number = whole(raw.get("page_number", 1))
    if size is None or not 1 <= size <= maximum:
        raise ItemReject("rjct.pagination.invalid", f"page_size must be a whole number from 1 to {maximum}.")
    if number is None or not 1 <= number <= 2_147_483_647:
        raise ItemReject("rjct.pagination.invalid", "page_number counts from 1.")
    return size, number


def _entity(criteria: dict[str, Any]) -> str:
    entity = criteria.get("response_entity")
    if entity is None:
        record_type = criteria.get("reg_record_type")
        entity = "Group" if isinstance(record_type, str) and record_type.endswith("Group") else "Member"
    if entity not in RECORD_TYPES:
        raise ItemReject("rjct.search_criteria.invalid", "response_entity is Group or Member.")
    return entity


# ---------------------------------------------------------------- search


def _audit_shared(
    partner: DciPartner, client_ids: list[int], transaction_id: str, reference_id: str, how: str
) -> None:
    for client_id in client_ids:
        audit.record(
            "dci.record_shared",
            "client",
            client_id,
            user=partner.user,
            partner=partner.name,
            recipient=partner.name,
            transaction_id=transaction_id,
            reference_id=reference_id,
            via=how,
        )


def search_one(partner: DciPartner, item: Any, transaction_id: str, seen: set[str]) -> dict[str, Any]:
    """One search request of a message, answered: its records, or its rjct reason. Audited."""
    try:
        if not isinstance(item, dict):
            raise ItemReject("rjct.search_criteria.invalid", "Each search request is an object.")
        reference = reference_id(item, seen)
        problem = env.timestamp_problem(item.get("timestamp"))
        if problem:
            raise ItemReject("rjct.timestamp.invalid", f"timestamp is {problem}.")
        if not locale_ok(item.get("locale")):
            raise ItemReject(
                "rjct.search_criteria.invalid", "locale is an ISO 639-3 code such as eng, ind or vie."
            )
        criteria = item.get("search_criteria")
        if not isinstance(criteria, dict) or "query_type" not in criteria or "query" not in criteria:
            raise ItemReject("rjct.search_criteria.invalid", "search_criteria needs query_type and query.")
        with force_locale(app_locale(item.get("locale"))):
            return _search(partner, reference, item, criteria, transaction_id)
    except ItemReject as exc:
        audit.record(
            "dci.search",
            "dci_partner",
            partner.id,
            user=partner.user,
            partner=partner.name,
            transaction_id=transaction_id,
            reference_id=safe_reference(item),
            status="rjct",
            reason=exc.code,
        )
        return {
            "reference_id": safe_reference(item),
            "timestamp": env.timestamp(),
            "status": "rjct",
            "status_reason_code": exc.code,
            "status_reason_message": exc.message[:999],
        }


def _search(
    partner: DciPartner, reference: str, item: dict[str, Any], criteria: dict[str, Any], transaction_id: str
) -> dict[str, Any]:
    entity = _entity(criteria)
    size, number = _pagination(criteria.get("pagination"))
    try:
        compiled = compile_query(
            criteria["query_type"],
            criteria["query"],
            partner.id_types,
            partner.attributes,
            "rjct.search_criteria.invalid",
        )
        order = sort_columns(criteria.get("sort"), partner.attributes)
    except QueryError as exc:
        raise ItemReject(exc.code, exc.message) from exc
    condition = base_condition() & compiled.condition
    cap = int(setting("MAX_RECORDS", 100000))
    fields = set(partner.record_fields)
    if entity == "Member":
        ids_query = select(Client.id).where(condition)
        total = db.session.scalar(select(func.count()).select_from(ids_query.limit(cap + 1).subquery())) or 0
        if total > cap:
            raise ItemReject(
                "rjct.search.too_many_records_found",
                f"More than {cap} records match; narrow the search down.",
            )
        ids = list(
            db.session.scalars(ids_query.order_by(*order, Client.id).limit(size).offset((number - 1) * size))
        )
        records = [member_record(c, fields) for c in load_clients(ids)]
        shared = ids
    else:
        if order:
            raise ItemReject("rjct.sort.invalid", "Group results are in household order; leave sort out.")
        households = select(Client.household_id).where(condition, Client.household_id.is_not(None)).distinct()
        total = db.session.scalar(select(func.count()).select_from(households.limit(cap + 1).subquery())) or 0
        if total > cap:
            raise ItemReject(
                "rjct.search.too_many_records_found",
                f"More than {cap} households match; narrow the search down.",
            )
        # household_id IS NOT NULL above: every id is an int.
        page: list[int] = list(
            db.session.scalars(
                households.order_by(Client.household_id).limit(size).offset((number - 1) * size)
            )
        )
        records, shared = [], []
        for household in load_households(page):
            record, people = group_record(household, fields)
            records.append(record)
            shared.extend(people)
    audit.record(
        "dci.search",
        "dci_partner",
        partner.id,
        user=partner.user,
        partner=partner.name,
        transaction_id=transaction_id,
        reference_id=reference,
        query_type=criteria["query_type"],
        id_type=compiled.id_type,
        attributes=compiled.attributes,
        entity=entity,
        total=total,
        returned=len(records),
        status="succ",
    )
    _audit_shared(partner, shared, transaction_id, reference, "search")
    result: dict[str, Any] = {
        "reference_id": reference,
        "timestamp": env.timestamp(),
        "status": "succ",
        "data": {
            "version": env.VERSION,
            "reg_type": REG_TYPE,
            "reg_record_type": entity,
            "reg_records": records,
        },
        "pagination": {"page_size": size, "page_number": number, "total_count": total},
    }
    if isinstance(item.get("locale"), str):
        result["locale"] = item["locale"]
    return result


def status_of(item: dict[str, Any]) -> dict[str, Any]:
    kept = {
        k: item[k]
        for k in ("reference_id", "status", "status_reason_code", "status_reason_message")
        if k in item
    }
    kept["timestamp"] = item.get("timestamp")
    if "pagination" in item:
        kept["total_count"] = item["pagination"]["total_count"]
    return kept


def run_search(
    partner: DciPartner, tx: DciTransaction, message: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    """Every search request of a message answered; the SearchResponse and the overall status."""
    seen: set[str] = set()
    # The registry reads may come from the replica (the transaction row written before stays on the
    # primary; the block's own writes, if any, switch its reads back to the primary).
    with reads_from_replica():
        items = [
            search_one(partner, item, tx.transaction_id, seen) for item in message.get("search_request") or []
        ]
    tx.statuses = [status_of(i) for i in items]
    tx.status = "succ" if any(i["status"] == "succ" for i in items) or not items else "rjct"
    tx.completed_at = env.now()
    response = {
        "transaction_id": tx.transaction_id,
        "correlation_id": tx.correlation_id,
        "search_response": items,
    }
    return response, tx.status


def search_message_ok(incoming: env.Incoming) -> list[Any]:
    items = incoming.message.get("search_request")
    if not isinstance(items, list):
        raise env.DciError("err.request.bad", "message.search_request must be a list.")
    env.check_total(incoming.header, len(items))
    return items


def search_response_envelope(tx: DciTransaction, response: dict[str, Any], receiver: str) -> dict[str, Any]:
    items = response["search_response"]
    header = env.response_header(
        "on-search",
        receiver,
        "succ" if tx.status == "succ" else "rjct",
        len(items),
        len(items),
    )
    return env.envelope(header, response)


def empty_answer(action: str, transaction_id: str, correlation_id: str) -> tuple[dict[str, Any], str]:
    """An answer of a sync endpoint's kind with nothing in it, and that answer's header action."""
    if action == "search":
        return {
            "transaction_id": transaction_id,
            "correlation_id": correlation_id,
            "search_response": [],
        }, "on-search"
    return {
        "transaction_id": transaction_id,
        "correlation_id": correlation_id,
        "txnstatus_response": {
            "txn_type": "search",
            "txn_status": {
                "transaction_id": transaction_id,
                "correlation_id": correlation_id,
                "search_response": [],
            },
        },
    }, "txn-on-status"


def rejected_sync(action: str, receiver: str, message: Any, code: str, text: str) -> dict[str, Any]:
    """A sync answer whose header rejects the whole message with a MsgHeaderStatusReasonCode."""
    transaction_id = message.get("transaction_id") if isinstance(message, dict) else None
    transaction_id = transaction_id[:99] if isinstance(transaction_id, str) else ""
    body, answer_action = empty_answer(action, transaction_id, env.new_id())
    header = env.response_header(answer_action, receiver, "rjct", 0, 0, reason_code=code, reason_message=text)
    return env.envelope(header, body)

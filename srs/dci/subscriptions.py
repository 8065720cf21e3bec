"""Subscriptions to registry events, and the status of a partner's transactions."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select

from srs.core import audit
from srs.dci import envelope as env
from srs.dci.models import DciPartner, DciSubscription, DciTransaction
from srs.dci.query import QueryError, compile_query
from srs.dci.services import REG_TYPE, ItemReject, locale_ok, reference_id, safe_reference, status_of
from srs.dci.vocabulary import (
    EVENT_TYPES,
    RECORD_TYPES,
)
from srs.extensions import db


def _subscription_info(sub: DciSubscription) -> dict[str, Any]:
    info: dict[str, Any] = {
        "version": env.VERSION,
        "code": sub.code,
        "status": sub.status,
        "timestamp": env.timestamp(sub.created_at),
        "reg_type": sub.reg_type or REG_TYPE,
        "reg_event_type": sub.reg_event_type,
        "filter_type": sub.filter_type,
        "filter": sub.filter,
        "notify_record_type": sub.notify_record_type,
    }
    if sub.frequency:
        info["frequency"] = sub.frequency
    if sub.locale:
        info["locale"] = sub.locale
    return info


def subscribe_one(
    partner: DciPartner, item: Any, tx: DciTransaction, seen: set[str], notify_url: str
) -> dict[str, Any]:
    """One subscribe request: the subscription made, or its rjct reason."""
    try:
        if not isinstance(item, dict):
            raise ItemReject("rjct.notify_details.invalid", "Each subscribe request is an object.")
        reference = reference_id(item, seen)
        problem = env.timestamp_problem(item.get("timestamp"))
        if problem:
            raise ItemReject("rjct.timestamp.invalid", f"timestamp is {problem}.")
        criteria = item.get("subscribe_criteria")
        if not isinstance(criteria, dict):
            raise ItemReject("rjct.notify_details.invalid", "subscribe_criteria is required.")
        event = criteria.get("reg_event_type")
        if event not in EVENT_TYPES:
            raise ItemReject(
                "rjct.notify_types.invalid", f"reg_event_type is one of {', '.join(EVENT_TYPES)}."
            )
        record_type = criteria.get("notify_record_type")
        record_type = record_type.rsplit(":", 1)[-1] if isinstance(record_type, str) else record_type
        if record_type not in RECORD_TYPES:
            raise ItemReject("rjct.notify_types.invalid", "notify_record_type is Member or Group.")
        filter_type = criteria.get(
            "filter_type", "predicate" if isinstance(criteria.get("filter"), list) else None
        )
        if not locale_ok(item.get("locale")):
            raise ItemReject(
                "rjct.notify_details.invalid", "locale is an ISO 639-3 code such as eng, ind or vie."
            )
        frequency = criteria.get("frequency")
        window = (
            [frequency.get(k) for k in ("start_time", "end_time")] if isinstance(frequency, dict) else None
        )
        if frequency is not None and (window is None or any(env.parse_timestamp(t) is None for t in window)):
            raise ItemReject(
                "rjct.notify_details.invalid", "frequency needs start_time and end_time with time zones."
            )
        try:
            compile_query(
                filter_type,
                criteria.get("filter"),
                partner.id_types,
                partner.attributes,
                "rjct.notify_details.invalid",
            )
        except QueryError as exc:
            raise ItemReject(exc.code, exc.message) from exc
        duplicate = db.session.scalar(
            select(DciSubscription.code).where(
                DciSubscription.partner_id == partner.id,
                DciSubscription.status == "subscribe",
                DciSubscription.reg_event_type == event,
                DciSubscription.notify_record_type == record_type,
                DciSubscription.filter_type == filter_type,
            )
        )
        if duplicate is not None:
            same = db.session.scalar(select(DciSubscription).where(DciSubscription.code == duplicate))
            if same is not None and same.filter == criteria.get("filter"):
                raise ItemReject("rjct.event.already_subscribed", f"Already subscribed as {duplicate}.")
        sub = DciSubscription(
            code=f"SUB-{secrets.token_hex(8).upper()}",
            partner_id=partner.id,
            transaction_id=tx.transaction_id,
            reference_id=reference,
            reg_type=criteria.get("reg_type") if isinstance(criteria.get("reg_type"), str) else None,
            reg_event_type=event,
            filter_type=filter_type,
            filter=criteria.get("filter"),
            notify_record_type=record_type,
            frequency=frequency,
            locale=item.get("locale"),
            sender_uri=notify_url,
            status="subscribe",
            created_at=env.now(),
        )
        db.session.add(sub)
        db.session.flush()
        audit.record(
            "dci.subscribe",
            "dci_subscription",
            sub.id,
            user=partner.user,
            partner=partner.name,
            code=sub.code,
            event=event,
            record_type=record_type,
            filter_type=filter_type,
        )
        result = {
            "reference_id": reference,
            "timestamp": env.timestamp(),
            "status": "succ",
            "subscriptions": [_subscription_info(sub)],
        }
        if item.get("locale"):
            result["locale"] = item["locale"]
        return result
    except ItemReject as exc:
        return {
            "reference_id": safe_reference(item),
            "timestamp": env.timestamp(),
            "status": "rjct",
            "status_reason_code": exc.code,
            "status_reason_message": exc.message[:999],
        }


def subscribe(
    partner: DciPartner, tx: DciTransaction, message: dict[str, Any], notify_url: str
) -> dict[str, Any]:
    """Every subscribe request of a message; the SubscribeResponse."""
    seen: set[str] = set()
    items = [
        subscribe_one(partner, item, tx, seen, notify_url) for item in message.get("subscribe_request") or []
    ]
    tx.statuses = [status_of(i) for i in items]
    tx.status = "succ" if any(i["status"] == "succ" for i in items) or not items else "rjct"
    tx.completed_at = env.now()
    return {
        "transaction_id": tx.transaction_id,
        "correlation_id": tx.correlation_id,
        "subscribe_response": items,
    }


def unsubscribe(partner: DciPartner, tx: DciTransaction, message: dict[str, Any]) -> dict[str, Any]:
    """End the partner's subscriptions named in the message, all or none; the UnSubscribeResponse."""
    response: dict[str, Any] = {
        "transaction_id": tx.transaction_id,
        "correlation_id": tx.correlation_id,
        "timestamp": env.timestamp(),
    }
    codes = message.get("subscription_codes")
    problem = env.timestamp_problem(message.get("timestamp"))
    reason: tuple[str, str] | None = None
    subs: list[DciSubscription] = []
    if problem:
        reason = ("rjct.timestamp.invalid", f"timestamp is {problem}.")
    elif (
        not isinstance(codes, list)
        or not codes
        or not all(isinstance(c, str) and len(c) <= 99 for c in codes)
    ):
        reason = ("rjct.subscription_code.invalid", "subscription_codes is a list of subscription codes.")
    else:
        # Another partner's code reads as unknown: a partner never learns what others subscribed to.
        subs = list(
            db.session.scalars(
                select(DciSubscription).where(
                    DciSubscription.partner_id == partner.id, DciSubscription.code.in_(codes)
                )
            )
        )
        unknown = sorted(set(codes) - {s.code for s in subs})
        ended = sorted(s.code for s in subs if s.status != "subscribe")
        if unknown:
            reason = ("rjct.subscription_code.invalid", f"Unknown subscription codes: {', '.join(unknown)}.")
        elif ended:
            reason = ("rjct.event.already_unsubscribed", f"Already unsubscribed: {', '.join(ended)}.")
    if reason is not None:
        response.update(status="rjct", status_reason_code=reason[0], status_reason_message=reason[1])
        tx.status = "rjct"
    else:
        for sub in subs:
            sub.status = "unsubscribe"
            sub.unsubscribed_at = env.now()
            audit.record(
                "dci.unsubscribe",
                "dci_subscription",
                sub.id,
                user=partner.user,
                partner=partner.name,
                code=sub.code,
            )
        response.update(
            status="succ", subscription_status=[{"code": s.code, "status": "unsubscribe"} for s in subs]
        )
        tx.status = "succ"
    tx.statuses = [
        {
            "reference_id": "",
            "status": response["status"],
            "timestamp": response["timestamp"],
            **(
                {"status_reason_code": response["status_reason_code"]}
                if "status_reason_code" in response
                else {}
            ),
        }
    ]
    tx.completed_at = env.now()
    return response


# ---------------------------------------------------------------- transaction status

SEARCH_REASONS = {
    "rjct.reference_id.invalid",
    "rjct.reference_id.duplicate",
    "rjct.timestamp.invalid",
    "rjct.search_criteria.invalid",
    "rjct.filter.invalid",
    "rjct.sort.invalid",
    "rjct.pagination.invalid",
    "rjct.search.too_many_records_found",
}


def _status_items(tx: DciTransaction, references: list[str] | None) -> list[dict[str, Any]]:
    items = []
    for kept in tx.statuses or []:
        if references is not None and kept.get("reference_id") not in references:
            continue
        item: dict[str, Any] = {
            "reference_id": kept.get("reference_id") or "",
            "timestamp": kept.get("timestamp") or env.timestamp(tx.created_at),
            "status": kept.get("status") if tx.status in ("succ", "rjct") else tx.status,
        }
        code = kept.get("status_reason_code")
        if code in SEARCH_REASONS:
            item["status_reason_code"] = code
        message = kept.get("status_reason_message") or (code if code and code not in SEARCH_REASONS else None)
        if message:
            item["status_reason_message"] = str(message)[:999]
        items.append(item)
    if not items and tx.status in ("rcvd", "pdng"):
        items.append({"reference_id": "", "timestamp": env.timestamp(tx.created_at), "status": tx.status})
    return items


def txn_status(partner: DciPartner, tx: DciTransaction, message: dict[str, Any]) -> dict[str, Any]:
    """The status of an earlier transaction of this partner (never another partner's); a TxnStatusResponse.

    SRS keeps each request's status and reason, not the records it returned: a status answer
    carries no personal data.
    """
    request = message.get("txnstatus_request")
    response: dict[str, Any] = {"transaction_id": tx.transaction_id, "correlation_id": tx.correlation_id}
    if not isinstance(request, dict):
        raise env.DciError("err.request.bad", "message.txnstatus_request must be an object.")
    txn_type = request.get("txn_type")
    attribute_type = request.get("attribute_type")
    value = request.get("attribute_value")
    own_reference = request.get("reference_id") if isinstance(request.get("reference_id"), str) else ""
    if txn_type not in ("search", "subscribe", "receipt") or attribute_type not in (
        "transaction_id",
        "reference_id_list",
        "correlation_id",
    ):
        raise env.DciError(
            "err.request.bad", "txn_type is search, subscribe or receipt; attribute_type names the id."
        )
    found: DciTransaction | None = None
    references: list[str] | None = None
    action = "search" if txn_type == "search" else "subscribe"
    stmt = (
        select(DciTransaction)
        .where(
            DciTransaction.partner_id == partner.id,
            DciTransaction.action == action,
            DciTransaction.id != tx.id,
        )
        .order_by(DciTransaction.id.desc())
    )
    if txn_type != "receipt":
        if attribute_type == "transaction_id" and isinstance(value, str):
            found = db.session.scalar(stmt.where(DciTransaction.transaction_id == value).limit(1))
        elif attribute_type == "correlation_id" and isinstance(value, str):
            found = db.session.scalar(stmt.where(DciTransaction.correlation_id == value).limit(1))
        elif attribute_type == "reference_id_list" and isinstance(value, list) and value:
            references = [v for v in value if isinstance(v, str)]
            for candidate in db.session.scalars(stmt.limit(200)):
                if any(s.get("reference_id") in references for s in candidate.statuses or []):
                    found = candidate
                    break
    if found is None:
        missing = {
            "reference_id": own_reference,
            "timestamp": env.timestamp(),
            "status": "rjct",
            "status_reason_code": "rjct.reference_id.invalid",
            "status_reason_message": (
                "SRS keeps no receipts." if txn_type == "receipt" else "No such transaction of yours."
            ),
        }
        status_body = {
            "transaction_id": tx.transaction_id,
            "correlation_id": tx.correlation_id,
            "search_response": [missing],
        }
        tx.statuses = [
            {
                "reference_id": own_reference,
                "status": "rjct",
                "status_reason_code": "rjct.reference_id.invalid",
            }
        ]
        tx.status = "rjct"
    else:
        status_body = {
            "transaction_id": found.transaction_id,
            "correlation_id": found.correlation_id,
            "search_response": _status_items(found, references),
        }
        tx.statuses = [{"reference_id": own_reference, "status": "succ"}]
        tx.status = "succ"
    tx.completed_at = env.now()
    audit.record(
        "dci.txn_status",
        "dci_partner",
        partner.id,
        user=partner.user,
        partner=partner.name,
        asked=attribute_type,
        found=found is not None,
    )
    response["txnstatus_response"] = {"txn_type": txn_type, "txn_status": status_body}
    return response

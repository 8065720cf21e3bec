"""The six Social Registry endpoints under /dci/registry, and SRS's signing keys at /.well-known/jwks.json.

Views are thin: authenticate the partner, read and check the envelope, call one service, answer.
The async endpoints answer ACK once their transaction and its callback are in the outbox (202); the
callback goes out after the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from srs.core import audit
from srs.core.access import public
from srs.core.transaction import after_commit
from srs.dci import envelope as env
from srs.dci import services as svc
from srs.dci import subscriptions
from srs.dci.jobs import enqueue_delivery
from srs.dci.models import DciPartner

bp = Blueprint("dci", __name__, url_prefix="/dci")
wellknown_bp = Blueprint("dci_keys", __name__)


def partner_access(view: Callable[..., Any]) -> Callable[..., Any]:
    """Partner systems only (the access matrix reads this); the view itself answers 401/403 as DCI does."""
    view.srs_access = frozenset({"partner"})  # type: ignore[attr-defined]
    return view


def _answer(body: dict[str, Any], status: int = 200) -> Any:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _error(action: str, exc: env.DciError, receiver: str = "", sync: bool = False) -> Any:
    correlation_id = exc.correlation_id or env.new_id()
    answer, header_action = None, None
    if sync:
        answer, header_action = svc.empty_answer(action, _transaction_id(), correlation_id)
    body = env.ack(
        action,
        correlation_id,
        receiver=receiver,
        error_code=exc.code,
        error_message=exc.message,
        answer=answer,
        header_action=header_action,
    )
    return _answer(body, exc.http_status)


def _transaction_id() -> str:
    body = request.get_json(silent=True)
    message = body.get("message") if isinstance(body, dict) else None
    value = message.get("transaction_id") if isinstance(message, dict) else None
    return value[:99] if isinstance(value, str) else ""


def _handle(action: str, sync: bool, work: Callable[[DciPartner, env.Incoming], Any]) -> Any:
    """Authenticate, read the envelope, check the signature and header, then do the work."""
    partner: DciPartner | None = None
    try:
        partner = svc.authorised_partner(current_user)
        incoming = env.read(request.get_json(silent=True), partner.sender_id)
        svc.check_signature(partner, incoming)
        try:
            env.check_header(incoming, action)
            return work(partner, incoming)
        except env.HeaderReject as exc:
            if sync:
                return _answer(
                    svc.rejected_sync(action, partner.sender_id, incoming.message, exc.code, exc.message)
                )
            raise env.DciError("err.request.bad", f"{exc.code}: {exc.message}") from exc
    except env.DciError as exc:
        return _error(action, exc, partner.sender_id if partner else "", sync)


def _ack(action: str, partner: DciPartner, correlation_id: str) -> Any:
    return _answer(env.ack(action, correlation_id, receiver=partner.sender_id), 202)


def _queue(
    partner: DciPartner, action: str, url: str, tx: Any, header: Any = None, message: Any = None
) -> None:
    row = svc.queue_callback(partner, action, url, tx, header, message)
    row_id = row.id
    after_commit(lambda: enqueue_delivery(row_id))


def _audit_request(partner: DciPartner, incoming: env.Incoming, action: str, tx: Any) -> None:
    audit.record(
        "dci.request",
        "dci_partner",
        partner.id,
        partner=partner.name,
        dci_action=action,
        message_id=incoming.header.get("message_id"),
        transaction_id=tx.transaction_id,
        correlation_id=tx.correlation_id,
    )


# ---------------------------------------------------------------- search


@bp.route("/registry/sync/search", methods=["POST"])
@partner_access
def sync_search() -> ResponseReturnValue:
    def work(partner: DciPartner, incoming: env.Incoming) -> Any:
        svc.search_message_ok(incoming)
        transaction_id = env.check_transaction_id(incoming.message)
        tx = svc.replay(partner, incoming) or svc.new_transaction(
            partner, incoming, "search", transaction_id, sync=True, sender_uri=None
        )
        _audit_request(partner, incoming, "search", tx)
        response, _status = svc.run_search(partner, tx, incoming.message)
        return _answer(svc.search_response_envelope(tx, response, partner.sender_id))

    return _handle("search", True, work)


@bp.route("/registry/search", methods=["POST"])
@partner_access
def search() -> ResponseReturnValue:
    def work(partner: DciPartner, incoming: env.Incoming) -> Any:
        svc.search_message_ok(incoming)
        transaction_id = env.check_transaction_id(incoming.message)
        existing = svc.replay(partner, incoming)
        if existing is not None:
            return _ack("search", partner, existing.correlation_id)  # a resend: nothing runs twice
        url = svc.callback_url(partner, incoming.header.get("sender_uri"), "on-search")
        tx = svc.new_transaction(partner, incoming, "search", transaction_id, sync=False, sender_uri=url)
        tx.status = "pdng"
        tx.request = incoming.message
        _audit_request(partner, incoming, "search", tx)
        _queue(partner, "on-search", url, tx)
        return _ack("search", partner, tx.correlation_id)

    return _handle("search", False, work)


# ---------------------------------------------------------------- subscriptions


@bp.route("/registry/subscribe", methods=["POST"])
@partner_access
def subscribe() -> ResponseReturnValue:
    def work(partner: DciPartner, incoming: env.Incoming) -> Any:
        items = incoming.message.get("subscribe_request")
        if not isinstance(items, list):
            raise env.DciError("err.request.bad", "message.subscribe_request must be a list.")
        env.check_total(incoming.header, len(items))
        transaction_id = env.check_transaction_id(incoming.message)
        existing = svc.replay(partner, incoming)
        if existing is not None:
            return _ack("subscribe", partner, existing.correlation_id)
        url = svc.callback_url(partner, incoming.header.get("sender_uri"), "on-subscribe")
        notify_url = svc.under_a_base(partner, url) or partner.callback_bases[0]
        tx = svc.new_transaction(partner, incoming, "subscribe", transaction_id, sync=False, sender_uri=url)
        _audit_request(partner, incoming, "subscribe", tx)
        response = subscriptions.subscribe(
            partner, tx, incoming.message, notify_url + svc.CALLBACK_PATHS["notify"]
        )
        count = len(response["subscribe_response"])
        header = env.response_header("on-subscribe", partner.sender_id, tx.status, count, count)
        _queue(partner, "on-subscribe", url, tx, header, response)
        return _ack("subscribe", partner, tx.correlation_id)

    return _handle("subscribe", False, work)


@bp.route("/registry/unsubscribe", methods=["POST"])
@partner_access
def unsubscribe() -> ResponseReturnValue:
    def work(partner: DciPartner, incoming: env.Incoming) -> Any:
        transaction_id = env.check_transaction_id(incoming.message)
        existing = svc.replay(partner, incoming)
        if existing is not None:
            return _ack("unsubscribe", partner, existing.correlation_id)
        url = svc.callback_url(partner, incoming.header.get("sender_uri"), "on-unsubscribe")
        tx = svc.new_transaction(partner, incoming, "unsubscribe", transaction_id, sync=False, sender_uri=url)
        _audit_request(partner, incoming, "unsubscribe", tx)
        response = subscriptions.unsubscribe(partner, tx, incoming.message)
        header = env.response_header("on-unsubscribe", partner.sender_id, tx.status, 1, 1)
        _queue(partner, "on-unsubscribe", url, tx, header, response)
        return _ack("unsubscribe", partner, tx.correlation_id)

    return _handle("unsubscribe", False, work)


# ---------------------------------------------------------------- transaction status


def _txn_status(partner: DciPartner, incoming: env.Incoming, sync: bool) -> tuple[Any, dict[str, Any]]:
    transaction_id = env.check_transaction_id(incoming.message)
    tx = svc.replay(partner, incoming)
    if tx is None:
        url = None if sync else svc.callback_url(partner, incoming.header.get("sender_uri"), "txn-on-status")
        tx = svc.new_transaction(partner, incoming, "txn-status", transaction_id, sync=sync, sender_uri=url)
        _audit_request(partner, incoming, "txn-status", tx)
        return tx, subscriptions.txn_status(partner, tx, incoming.message)
    return tx, {}


@bp.route("/registry/sync/txn/status", methods=["POST"])
@partner_access
def sync_txn_status() -> ResponseReturnValue:
    def work(partner: DciPartner, incoming: env.Incoming) -> Any:
        tx, response = _txn_status(partner, incoming, True)
        if not response:  # a resend: answer it again
            response = subscriptions.txn_status(partner, tx, incoming.message)
        header = env.response_header("txn-on-status", partner.sender_id, tx.status, 1, 1)
        return _answer(env.envelope(header, response))

    return _handle("txn-status", True, work)


@bp.route("/registry/txn/status", methods=["POST"])
@partner_access
def txn_status() -> ResponseReturnValue:
    def work(partner: DciPartner, incoming: env.Incoming) -> Any:
        tx, response = _txn_status(partner, incoming, False)
        if response:
            header = env.response_header("txn-on-status", partner.sender_id, tx.status, 1, 1)
            _queue(partner, "txn-on-status", tx.sender_uri, tx, header, response)
        return _ack("txn-status", partner, tx.correlation_id)

    return _handle("txn-status", False, work)


# ---------------------------------------------------------------- keys


@wellknown_bp.route("/.well-known/jwks.json")
@public
def jwks() -> ResponseReturnValue:
    from srs.dci.signing import jwks as keys

    response = jsonify(keys())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response

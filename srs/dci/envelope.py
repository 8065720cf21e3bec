"""The DCI envelope: reading a partner's request header, and SRS's headers, acknowledgements and errors.

Message-level problems (a bad token, a bad signature, a body that is not an envelope) are answered at
once with ``ack_status: ERR`` and one of the spec's ``err.*`` codes; header problems the spec gives
``rjct.*`` codes for (message_ts, action, total_count) are reported with those codes; each request
inside a message is judged on its own and rejected with its own ``rjct.*`` reason.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app

from srs.core import clock
from srs.dci import signing

VERSION = "1.0.0"
MAX_ID_LENGTH = 99  # transaction_id, correlation_id (spec: maxLength 99)
MAX_MESSAGE_ID = 120
MAX_REQUESTS = 100  # search or subscribe requests in one message

HTTP_STATUS = {
    "err.request.bad": 400,
    "err.request.unauthorized": 401,
    "err.request.forbidden": 403,
    "err.request.not_found": 404,
    "err.version.not_supported": 400,
    "err.request.too_many_requests": 429,
    "err.sender_id.invalid": 403,
    "err.sender_uri.invalid": 400,
    "err.receiver_id.invalid": 400,
    "err.signature.missing": 401,
    "err.signature.invalid": 401,
    "err.encryption.invalid": 400,
    "err.service.unavailable": 503,
}


class DciError(Exception):
    """A message SRS will not take: answered at once with ack_status ERR and ``code``."""

    def __init__(self, code: str, message: str, correlation_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.correlation_id = correlation_id

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.code, 400)


class HeaderReject(Exception):  # noqa: N818 - a rejection with a reason code, like the spec's
    """A header the spec has a ``rjct.*`` reason for (MsgHeaderStatusReasonCode)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def now() -> datetime:
    return clock.now()


def timestamp(at: datetime | None = None) -> str:
    """An ISO 8601 timestamp with its offset (UTC), as every DCI timestamp must carry one."""
    return (at or clock.now()).isoformat(timespec="milliseconds")


def new_id() -> str:
    return str(uuid.uuid4())


def sender_id() -> str:
    """The name SRS signs and sends with (SRS_DCI_SENDER_ID)."""
    return str(current_app.config.get("DCI_SENDER_ID") or "srs")


def parse_timestamp(value: Any) -> datetime | None:
    """An RFC 3339 timestamp with a time zone, or None (no zone, not a date-time, not text)."""
    if not isinstance(value, str) or "T" not in value.upper() or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed


def timestamp_problem(value: Any) -> str | None:
    """Why a request timestamp is refused (None when it is fine): no zone, or in the future."""
    parsed = parse_timestamp(value)
    if parsed is None:
        return "not an ISO 8601 date-time with a time zone"
    if parsed > clock.now() + timedelta(seconds=signing.SKEW_SECONDS):
        return "in the future"
    return None


@dataclass
class Incoming:
    """A partner's request, read and checked at the message level."""

    header: dict[str, Any]
    message: Any
    signature: str | None


def read(body: Any, partner_sender_id: str) -> Incoming:
    """The envelope of a request, checked at the message level; DciError when it cannot be taken."""
    if not isinstance(body, dict):
        raise DciError("err.request.bad", "The body must be a JSON object with header and message.")
    header, message, signature = body.get("header"), body.get("message"), body.get("signature")
    if not isinstance(header, dict):
        raise DciError("err.request.bad", "header is required and must be an object.")
    if "message" not in body or not isinstance(message, dict):
        raise DciError("err.request.bad", "message is required and must be an object.")
    if signature is not None and not isinstance(signature, str):
        raise DciError("err.signature.invalid", "signature must be a string.")
    message_id = header.get("message_id")
    if not isinstance(message_id, str) or not message_id.strip() or len(message_id) > MAX_MESSAGE_ID:
        raise DciError(
            "err.request.bad", f"header.message_id must be a text of 1 to {MAX_MESSAGE_ID} characters."
        )
    version = header.get("version", VERSION)
    if version != VERSION:
        raise DciError("err.version.not_supported", f"SRS speaks DCI {VERSION}, not {version!r}.")
    if header.get("sender_id") != partner_sender_id:
        raise DciError(
            "err.sender_id.invalid", "header.sender_id is not the sender id registered for this account."
        )
    receiver = header.get("receiver_id")
    if receiver not in (None, "", sender_id()):
        raise DciError("err.receiver_id.invalid", f"header.receiver_id must be {sender_id()!r}.")
    if header.get("is_msg_encrypted") is True or "ciphertext" in message:
        raise DciError(
            "err.encryption.invalid", "SRS takes signed, unencrypted messages only (TLS protects them)."
        )
    total = header.get("total_count")
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise DciError("err.request.bad", "header.total_count must be a whole number.")
    return Incoming(header=header, message=message, signature=signature)


def check_header(incoming: Incoming, action: str) -> None:
    """The header checks the spec has rjct.* codes for (run once the signature is known good)."""
    header = incoming.header
    if header.get("action") != action:
        raise HeaderReject("rjct.action.invalid", f"header.action must be {action!r} at this endpoint.")
    problem = timestamp_problem(header.get("message_ts"))
    if problem:
        raise HeaderReject("rjct.message_ts.invalid", f"header.message_ts is {problem}.")
    if header["total_count"] > MAX_REQUESTS:
        raise HeaderReject(
            "rjct.total_count.limit_exceeded", f"At most {MAX_REQUESTS} requests in one message."
        )


def check_total(header: dict[str, Any], count: int) -> None:
    """header.total_count must count the requests in the message."""
    if count > MAX_REQUESTS:
        raise HeaderReject(
            "rjct.total_count.limit_exceeded", f"At most {MAX_REQUESTS} requests in one message."
        )
    if header.get("total_count") != count:
        raise HeaderReject(
            "rjct.total_count.invalid",
            f"header.total_count is {header.get('total_count')}, the message has {count}.",
        )


def check_transaction_id(message: dict[str, Any]) -> str:
    value = message.get("transaction_id")
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_ID_LENGTH:
        raise DciError(
            "err.request.bad", f"message.transaction_id must be a text of 1 to {MAX_ID_LENGTH} characters."
        )
    return value


def response_header(
    action: str,
    receiver: str,
    status: str,
    total_count: int,
    completed_count: int,
    *,
    reason_code: str | None = None,
    reason_message: str | None = None,
    message_id: str | None = None,
) -> dict[str, Any]:
    """A MsgCallbackHeader for SRS's answer or callback."""
    header: dict[str, Any] = {
        "version": VERSION,
        "message_id": message_id or new_id(),
        "message_ts": timestamp(),
        "action": action,
        "status": status,
        "total_count": total_count,
        "completed_count": completed_count,
        "sender_id": sender_id(),
        "receiver_id": receiver,
        "is_msg_encrypted": False,
    }
    if reason_code:
        header["status_reason_code"] = reason_code
    if reason_message:
        header["status_reason_message"] = reason_message[:999]
    return header


def envelope(header: dict[str, Any], message: Any) -> dict[str, Any]:
    """The signed envelope SRS sends: signature over {header, message}."""
    return {"signature": signing.sign(header, message), "header": header, "message": message}


def ack(
    action: str,
    correlation_id: str,
    *,
    receiver: str | None = None,
    error_code: str | None = None,
    error_message: str | None = None,
    nack: bool = False,
    answer: dict[str, Any] | None = None,
    header_action: str | None = None,
) -> dict[str, Any]:
    """An acknowledgement (ACK, NACK or ERR), signed like everything SRS answers.

    The spec's Response has only ``message``; SRS adds the signed ``header`` beside it so a partner
    can check who answered. 401 and 403 answers also carry the ``errors`` list of HttpErrorResponse.
    A sync endpoint's error also carries ``answer`` (an empty response of its kind) in the message
    and names the answer's action in the header, so it is a valid sync answer as well as an ERR.
    """
    status = "ERR" if error_code else ("NACK" if nack else "ACK")
    body: dict[str, Any] = {"ack_status": status, "timestamp": timestamp(), "correlation_id": correlation_id}
    if error_code:
        body["error"] = {"code": error_code, "message": (error_message or "")[:999]}
    if answer:
        body = {**answer, **body}
    header = response_header(header_action or action, receiver or "", "rjct" if error_code else "rcvd", 0, 0)
    out = envelope(header, body)
    if error_code and HTTP_STATUS.get(error_code) in (401, 403):
        out["errors"] = [{"code": error_code, "message": (error_message or "")[:999]}]
    return out

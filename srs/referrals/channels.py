"""Delivery channels beyond the SRS inbox: a signed webhook and e-mail to the agency's staff."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

import requests
from flask import current_app

from srs.core import outbound


class DeliveryError(Exception):
    """The channel did not take the message (non-2xx, timeout, SMTP refusal); it is retried."""


def sign(body: bytes, secret: str) -> str:
    """``sha256=<hex HMAC-SHA256 of the raw body>``, the X-SRS-Signature header value."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, header: str) -> bool:
    """What an agency does with the header: constant-time comparison of the signature."""
    return hmac.compare_digest(sign(body, secret), header or "")


def post_webhook(url: str, secret: str, key: str, payload: dict[str, Any], timeout: float) -> int:
    """POST the payload, signed, through the outbound guard; returns the status.

    Raises DeliveryError unless 2xx: a network failure, an address the guard refuses (checked again
    here, at send time, whatever was checked when the agency was saved) or a redirect, which is
    never followed.
    """
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": key,
        "X-SRS-Signature": sign(body, secret or ""),
        "User-Agent": "SRS-referrals/1",
    }
    try:
        response = outbound.post(url, data=body, headers=headers, timeout=timeout)
    except outbound.OutboundRefused as exc:
        raise DeliveryError(f"refused by the outbound guard: {exc.message}") from exc
    except requests.RequestException as exc:
        raise DeliveryError(f"webhook request failed: {type(exc).__name__}") from exc
    if 300 <= response.status_code < 400:
        raise DeliveryError(f"webhook answered {response.status_code} (redirects are not followed)")
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"webhook answered {response.status_code}")
    return response.status_code


_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]")


def mail_dir() -> Path:
    return Path(current_app.config["MAIL_OUTBOX_DIR"])


def send_mail(recipients: list[str], subject: str, text: str, key: str) -> str:
    """Send by SMTP (config MAIL_*), or write ``<key>.eml`` to MAIL_OUTBOX_DIR when no server is set.

    The file name is the idempotency key, so writing the same delivery twice leaves one file.
    """
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring=_SAFE_NAME.sub("-", key))
    message["X-SRS-Idempotency-Key"] = key
    message.set_content(text)
    if not config.get("MAIL_SERVER"):
        directory = mail_dir()
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{_SAFE_NAME.sub('-', key)}.eml"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(bytes(message))
        tmp.replace(path)
        return str(path)
    try:
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=20) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"SMTP failed: {type(exc).__name__}") from exc
    return config["MAIL_SERVER"]


def list_mails() -> list[dict[str, Any]]:
    """The .eml files written in the embedded default, newest first (for the admins' mail page)."""
    directory = mail_dir()
    if not directory.is_dir():
        return []
    files = sorted(directory.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True)
    items = []
    for path in files[:500]:
        from email import policy
        from email.parser import BytesParser

        with path.open("rb") as handle:
            headers = BytesParser(policy=policy.default).parse(handle, headersonly=True)
        items.append(
            {"name": path.name, "subject": headers["Subject"], "to": headers["To"], "date": headers["Date"]}
        )
    return items


def read_mail(name: str) -> dict[str, Any] | None:
    """One written mail by file name (only names in the folder; no path tricks)."""
    from email import policy
    from email.parser import BytesParser

    if _SAFE_NAME.search(name) or not name.endswith(".eml"):
        return None
    path = mail_dir() / name
    if not path.is_file():
        return None
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    body = message.get_body(preferencelist=("plain",))
    return {
        "name": name,
        "subject": message["Subject"],
        "to": message["To"],
        "from": message["From"],
        "date": message["Date"],
        "body": body.get_content() if body else "",
    }

"""The one place DCI messages leave SRS over HTTP: callbacks to partners, requests to national registries.

Every callback and notification goes through :func:`post_json`, which goes through the shared
outbound guard (srs.core.outbound): no redirects followed, a timeout always, no proxies from the
environment, metadata and link-local addresses never, private networks only outside production or
when allowed, and every address the name resolves to checked when the connection is made.
"""

from __future__ import annotations

import json
from typing import Any

import requests

from srs.core import outbound


class CallbackError(Exception):
    """The partner did not take the callback (connection failed, timeout, non-2xx); it is retried."""


def post_json(url: str, payload: dict[str, Any], timeout: float) -> int:
    """POST ``payload`` as JSON to ``url``; returns the status, raises CallbackError unless 2xx."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": "SRS-DCI/1"}
    try:
        response = outbound.post(url, data=body, headers=headers, timeout=timeout)
    except outbound.OutboundRefused as exc:
        raise CallbackError(f"refused by the outbound guard: {exc.message}") from exc
    except requests.RequestException as exc:
        raise CallbackError(f"callback failed: {type(exc).__name__}") from exc
    if not 200 <= response.status_code < 300:
        raise CallbackError(f"callback answered {response.status_code}")
    return response.status_code


def exchange(url: str, payload: dict[str, Any], timeout: float, token: str | None = None) -> Any:
    """POST ``payload`` to a national registry and return its JSON answer.

    Raises CallbackError when the registry cannot be reached, times out, answers non-2xx or does not
    answer JSON: SRS as a client never waits longer than ``timeout`` and never follows a redirect.
    """
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "SRS-DCI/1"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        response = outbound.post(url, data=body, headers=headers, timeout=timeout)
    except outbound.OutboundRefused as exc:
        raise CallbackError(f"refused by the outbound guard: {exc.message}") from exc
    except requests.Timeout as exc:
        raise CallbackError(f"no answer within {timeout:g} s") from exc
    except requests.RequestException as exc:
        raise CallbackError(f"could not reach the registry: {type(exc).__name__}") from exc
    if not 200 <= response.status_code < 300:
        raise CallbackError(f"the registry answered HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError as exc:
        raise CallbackError("the registry's answer is not JSON") from exc

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

CALLBACK_FAILED = "callback failed"


class CallbackError(Exception):
    """The partner did not take the callback (connection failed, timeout, non-2xx); it is retried."""


def _post(
    url: str, payload: dict[str, Any], timeout: float, headers: dict[str, str], failure: str
) -> requests.Response:
    """POST ``payload`` as JSON through the outbound guard; CallbackError for a refusal, a network
    failure or a timeout (the response, whatever its status, otherwise). ``failure`` begins the
    message of a failure (a timeout towards a registry says how long SRS waited)."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": "SRS-DCI/1", **headers}
    try:
        return outbound.post(url, data=body, headers=headers, timeout=timeout)
    except outbound.OutboundRefused as exc:
        raise CallbackError(f"refused by the outbound guard: {exc.message}") from exc
    except requests.RequestException as exc:
        if isinstance(exc, requests.Timeout) and failure != CALLBACK_FAILED:
            raise CallbackError(f"no answer within {timeout:g} s") from exc
        raise CallbackError(f"{failure}: {type(exc).__name__}") from exc


def post_json(url: str, payload: dict[str, Any], timeout: float) -> int:
    """POST ``payload`` as JSON to ``url``; returns the status, raises CallbackError unless 2xx."""
    response = _post(url, payload, timeout, {}, CALLBACK_FAILED)
    if not 200 <= response.status_code < 300:
        raise CallbackError(f"callback answered {response.status_code}")
    return response.status_code


def exchange(url: str, payload: dict[str, Any], timeout: float, token: str | None = None) -> Any:
    """POST ``payload`` to a national registry and return its JSON answer.

    Raises CallbackError when the registry cannot be reached, times out, answers non-2xx or does not
    answer JSON: SRS as a client never waits longer than ``timeout`` and never follows a redirect.
    """
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = _post(url, payload, timeout, headers, "could not reach the registry")
    if not 200 <= response.status_code < 300:
        raise CallbackError(f"the registry answered HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError as exc:
        raise CallbackError("the registry's answer is not JSON") from exc

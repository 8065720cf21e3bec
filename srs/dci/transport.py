"""The one place DCI callbacks leave SRS over HTTP.

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

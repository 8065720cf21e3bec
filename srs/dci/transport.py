"""The one place DCI callbacks leave SRS over HTTP.

Every callback and notification goes through :func:`post_json`: no redirects followed, a timeout
always, no proxies from the environment. When the shared outbound guard (srs.core.outbound) is
available it decides where SRS may connect; until then this function is the single point it wraps.
"""

from __future__ import annotations

import json
from typing import Any

import requests


class CallbackError(Exception):
    """The partner did not take the callback (connection failed, timeout, non-2xx); it is retried."""


def post_json(url: str, payload: dict[str, Any], timeout: float) -> int:
    """POST ``payload`` as JSON to ``url``; returns the status, raises CallbackError unless 2xx."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": "SRS-DCI/1"}
    try:
        with requests.Session() as session:
            session.trust_env = False  # a proxy from the environment would connect where we never looked
            response = session.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        raise CallbackError(f"callback failed: {type(exc).__name__}") from exc
    if not 200 <= response.status_code < 300:
        raise CallbackError(f"callback answered {response.status_code}")
    return response.status_code

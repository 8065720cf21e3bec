"""Offline registrations: a body as the offline form builds it, dated from today's clock."""

from __future__ import annotations

import uuid
from typing import Any

from srs.core import clock
from tests.registry.conftest import payload


def offline_body(**overrides: Any) -> dict[str, Any]:
    """A valid registration (officer.id1's village) with consent given today (unless overridden)."""
    consent = {"given": True, "date": clock.today().isoformat(), "scope": "Screening"}
    return payload(**{"consent": consent, **overrides})


def operation(body: dict[str, Any] | None = None, key: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "key": key or str(uuid.uuid4()),
        "op": "client.create",
        "recorded_at": "2026-03-01T08:00:00+07:00",
        "body": body if body is not None else offline_body(),
        **extra,
    }

"""Dates and times as JSON carries them (ISO 8601): the API's answers and every payload SRS sends.

Here, below every feature, so that a service shaping a payload never imports the API layer.
"""

from __future__ import annotations

from datetime import date, datetime


def iso(value: date | datetime | None) -> str | None:
    """``value`` in ISO 8601 (an aware datetime keeps its offset), or None."""
    if value is None:
        return None
    return value.isoformat()

"""The app's one clock: every "now", "today" and "this month" of SRS comes from here.

Instants are kept in UTC; days and months are those of the configured time zone (``SRS_TIMEZONE``),
the calendar of the people who use the window. Nothing else in ``srs`` calls ``datetime.now()`` or
``date.today()``, so a test moves the whole app's time by moving this clock (time-machine does it for
the process), and a date typed on a page, read from the API or parsed from an import means the same
day everywhere (``parse_date``).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_TIMEZONE = "Asia/Jakarta"

# YYYY-MM-DD and nothing else: date.fromisoformat also takes "20261201" and "2026-W48-2", which no
# person means as a date in a form, a query string or a CSV column.
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_MONTH = re.compile(r"\d{4}-\d{2}")


def now() -> datetime:
    """The current instant, timezone-aware, in UTC."""
    return datetime.now(UTC)


def timezone() -> ZoneInfo:
    """The configured time zone: the calendar in which SRS counts days and months."""
    name = current_app.config.get("BABEL_DEFAULT_TIMEZONE") if has_app_context() else None
    return ZoneInfo(name or DEFAULT_TIMEZONE)


def today() -> date:
    """Today's date in the configured time zone (not the server's own zone)."""
    return now().astimezone(timezone()).date()


def local_date(instant: datetime) -> date:
    """The configured time zone's calendar day of ``instant``."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(timezone()).date()


def local_midnight(day: date) -> datetime:
    """The instant (UTC) at which ``day`` begins in the configured time zone."""
    return datetime.combine(day, time.min, tzinfo=timezone()).astimezone(UTC)


def month_start(day: date) -> date:
    """The first day of ``day``'s month."""
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """The first day of the month ``months`` after (or before, when negative) ``day``'s month."""
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def month_end(day: date) -> date:
    """The last day of ``day``'s month."""
    return add_months(day, 1) - timedelta(days=1)


def parse_date(raw: str) -> date:
    """A date written YYYY-MM-DD (surrounding spaces allowed); ValueError for anything else."""
    text = raw.strip()
    if not _ISO_DATE.fullmatch(text):
        raise ValueError(f"not a YYYY-MM-DD date: {text[:40]!r}")
    return date.fromisoformat(text)


def parse_month(raw: str) -> date:
    """A month written YYYY-MM, as the first day of that month; ValueError for anything else."""
    text = raw.strip()
    if not _ISO_MONTH.fullmatch(text):
        raise ValueError(f"not a YYYY-MM month: {text[:40]!r}")
    return date.fromisoformat(text + "-01")

"""The demo data on the first day of a month: nothing in it is dated in the future."""

from __future__ import annotations

from datetime import UTC, date, datetime

import time_machine
from flask import Flask
from sqlalchemy import Date, select

from srs.core import clock
from srs.core.models import UTCDateTime
from srs.core.transaction import commit
from srs.extensions import db
from srs.seed import seed_demo
from tests.conftest import DEMO_PASSWORD

# Deadlines and expiries lie ahead by nature; every other time is something that already happened.
_AHEAD = ("due", "expires", "next_", "valid_to", "end")


def _is_deadline(name: str) -> bool:
    return name.startswith(_AHEAD) or name.endswith(("_until", "_due"))


def _future_values(now: datetime, today: date) -> list[tuple[str, str, object]]:
    found = []
    for table in db.metadata.sorted_tables:
        columns = [
            c for c in table.columns if isinstance(c.type, UTCDateTime | Date) and not _is_deadline(c.name)
        ]
        for column in columns:
            for value in db.session.scalars(select(column).where(column.is_not(None))):
                later = value > now if isinstance(value, datetime) else value > today
                if later:
                    found.append((table.name, column.name, value))
    return found


def test_the_demo_holds_no_time_in_the_future(app: Flask) -> None:
    # 00:30 on 1 December in Jakarta, still 30 November in UTC: the instant at which the demo once dated
    # agency decisions on 2 and 3 December.
    moment = datetime(2026, 11, 30, 17, 30, tzinfo=UTC)
    with time_machine.travel(moment, tick=False), app.test_request_context():
        seed_demo(DEMO_PASSWORD)
        commit()
        assert clock.today() == date(2026, 12, 1)
        checked = sum(
            1 for t in db.metadata.sorted_tables for c in t.columns if isinstance(c.type, UTCDateTime)
        )
        assert checked > 20  # the walk really looks at the timestamps of every feature
        assert _future_values(clock.now(), clock.today()) == []

"""Working days: deadlines for referrals and complaints skip weekends and public holidays."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Date, String, select
from sqlalchemy.orm import Mapped, mapped_column

from srs.extensions import Model, db


class PublicHoliday(Model):
    """A public holiday of one country (admins keep the list up to date each year)."""

    __tablename__ = "public_holidays"

    id: Mapped[int] = mapped_column(primary_key=True)
    country: Mapped[str] = mapped_column(String(2), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    name: Mapped[str] = mapped_column(String(120))


def holidays_between(country: str, start: date, end: date) -> set[date]:
    stmt = select(PublicHoliday.day).where(
        PublicHoliday.country == country, PublicHoliday.day >= start, PublicHoliday.day <= end
    )
    return set(db.session.scalars(stmt))


def add_working_days(start: date, days: int, holidays: Iterable[date] = ()) -> date:
    """The date ``days`` working days after ``start`` (Saturdays, Sundays and ``holidays`` skipped)."""
    skip = set(holidays)
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in skip:
            remaining -= 1
    return current


def due_date(country: str, start: date, days: int) -> date:
    """The deadline ``days`` working days after ``start`` in ``country``, with its holidays."""
    # Weekends at most double the span; holidays add a few more days.
    horizon = start + timedelta(days=days * 2 + 30)
    return add_working_days(start, days, holidays_between(country, start, horizon))


def end_of_day(day: date, timezone: str) -> datetime:
    """The last moment of ``day`` in the office's time zone (a deadline lasts the whole day)."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=ZoneInfo(timezone))

"""The legal periods for data-subject requests, per country, as data; and the deadline arithmetic.

``PERIODS`` is the seed: one row per country, kind of request and stage, naming the law and article
it comes from. The table ``privacy_legal_periods`` holds what applies (admins may amend it); the code
only counts: hours on the clock, calendar days, or working days of the country's calendar
(srs/core/workdays.py, with its public holidays).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from srs.core import clock
from srs.core.workdays import due_date, end_of_day
from srs.extensions import db
from srs.privacy.models import LegalPeriod

ID_LAW = "UU 27/2022"
VN_LAW = "Law 91/2025/QH15; Decree 356/2025/ND-CP"
ID_OWN_STANDARD = (
    "The law gives the right but no period; SRS answers within the access period (art. 32) as its standard."
)
VN_ANSWER = "Answer within 2 working days of receiving the request."
VN_COMPLETE = "Carry out within 15 days, 20 where processors must also act; one extension of at most 15 days."

# Amounts checked against the texts; some article numbers are not verified (docs/data-protection.md,
# "What was checked, and what is not verified"): a correction goes in a new migration, not here alone.
# (country, kind, stage, amount, unit, amount_with_processors, extension_max, law, article, statutory, note)
PERIODS: tuple[tuple[str, str, str, int, str, int | None, int | None, str, str, bool, str | None], ...] = (
    ("ID", "access", "answer", 72, "hours", None, None, ID_LAW, "art. 7, art. 32", True, None),
    ("ID", "correction", "answer", 72, "hours", None, None, ID_LAW, "art. 6, art. 30", True, None),
    ("ID", "withdrawal", "answer", 72, "hours", None, None, ID_LAW, "art. 9, art. 40", True, None),
    ("ID", "restriction", "answer", 72, "hours", None, None, ID_LAW, "art. 11, art. 41", True, None),
    ("ID", "portability", "answer", 72, "hours", None, None, ID_LAW, "art. 13", False, ID_OWN_STANDARD),
    ("ID", "erasure", "answer", 72, "hours", None, None, ID_LAW, "art. 8, art. 43", False, ID_OWN_STANDARD),
    ("ID", "objection", "answer", 72, "hours", None, None, ID_LAW, "art. 10", False, ID_OWN_STANDARD),
    *(
        (
            (
                "VN",
                kind,
                "answer",
                2,
                "working_days",
                None,
                None,
                VN_LAW,
                "Decree 356/2025 (answer)",
                True,
                VN_ANSWER,
            )
        )
        for kind in (
            "access",
            "portability",
            "correction",
            "erasure",
            "objection",
            "restriction",
            "withdrawal",
        )
    ),
    *(
        (
            (
                "VN",
                kind,
                "complete",
                15,
                "days",
                20,
                15,
                VN_LAW,
                "Decree 356/2025 (completion)",
                True,
                VN_COMPLETE,
            )
        )
        for kind in ("withdrawal", "restriction", "objection")
    ),
)


def seed_legal_periods() -> int:
    """Add the rows of ``PERIODS`` that the table lacks (existing rows, perhaps amended, are kept)."""
    have = {(p.country, p.kind, p.stage) for p in db.session.scalars(select(LegalPeriod))}
    added = 0
    for country, kind, stage, amount, unit, with_proc, ext, law, article, statutory, note in PERIODS:
        if (country, kind, stage) in have:
            continue
        db.session.add(
            LegalPeriod(
                country=country,
                kind=kind,
                stage=stage,
                amount=amount,
                unit=unit,
                amount_with_processors=with_proc,
                extension_max=ext,
                law=law,
                article=article,
                statutory=statutory,
                note=note,
            )
        )
        added += 1
    db.session.flush()
    return added


def periods_for(country: str, kind: str) -> dict[str, LegalPeriod]:
    """The periods of ``kind`` in ``country`` by stage (``answer``, ``complete``); empty when none."""
    stmt = select(LegalPeriod).where(LegalPeriod.country == country, LegalPeriod.kind == kind)
    return {p.stage: p for p in db.session.scalars(stmt)}


def add_period(country: str, start: datetime, amount: int, unit: str) -> datetime:
    """The moment ``amount`` ``unit`` after ``start`` in ``country``.

    Hours run on the clock (3 x 24 hours is 72 hours, weekends included, as the law says). Days and
    working days end at the close of the office's day, as referral and complaint deadlines do;
    working days skip weekends and the country's public holidays.
    """
    if unit == "hours":
        return start + timedelta(hours=amount)
    timezone = current_app.config["BABEL_DEFAULT_TIMEZONE"]
    local_day = start.astimezone(end_of_day(start.date(), timezone).tzinfo).date()
    if unit == "working_days":
        return end_of_day(due_date(country, local_day, amount), timezone)
    if unit == "days":
        return end_of_day(local_day + timedelta(days=amount), timezone)
    raise ValueError(f"unknown period unit {unit!r}")


def describe(period: LegalPeriod) -> str:
    """The rule as one line, kept with each request: law, article, amount and unit."""
    return f"{period.law} {period.article}: {period.amount} {period.unit.replace('_', ' ')}"


@dataclass(frozen=True)
class Clock:
    """A request's deadlines as the law sets them when it comes in."""

    due_at: datetime
    complete_by: datetime | None
    rule: str
    period: LegalPeriod


def clock_for(
    country: str, kind: str, received_at: datetime | None = None, processors: bool = False
) -> Clock | None:
    """The deadlines of a ``kind`` request received at ``received_at`` in ``country``; None without a rule.

    ``processors``: other organisations process the data for SRS and must act too (the longer
    completion period applies where the law has one).
    """
    periods = periods_for(country, kind)
    first = periods.get("answer") or periods.get("complete")
    if first is None:
        return None
    start = received_at or clock.now()
    due = add_period(country, start, first.amount, first.unit)
    rule = describe(first)
    complete_by = None
    done = periods.get("complete")
    if done is not None and done is not first:
        amount = done.amount_with_processors if processors and done.amount_with_processors else done.amount
        complete_by = add_period(country, start, amount, done.unit)
        rule = f"{rule}; {done.article}: {amount} {done.unit.replace('_', ' ')}"
    return Clock(due, complete_by, rule, first)

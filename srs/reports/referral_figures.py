"""The dashboard's referral figures: whole months from the monthly summaries, the rest from the facts.

A period [start, end) splits into the whole calendar months inside it, read from the summaries
(``report_referral_months`` and its siblings: a few rows per month, region, programme and status),
and the partial months at its edges, read from ``report_referral_facts`` by range. A period that runs
past the latest referral counts its last month as whole (nothing after it exists yet), so the default
period (the first of a month eleven months ago up to today) reads the facts not at all.

The summaries are keyed by region, programme, status and sex; a filter on work status, disability or
age group (which depends on today's date) reads every row from the facts, as before the summaries.

Each figure equals what the facts (and through them the records) give over the whole period:
- referrals by status, region and month, and successful outcomes, are sums;
- clients referred (each once) are the period's referrals whose previous one is before the period
  (see ``first_referral_in_period``). For whole months the summaries count them by the month of the
  previous referral; when the period starts inside a month, the referrals of the whole months whose
  previous one is in that month but after the start are the partial month's referrals whose next
  one is in the whole months, which the scan of the partial month counts;
- the median time to a decision is located in a histogram of whole days and read exactly (one or
  two index reads of the middle day's values).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select

from srs.core import clock
from srs.extensions import db
from srs.referrals import overdue
from srs.reports.facts import DAY, decision_day, decision_value
from srs.reports.filters import (
    Filters,
    demographic_conditions,
    month_grouping,
    region_condition,
)
from srs.reports.models import ReferralFact, ReferralMonth, ReferralMonthDecision, ReferralMonthFirst


@dataclass
class ReferralFigures:
    """Referrals created in the period: by status, month and region, and what became of them."""

    by_status: dict[str, int] = field(default_factory=dict)
    total: int = 0
    completed: int = 0
    successful: int = 0
    referred_clients: int = 0
    by_month: dict[str, int] = field(default_factory=dict)
    by_region: dict[int, list[int]] = field(default_factory=dict)  # region id: [referrals, successful]
    median_days: float | None = None

    def add(self, region_id: int, status: str, month: str, referrals: int, successful: int) -> None:
        self.by_status[status] = self.by_status.get(status, 0) + referrals
        self.total += referrals
        if status == "completed":
            self.completed += referrals
        self.successful += successful
        self.by_month[month] = self.by_month.get(month, 0) + referrals
        counts = self.by_region.setdefault(region_id, [0, 0])
        counts[0] += referrals
        counts[1] += successful


def referral_fact_conditions(
    filters: Filters, start: datetime | None = None, end: datetime | None = None
) -> list[ColumnElement[bool]]:
    """The referral facts of the filters, created in [start, end) (default: the whole period)."""
    F = ReferralFact
    conds: list[ColumnElement[bool]] = [
        region_condition(F.region_id, filters),
        F.created_at >= (start or filters.start),
        F.created_at < (end or filters.end),
    ]
    if filters.programme is not None:
        conds.append(F.programme_id == filters.programme.id)
    return [*conds, *demographic_conditions(filters, F)]


def overdue_by_region(filters: Filters, now: datetime) -> dict[int, dict[str, int]]:
    """Overdue referrals (whenever they were made) per region and measure (``referrals.overdue``):
    the facts' copy of ``services.overdue_referral_conditions``, so a demographic filter needs no join
    to the clients. Grouped by status, which names the measure."""
    F = ReferralFact
    conds = [
        region_condition(F.region_id, filters),
        overdue.condition(F.status, F.due_at, now=now),
        *demographic_conditions(filters, F),
    ]
    if filters.programme is not None:
        conds.append(F.programme_id == filters.programme.id)
    rows = db.session.execute(
        select(F.region_id, F.status, func.count()).where(*conds).group_by(F.region_id, F.status)
    )
    by_status: dict[int, list[tuple[str, int]]] = {}
    for region_id, status, n in rows:
        by_status.setdefault(region_id, []).append((status, n))
    return {region_id: overdue.by_kind(counts) for region_id, counts in by_status.items()}


def first_referral_in_period(filters: Filters) -> ColumnElement[bool]:
    """The client's first referral in the period (to the chosen programme, when one is chosen).

    Only for clients referred in one region: under a region filter a client referred elsewhere
    first would otherwise be missed. The others (``multi_region``) are counted with a DISTINCT.
    """
    F = ReferralFact
    prev = F.prev_programme_at if filters.programme is not None else F.prev_at
    return and_(~F.multi_region, or_(prev.is_(None), prev < filters.start))


def median_days(value: Any) -> float | None:
    """A time to a decision in seconds as days, to one decimal (the dashboard's figure)."""
    return None if value is None else round(float(value) / 86400, 1)


# ---------------------------------------------------------------------------------------------
# The summaries' calendar: local months on PostgreSQL, UTC months on SQLite (see facts.month_key)


def _postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


def _calendar_month(moment: datetime) -> int:
    """The summaries' month (yyyymm) a moment falls in."""
    day = moment.astimezone(clock.timezone() if _postgresql() else UTC).date()
    return day.year * 100 + day.month


def _month_start(month: int) -> datetime:
    year, number = divmod(month, 100)
    if _postgresql():
        return clock.local_midnight(date(year, number, 1))
    return datetime(year, number, 1, tzinfo=UTC)


def _next_month(month: int) -> int:
    # yyyy12 + 89 = (yyyy + 1)01
    return month + 89 if month % 100 == 12 else month + 1


def _month_label(month: int) -> str:
    return f"{month // 100:04d}-{month % 100:02d}"


@dataclass
class PeriodSplit:
    """Where each part of a period is read from."""

    ranges: list[tuple[datetime, datetime]]  # from the facts, by range
    months: list[int] = field(default_factory=list)  # whole months, from the summaries
    start_month: int | None = None  # the month the period starts inside of, when ``months``

    @property
    def whole(self) -> tuple[datetime, datetime] | None:
        """[first whole month's start, last whole month's end), or None."""
        if not self.months:
            return None
        return _month_start(self.months[0]), _month_start(_next_month(self.months[-1]))


def split_period(filters: Filters, latest: datetime | None) -> PeriodSplit:
    """The whole months inside the period and the partial ones at its edges.

    ``latest`` is the newest referral's creation time: a month the period ends inside of counts as
    whole when nothing after the period's end exists yet.
    """
    start, end = filters.start, filters.end
    open_ended = latest is None or latest < end
    month = _calendar_month(start)
    start_month = None
    if _month_start(month) < start:
        start_month, month = month, _next_month(month)
    months: list[int] = []
    while _month_start(month) < end and (open_ended or _month_start(_next_month(month)) <= end):
        months.append(month)
        month = _next_month(month)
    if not months:
        return PeriodSplit(ranges=[(start, end)])
    whole_start, whole_end = _month_start(months[0]), _month_start(month)
    ranges = []
    if start < whole_start:
        ranges.append((start, whole_start))
    if whole_end < end and not open_ended:
        ranges.append((whole_end, end))
    return PeriodSplit(ranges=ranges, months=months, start_month=start_month)


def summaries_apply(filters: Filters) -> bool:
    """The summaries hold every filter but work status, disability and age group."""
    return not (filters.work_status or filters.disability is not None or filters.age_group)


# ---------------------------------------------------------------------------------------------
# The figures


def referral_figures(filters: Filters, from_summaries: bool = True) -> ReferralFigures:
    """Every referral figure of the dashboard for these filters (within the user's regions).

    ``from_summaries=False`` reads every row from the facts: what the summaries are checked against.
    """
    F = ReferralFact
    figures = ReferralFigures()
    if from_summaries and summaries_apply(filters):
        split = split_period(filters, db.session.scalar(select(func.max(F.created_at))))
    else:
        split = PeriodSplit(ranges=[(filters.start, filters.end)])
    histogram: dict[int, int] = {}
    for start, end in split.ranges:
        _add_from_facts(filters, start, end, split, figures, histogram)
    if split.months:
        _add_from_summaries(filters, split, figures, histogram)
    # Clients referred in more than one region: few, counted apart (see first_referral_in_period).
    figures.referred_clients += (
        db.session.scalar(
            select(func.count(func.distinct(F.client_id))).where(
                *referral_fact_conditions(filters), F.multi_region
            )
        )
        or 0
    )
    figures.median_days = _median(referral_fact_conditions(filters), histogram)
    return figures


def _add_from_facts(
    filters: Filters,
    start: datetime,
    end: datetime,
    split: PeriodSplit,
    figures: ReferralFigures,
    histogram: dict[int, int],
) -> None:
    """One grouped range scan of the facts created in [start, end)."""
    F = ReferralFact
    month, month_label = month_grouping(F.created_at, filters)
    day = decision_day(db.engine.dialect.name)
    columns = [
        F.region_id,
        F.status,
        month,
        day,
        func.count(),
        func.count().filter(F.successful),
        func.count().filter(first_referral_in_period(filters)),
    ]
    whole = split.whole
    starts_inside = split.start_month is not None and whole is not None and start == filters.start
    if starts_inside and whole is not None:
        # This partial month's referrals whose next one is in the whole months: those next ones have
        # their previous referral inside the period, though in the month it starts in (see below).
        nxt = F.next_programme_at if filters.programme is not None else F.next_at
        columns.append(func.count().filter(~F.multi_region, nxt >= whole[0], nxt < whole[1]))
    # (region, status, month, day, referrals, successful, first referrals[, followed]): Any, as
    # the columns are a list.
    rows: Iterable[Any] = db.session.execute(
        select(*columns)
        .where(*referral_fact_conditions(filters, start, end))
        .group_by(F.region_id, F.status, month, day)
    )
    for region_id, status, month_value, day_value, n, ok, first, *followed in rows:
        figures.add(region_id, status, month_label(month_value), n, ok)
        figures.referred_clients += first - (followed[0] if followed else 0)
        if day_value is not None:
            histogram[day_value] = histogram.get(day_value, 0) + n


def _summary_conditions(table: Any, filters: Filters, months: list[int]) -> list[ColumnElement[bool]]:
    conds = [
        region_condition(table.region_id, filters),
        table.month >= months[0],
        table.month <= months[-1],
    ]
    if filters.programme is not None:
        conds.append(table.programme_id == filters.programme.id)
    if filters.sex:
        conds.append(table.sex == filters.sex)
    return conds


def _add_from_summaries(
    filters: Filters, split: PeriodSplit, figures: ReferralFigures, histogram: dict[int, int]
) -> None:
    """The whole months of the period, from the monthly summaries."""
    S, D, R = ReferralMonth, ReferralMonthDecision, ReferralMonthFirst
    rows = db.session.execute(
        select(S.region_id, S.status, S.month, func.sum(S.referrals), func.sum(S.successful))
        .where(*_summary_conditions(S, filters, split.months))
        .group_by(S.region_id, S.status, S.month)
    )
    for region_id, status, month, n, ok in rows:
        if n:  # a status no referral has any more leaves a row of zeros
            figures.add(region_id, status, _month_label(month), int(n), int(ok))
    day_rows = db.session.execute(
        select(D.day, func.sum(D.referrals))
        .where(*_summary_conditions(D, filters, split.months))
        .group_by(D.day)
    )
    for day, n in day_rows:
        if n:
            histogram[day] = histogram.get(day, 0) + int(n)
    # Clients referred: the whole months' referrals whose previous one is before the period. When the
    # period starts inside a month, those whose previous one is in that month count too, less the
    # ones whose previous one is after the start (taken off in _add_from_facts).
    first_month = split.start_month or split.months[0]
    counted = R.prev_month < first_month
    if split.start_month is not None:
        counted = R.prev_month <= first_month
    first = db.session.scalar(
        select(func.coalesce(func.sum(R.referrals), 0)).where(
            *_summary_conditions(R, filters, split.months),
            R.same_programme.is_(filters.programme is not None),
            counted,
        )
    )
    figures.referred_clients += int(first or 0)


def _median(conds: list[ColumnElement[bool]], histogram: dict[int, int]) -> float | None:
    """The median time to a decision over the facts matching ``conds``, exactly as the records give
    it (``services.median_days_to_decision``), located in the histogram of whole days.

    The middle one or two values are read in order from their day, through the index on decision
    times. PostgreSQL's ``percentile_cont(0.5)`` interpolates ``a + (b - a) * 0.5`` between them,
    SQLite's former median averaged them: each backend keeps its own arithmetic.
    """
    total = sum(histogram.values())
    if total == 0:
        return None
    dialect = db.engine.dialect.name
    value: ColumnElement[Any] = decision_value(dialect)
    day = decision_day(dialect)
    width = DAY if dialect == "postgresql" else 1.0
    low_rank, high_rank = (total - 1) // 2, total // 2
    # Where each rank falls: (day, offset within the day).
    places: list[tuple[int, int]] = []
    before = 0
    for bucket, n in sorted(histogram.items()):
        for rank in (low_rank, high_rank):
            if before <= rank < before + n and len(places) < 2:
                places.append((bucket, rank - before))
        before += n
    values: list[float] = []
    for bucket in sorted({b for b, _ in places}):
        offsets = [offset for b, offset in places if b == bucket]
        middle: list[Any] = list(
            db.session.scalars(
                # The range (a little wider) lets the index narrow the scan; the day expression
                # decides membership, as it did in the histogram.
                select(value)
                .where(*conds, value >= (bucket - 1) * width, value < (bucket + 2) * width, day == bucket)
                .order_by(value)
                .offset(min(offsets))
                .limit(max(offsets) - min(offsets) + 1)
            )
        )
        values += [float(v) for v in middle]
    values = values[:1] if low_rank == high_rank else values[:2]
    if not values:
        # Summaries out of step with the facts (a load past the app, before the rebuild command).
        return None
    first, second = values[0], values[-1]
    if dialect == "postgresql":
        return median_days(first + (second - first) * 0.5)
    return round((first + second) / 2, 1)

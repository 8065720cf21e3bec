"""The supervisor's numbers: aggregates in SQL over clients, screenings, referrals and complaints.

Every figure is computed within the caller's regions (admins: everywhere) and the chosen filters,
and every figure has a drill-down list built from the same conditions, so the list behind a number
always has that many rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    DateTime,
    Integer,
    Select,
    and_,
    bindparam,
    cast,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.orm import aliased

from srs.cases.models import COMPLAINT_OPEN_STATUSES, Complaint
from srs.core.models import utcnow
from srs.core.scope import region_id_condition, region_in_scope, region_paths, sees_everything
from srs.extensions import db
from srs.programmes.models import Programme, Screening, ScreeningResult
from srs.referrals.models import OPEN_STATUSES, STATUSES, Referral
from srs.referrals.services import STATUS_LABELS
from srs.regions.models import Region
from srs.registry.models import SEXES, WORK_STATUSES, Client
from srs.reports.facts import ANY_PROGRAMME
from srs.reports.models import ReferralFact, ScreeningFact

AGE_GROUPS: dict[str, tuple[int, int | None]] = {
    "0-14": (0, 14),
    "15-24": (15, 24),
    "25-34": (25, 34),
    "35-44": (35, 44),
    "45-54": (45, 54),
    "55-64": (55, 64),
    "65+": (65, None),
}
MAX_SPAN_DAYS = 3660


@dataclass
class Filters:
    """What the supervisor chose; ``region`` is None for "all my regions"."""

    date_from: date
    date_to: date
    region: Region | None = None
    programme: Programme | None = None
    sex: str | None = None
    age_group: str | None = None
    work_status: str | None = None
    disability: bool | None = None
    today: date = field(default_factory=date.today)

    def as_args(self) -> dict[str, str]:
        """The filters as query-string arguments (for links to drill-downs and exports)."""
        args = {"from": self.date_from.isoformat(), "to": self.date_to.isoformat()}
        if self.region is not None:
            args["region"] = self.region.code
        if self.programme is not None:
            args["programme"] = self.programme.code
        for key in ("sex", "age_group", "work_status"):
            if getattr(self, key):
                args[key] = getattr(self, key)
        if self.disability is not None:
            args["disability"] = "yes" if self.disability else "no"
        return args

    @property
    def start(self) -> datetime:
        return _local_midnight(self.date_from)

    @property
    def end(self) -> datetime:
        return _local_midnight(self.date_to + timedelta(days=1))


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "UTC"))


def local_today() -> date:
    return datetime.now(_tz()).date()


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=_tz()).astimezone(UTC)


def default_period(today: date) -> tuple[date, date]:
    """The last twelve months up to today, from the first of the month."""
    month = today.month - 11
    year = today.year
    if month <= 0:
        month += 12
        year -= 1
    return date(year, month, 1), today


class FilterError(Exception):
    """Bad filter values: ``errors`` per field; ``region_out_of_scope`` when the region is not the user's."""

    def __init__(self, errors: dict[str, list[str]], region_out_of_scope: bool = False) -> None:
        super().__init__(errors)
        self.errors = errors
        self.region_out_of_scope = region_out_of_scope


def _parse_date(raw: str | None, name: str, errors: dict[str, list[str]]) -> date | None:
    if raw is None or raw.strip() == "":
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        errors[name] = [_("%(value)s is not a date (use YYYY-MM-DD).", value=raw[:40])]
        return None


def parse_filters(args: Mapping[str, str]) -> Filters:
    """Read the filters from a query string; raises FilterError with a message per field."""
    errors: dict[str, list[str]] = {}
    today = local_today()
    default_from, default_to = default_period(today)
    date_from = _parse_date(args.get("from"), "from", errors) or default_from
    date_to = _parse_date(args.get("to"), "to", errors) or default_to
    if not errors:
        if date_from > date_to:
            errors["to"] = [_("The end date is before the start date.")]
        elif (date_to - date_from).days > MAX_SPAN_DAYS:
            errors["from"] = [_("Choose a period of at most ten years.")]
    region = None
    out_of_scope = False
    code = (args.get("region") or "").strip()
    if code:
        region = db.session.scalar(select(Region).where(Region.code == code))
        if region is None or not region_in_scope(region):
            errors["region"] = [_("%(code)s is not one of your regions.", code=code[:40])]
            out_of_scope = True
            region = None
    programme = None
    pcode = (args.get("programme") or "").strip()
    if pcode:
        programme = db.session.scalar(select(Programme).where(Programme.code == pcode))
        if programme is None:
            errors["programme"] = [_("No programme has the code %(code)s.", code=pcode[:40])]
    sex = (args.get("sex") or "").strip() or None
    if sex and sex not in SEXES:
        errors["sex"] = [_("Choose female or male.")]
    age_group = (args.get("age_group") or "").strip() or None
    if age_group and age_group not in AGE_GROUPS:
        errors["age_group"] = [_("Choose one of the age groups.")]
    work_status = (args.get("work_status") or "").strip() or None
    if work_status and work_status not in WORK_STATUSES:
        errors["work_status"] = [_("Choose one of the work statuses.")]
    disability_raw = (args.get("disability") or "").strip()
    disability = {"yes": True, "no": False, "": None}.get(disability_raw)
    if disability_raw not in ("yes", "no", ""):
        errors["disability"] = [_("Choose yes or no.")]
    if errors:
        raise FilterError(errors, region_out_of_scope=out_of_scope and len(errors) == 1)
    return Filters(
        date_from=date_from,
        date_to=date_to,
        region=region,
        programme=programme,
        sex=sex,
        age_group=age_group,
        work_status=work_status,
        disability=disability,
        today=today,
    )


# ---------------------------------------------------------------------------------------------
# Conditions shared by the aggregates and the drill-down lists


def _region_ids_under(region: Region) -> Select[Any]:
    return select(Region.id).where(Region.path.startswith(region.path, autoescape=True))


def region_condition(column: Any, filters: Filters) -> ColumnElement[bool]:
    """The record's region is the chosen one (or below it), always within the user's scope."""
    if filters.region is not None:
        return column.in_(_region_ids_under(filters.region))
    return region_id_condition(column)


def _demographic_conditions(filters: Filters, source: Any = Client) -> list[ColumnElement[bool]]:
    """The sex, work status, disability and age group filters on ``source`` (clients or the facts)."""
    conds: list[ColumnElement[bool]] = []
    if filters.sex:
        conds.append(source.sex == filters.sex)
    if filters.work_status:
        conds.append(source.work_status == filters.work_status)
    if filters.disability is not None:
        conds.append(source.disability.is_(filters.disability))
    if filters.age_group:
        low, high = AGE_GROUPS[filters.age_group]
        # Aged at least ``low`` today: born on or before today minus ``low`` years.
        conds.append(source.date_of_birth <= _years_before(filters.today, low))
        if high is not None:
            conds.append(source.date_of_birth > _years_before(filters.today, high + 1))
    return conds


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _has_demographics(filters: Filters) -> bool:
    return bool(filters.sex or filters.work_status or filters.disability is not None or filters.age_group)


def client_conditions(filters: Filters) -> list[ColumnElement[bool]]:
    return [
        Client.merged_into_id.is_(None),
        region_condition(Client.region_id, filters),
        *_demographic_conditions(filters),
    ]


def referral_conditions(filters: Filters, period: bool = True) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [region_condition(Referral.region_id, filters)]
    if period:
        conds += [Referral.created_at >= filters.start, Referral.created_at < filters.end]
    if filters.programme is not None:
        conds.append(Referral.programme_id == filters.programme.id)
    if _has_demographics(filters):
        conds.append(Referral.client_id.in_(select(Client.id).where(*_demographic_conditions(filters))))
    return conds


def _screened_condition(filters: Filters) -> ColumnElement[bool]:
    """The client was screened in the period (for the chosen programme, when one is chosen)."""
    stmt = select(Screening.id).where(
        Screening.client_id == Client.id,
        Screening.screened_at >= filters.start,
        Screening.screened_at < filters.end,
    )
    if filters.programme is not None:
        stmt = stmt.where(
            exists().where(
                ScreeningResult.screening_id == Screening.id,
                ScreeningResult.programme_id == filters.programme.id,
            )
        )
    return stmt.exists()


def _eligible_condition(filters: Filters) -> ColumnElement[bool]:
    """A screening in the period found the client eligible (for the chosen programme if any)."""
    stmt = (
        select(Screening.id)
        .join(ScreeningResult, ScreeningResult.screening_id == Screening.id)
        .where(
            Screening.client_id == Client.id,
            Screening.screened_at >= filters.start,
            Screening.screened_at < filters.end,
            ScreeningResult.outcome == "eligible",
        )
    )
    if filters.programme is not None:
        stmt = stmt.where(ScreeningResult.programme_id == filters.programme.id)
    return stmt.exists()


def _is_latest_screening() -> ColumnElement[bool]:
    # Screening ids grow with time: no screening of the same client with a higher id means latest.
    newer = aliased(Screening)
    return ~exists().where(newer.client_id == Screening.client_id, newer.id > Screening.id)


def gap_statement(filters: Filters) -> Select[Any]:
    """(client, programme, screened at) where the client's latest screening (in the period) says
    eligible and the client has no referral to that programme: the coverage gap."""
    stmt = (
        select(Client, Programme, Screening.screened_at)
        .join(Screening, Screening.client_id == Client.id)
        .join(ScreeningResult, ScreeningResult.screening_id == Screening.id)
        .join(Programme, Programme.id == ScreeningResult.programme_id)
        .where(
            *client_conditions(filters),
            _is_latest_screening(),
            Screening.screened_at >= filters.start,
            Screening.screened_at < filters.end,
            ScreeningResult.outcome == "eligible",
            ~exists().where(
                Referral.client_id == Client.id, Referral.programme_id == ScreeningResult.programme_id
            ),
        )
    )
    if filters.programme is not None:
        stmt = stmt.where(ScreeningResult.programme_id == filters.programme.id)
    return stmt


def _now() -> datetime:
    return utcnow()


# ---------------------------------------------------------------------------------------------
# Aggregates


def _month_grouping(column: Any, filters: Filters) -> tuple[Any, Callable[[Any], str]]:
    """A value to group a timestamp by its local calendar month, and how to read it as "YYYY-MM"."""
    if db.engine.dialect.name != "postgresql":
        return func.strftime("%Y-%m", column), str
    # The number of the month among the period's month starts (local midnights, in UTC): a binary
    # search per row, much cheaper than converting every timestamp to local time.
    keys: list[str] = []
    starts: list[datetime] = []
    year, month = filters.date_from.year, filters.date_from.month
    while True:
        starts.append(_local_midnight(date(year, month, 1)))
        if (year, month) > (filters.date_to.year, filters.date_to.month):
            break
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    bucket = func.width_bucket(
        column, bindparam("month_starts", starts, type_=ARRAY(DateTime(timezone=True)))
    )
    return bucket, lambda n: keys[n - 1]


def _months(filters: Filters) -> list[str]:
    months = []
    year, month = filters.date_from.year, filters.date_from.month
    while (year, month) <= (filters.date_to.year, filters.date_to.month):
        months.append(f"{year:04d}-{month:02d}")
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return months[-24:]


def _median_days(seconds: Any) -> float | None:
    return None if seconds is None else round(float(seconds) / 86400, 1)


def median_days_to_decision(filters: Filters) -> float | None:
    """Median days from referral to the agency's decision, over referrals created in the period.

    Read from the records with a sort: the definition the dashboard's figure (``_referral_median``,
    from the facts without a sort) is checked against.
    """
    conds = [*referral_conditions(filters), Referral.decided_at.is_not(None)]
    if db.engine.dialect.name == "postgresql":
        seconds = func.extract("epoch", Referral.decided_at - Referral.created_at)
        return _median_days(
            db.session.scalar(select(func.percentile_cont(0.5).within_group(seconds)).where(*conds))
        )
    # SQLite has no percentile: count, then read only the one or two middle values in order.
    days = func.julianday(Referral.decided_at) - func.julianday(Referral.created_at)
    n = db.session.scalar(select(func.count()).select_from(Referral).where(*conds)) or 0
    if n == 0:
        return None
    middle = list(
        db.session.scalars(select(days).where(*conds).order_by(days).offset((n - 1) // 2).limit(2 - n % 2))
    )
    return round(sum(middle) / len(middle), 1)


@dataclass
class Dashboard:
    filters: Filters
    registered: int = 0
    screened: int = 0
    eligible: int = 0
    gap: int = 0
    referred_clients: int = 0
    referrals: dict[str, int] = field(default_factory=dict)
    referrals_total: int = 0
    completed: int = 0
    successful: int = 0
    median_days: float | None = None
    overdue_referrals: int = 0
    overdue_complaints: int = 0
    escalated_complaints: int = 0
    months: list[str] = field(default_factory=list)
    trend_referrals: dict[str, int] = field(default_factory=dict)
    trend_registered: dict[str, int] = field(default_factory=dict)
    districts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def share_successful(self) -> float | None:
        return None if self.completed == 0 else self.successful / self.completed

    @property
    def funnel(self) -> list[tuple[str, Any, int]]:
        return [
            ("registered", _l("Registered"), self.registered),
            ("screened", _l("Screened"), self.screened),
            ("eligible", _l("Eligible"), self.eligible),
            ("referred", _l("Referred"), self.referred_clients),
            ("successful", _l("Covered (successful referral)"), self.successful),
        ]


def comparison_regions(filters: Filters) -> list[Region]:
    """The regions compared side by side: the children of the chosen region, else of the user's
    own regions (one level down), else (admins) the countries' top regions."""
    if filters.region is not None:
        parents = [filters.region]
    elif sees_everything():
        return list(
            db.session.scalars(select(Region).where(Region.parent_id.is_(None)).order_by(Region.code))
        )
    else:
        paths = region_paths()
        parents = list(db.session.scalars(select(Region).where(Region.path.in_(paths)).order_by(Region.code)))
    children: list[Region] = []
    for parent in parents:
        kids = list(
            db.session.scalars(select(Region).where(Region.parent_id == parent.id).order_by(Region.code))
        )
        children.extend(kids or [parent])
    return children


def _bucket(path_by_id: dict[int, str], buckets: list[Region]) -> Callable[[int], Region | None]:
    cache: dict[int, Region | None] = {}

    def find(region_id: int) -> Region | None:
        if region_id not in cache:
            path = path_by_id.get(region_id, "")
            cache[region_id] = next((b for b in buckets if path.startswith(b.path)), None)
        return cache[region_id]

    return find


def referral_fact_conditions(filters: Filters) -> list[ColumnElement[bool]]:
    """``referral_conditions`` on the referral facts (the same rows, without a join to clients)."""
    F = ReferralFact
    conds: list[ColumnElement[bool]] = [
        region_condition(F.region_id, filters),
        F.created_at >= filters.start,
        F.created_at < filters.end,
    ]
    if filters.programme is not None:
        conds.append(F.programme_id == filters.programme.id)
    return [*conds, *_demographic_conditions(filters, F)]


def _first_referral_in_period(filters: Filters) -> ColumnElement[bool]:
    """The client's first referral in the period (to the chosen programme, when one is chosen).

    Only for clients referred in one region: under a region filter a client referred elsewhere
    first would otherwise be missed. The others (``multi_region``) are counted with a DISTINCT.
    """
    F = ReferralFact
    prev = F.prev_programme_at if filters.programme is not None else F.prev_at
    return and_(~F.multi_region, or_(prev.is_(None), prev < filters.start))


_HOUR = 3600.0


def _decision_time() -> tuple[Any, Any, float]:
    """(time to a decision, its hour bucket, an hour in its unit) on the referral facts; NULL for
    referrals not decided. PostgreSQL's former median measured seconds with extract(epoch ...),
    SQLite's days with julianday(): each keeps its own measure, so each shows what it showed."""
    F = ReferralFact
    if db.engine.dialect.name == "postgresql":
        return F.decision_seconds, func.floor(F.decision_seconds / _HOUR), _HOUR
    days = func.julianday(F.decided_at) - func.julianday(F.created_at)
    return days, cast(days * 24, Integer), 1 / 24


def _referral_median(
    conds: list[ColumnElement[bool]], hours: dict[float, tuple[int, float, float]]
) -> float | None:
    """The median days to a decision over the referral facts matching ``conds``, exactly as the
    records give it (``median_days_to_decision``) but without sorting every decided referral.

    ``hours`` is the histogram of their decision times by hour (bucket: count, lowest, highest
    value), which the dashboard's grouped scan collects on the way. It locates the one or two middle
    values; only when one of them is inside an hour holding several different values are that
    hour's values read, in order, through the index on decision times.
    PostgreSQL's ``percentile_cont(0.5)`` interpolates ``a + (b - a) * 0.5`` between the middle
    values, SQLite's former median averaged them: each backend keeps its own arithmetic.
    """
    value, bucket, width = _decision_time()
    ordered = sorted(hours.items())
    total = sum(n for n, _low, _high in hours.values())
    if total == 0:
        return None

    def value_at(rank: int) -> float:
        before = 0
        for b, (n, low, high) in ordered:
            if rank < before + n:
                offset = rank - before
                if offset == 0 or low == high:
                    return float(low)
                if offset == n - 1:
                    return float(high)
                # The range (a little wider) only lets the index narrow the scan; the bucket
                # expression decides membership, as it did in the histogram.
                return float(
                    db.session.scalar(
                        select(value)
                        .where(
                            *conds,
                            value >= (b - 1) * width,
                            value < (b + 2) * width,
                            bucket == b,
                        )
                        .order_by(value)
                        .offset(offset)
                        .limit(1)
                    )
                )
            before += n
        raise AssertionError("rank beyond the histogram")  # pragma: no cover

    low_rank, high_rank = (total - 1) // 2, total // 2
    first = value_at(low_rank)
    if db.engine.dialect.name == "postgresql":
        second = first if high_rank == low_rank else value_at(high_rank)
        return _median_days(first + (second - first) * 0.5)
    middle = [first] if high_rank == low_rank else [first, value_at(high_rank)]
    return round(sum(middle) / len(middle), 1)


def _client_funnel(filters: Filters) -> tuple[int, int, int]:
    """Clients screened, clients found eligible and the coverage gap, from the facts table.

    Each figure equals the count of its drill-down list (``_screened_condition``,
    ``_eligible_condition``, ``gap_statement`` over the records); the facts make it one range scan.
    """
    F = ScreeningFact
    common = [
        F.programme_id == (filters.programme.id if filters.programme is not None else ANY_PROGRAMME),
        region_condition(F.region_id, filters),
        F.screened_at >= filters.start,
        F.screened_at < filters.end,
        *_demographic_conditions(filters, F),
    ]
    # A client counts once: at their first (eligible) screening within the period.
    first_screened = or_(F.prev_at.is_(None), F.prev_at < filters.start)
    first_eligible = and_(
        F.eligible.is_(True), or_(F.prev_eligible_at.is_(None), F.prev_eligible_at < filters.start)
    )
    screened, eligible, gap = db.session.execute(
        select(
            func.count().filter(first_screened),
            func.count().filter(first_eligible),
            func.coalesce(func.sum(F.gaps), 0),
        ).where(*common)
    ).one()
    return screened or 0, eligible or 0, gap or 0


def dashboard(filters: Filters) -> Dashboard:
    """Every number of the supervisor dashboard, a handful of grouped SQL queries."""
    result = Dashboard(filters=filters, months=_months(filters))
    now = _now()
    buckets = comparison_regions(filters)
    path_by_id: dict[int, str] = {
        rid: path for rid, path in db.session.execute(select(Region.id, Region.path))
    }
    bucket_of = _bucket(path_by_id, buckets)
    per_district: dict[int, dict[str, int]] = {
        b.id: {"registered": 0, "referrals": 0, "successful": 0, "overdue": 0} for b in buckets
    }

    # Clients registered, by region and month: one grouped scan.
    month, month_key = _month_grouping(Client.created_at, filters)
    rows = db.session.execute(
        select(Client.region_id, month, func.count())
        .where(
            *client_conditions(filters), Client.created_at >= filters.start, Client.created_at < filters.end
        )
        .group_by(Client.region_id, month)
    )
    for region_id, month_value, n in rows:
        ym = month_key(month_value)
        result.registered += n
        result.trend_registered[ym] = result.trend_registered.get(ym, 0) + n
        bucket = bucket_of(region_id)
        if bucket is not None:
            per_district[bucket.id]["registered"] += n

    result.screened, result.eligible, result.gap = _client_funnel(filters)

    # Referrals created in the period, by region, status, month and hour to a decision, with
    # successful outcomes and first referrals (each client once): one range scan of the referral
    # facts gives every referral figure, the median's histogram included.
    F = ReferralFact
    referral_conds = referral_fact_conditions(filters)
    month, month_key = _month_grouping(F.created_at, filters)
    decision, hour, _width = _decision_time()
    rows = db.session.execute(
        select(
            F.region_id,
            F.status,
            month,
            hour,
            func.count(),
            func.count().filter(F.successful),
            func.count().filter(_first_referral_in_period(filters)),
            func.min(decision),
            func.max(decision),
        )
        .where(*referral_conds)
        .group_by(F.region_id, F.status, month, hour)
    )
    hours: dict[float, tuple[int, float, float]] = {}
    for region_id, status, month_value, hour_value, n, ok, first, low, high in rows:
        ym = month_key(month_value)
        result.referrals[status] = result.referrals.get(status, 0) + n
        result.referrals_total += n
        result.referred_clients += first
        result.trend_referrals[ym] = result.trend_referrals.get(ym, 0) + n
        if status == "completed":
            result.completed += n
        result.successful += ok
        bucket = bucket_of(region_id)
        if bucket is not None:
            per_district[bucket.id]["referrals"] += n
            per_district[bucket.id]["successful"] += ok
        if hour_value is not None:
            seen_n, seen_low, seen_high = hours.get(float(hour_value), (0, low, high))
            hours[float(hour_value)] = (seen_n + n, min(seen_low, low), max(seen_high, high))
    # Clients referred in more than one region: few, counted apart (see _first_referral_in_period).
    result.referred_clients += (
        db.session.scalar(
            select(func.count(func.distinct(F.client_id))).where(*referral_conds, F.multi_region)
        )
        or 0
    )
    result.median_days = _referral_median(referral_conds, hours)

    rows = db.session.execute(
        select(Referral.region_id, func.count())
        .where(*overdue_referral_conditions(filters, now))
        .group_by(Referral.region_id)
    )
    for region_id, n in rows:
        result.overdue_referrals += n
        bucket = bucket_of(region_id)
        if bucket is not None:
            per_district[bucket.id]["overdue"] += n
    result.overdue_complaints, result.escalated_complaints = db.session.execute(
        select(func.count(), func.count(Complaint.escalated_at)).where(*overdue_complaint_conditions(filters))
    ).one()
    result.districts = [{"region": b, **per_district[b.id]} for b in buckets]
    return result


def overdue_referral_conditions(filters: Filters, now: datetime | None = None) -> list[ColumnElement[bool]]:
    """Open referrals past their due time (whenever they were made)."""
    return [
        *referral_conditions(filters, period=False),
        Referral.status.in_(OPEN_STATUSES),
        Referral.due_at < (now or _now()),
    ]


def overdue_complaint_conditions(filters: Filters) -> list[ColumnElement[bool]]:
    conds = [
        region_condition(Complaint.region_id, filters),
        Complaint.status.in_(COMPLAINT_OPEN_STATUSES),
        Complaint.due_on < filters.today,
    ]
    if _has_demographics(filters):
        conds.append(Complaint.client_id.in_(select(Client.id).where(*_demographic_conditions(filters))))
    return conds


# ---------------------------------------------------------------------------------------------
# Drill-down lists: the rows behind each number, with their export columns


@dataclass
class Listing:
    kind: str
    title: Any
    statement: Select[Any]
    headers: list[Any]
    row: Callable[[Any], list[Any]]
    scalars: bool = True
    client_col: int | None = 0


def _client_row(c: Client) -> list[Any]:
    return [c.id, c.full_name, c.sex, c.date_of_birth, c.region.name, c.work_status or "", c.created_at]


CLIENT_HEADERS = [
    _l("Client"),
    _l("Name"),
    _l("Sex"),
    _l("Date of birth"),
    _l("Region"),
    _l("Work status"),
    _l("Registered"),
]
REFERRAL_HEADERS = [
    _l("Referral"),
    _l("Client"),
    _l("Name"),
    _l("Programme"),
    _l("Region"),
    _l("Status"),
    _l("Outcome"),
    _l("Created"),
    _l("Decided"),
    _l("Due"),
]


def _referral_row(r: Any) -> list[Any]:
    referral, client_name, programme_code, region_name = r
    return [
        referral.id,
        referral.client_id,
        client_name,
        programme_code,
        region_name,
        referral.status,
        referral.outcome or "",
        referral.created_at,
        referral.decided_at,
        referral.due_at,
    ]


def _referral_statement(conds: list[ColumnElement[bool]]) -> Select[Any]:
    return (
        select(Referral, Client.full_name, Programme.code, Region.name)
        .join(Client, Client.id == Referral.client_id)
        .join(Programme, Programme.id == Referral.programme_id)
        .join(Region, Region.id == Referral.region_id)
        .where(*conds)
    )


LIST_KINDS = (
    "registered",
    "screened",
    "eligible",
    "gap",
    "referred",
    "referrals",
    "successful",
    "completed",
    "decided",
    "overdue_referrals",
    "overdue_complaints",
)


def listing(kind: str, filters: Filters, status: str | None = None) -> Listing | None:
    """The drill-down list behind one dashboard number (None for an unknown kind)."""
    client_base = select(Client).where(*client_conditions(filters))
    if kind == "registered":
        stmt = client_base.where(Client.created_at >= filters.start, Client.created_at < filters.end)
        return Listing(
            kind,
            _l("Clients registered"),
            stmt.order_by(Client.created_at.desc(), Client.id.desc()),
            CLIENT_HEADERS,
            _client_row,
        )
    if kind == "screened":
        stmt = client_base.where(_screened_condition(filters)).order_by(Client.full_name, Client.id)
        return Listing(kind, _l("Clients screened"), stmt, CLIENT_HEADERS, _client_row)
    if kind == "eligible":
        stmt = client_base.where(_eligible_condition(filters)).order_by(Client.full_name, Client.id)
        return Listing(kind, _l("Clients found eligible"), stmt, CLIENT_HEADERS, _client_row)
    if kind == "referred":
        # The same rows the count takes: the referrals carry region and period, clients only the name.
        stmt = (
            select(Client)
            .where(Client.id.in_(select(Referral.client_id).where(*referral_conditions(filters))))
            .order_by(Client.full_name, Client.id)
        )
        return Listing(kind, _l("Clients referred"), stmt, CLIENT_HEADERS, _client_row)
    if kind == "gap":
        stmt = gap_statement(filters).order_by(Screening.screened_at, Client.id, Programme.code)
        headers = [_l("Client"), _l("Name"), _l("Region"), _l("Programme"), _l("Screened")]

        def gap_row(r: Any) -> list[Any]:
            client, programme, screened_at = r
            return [client.id, client.full_name, client.region.name, programme.code, screened_at]

        return Listing(kind, _l("Eligible but not referred"), stmt, headers, gap_row, scalars=False)
    conds = referral_conditions(filters)
    title: Any = _l("Referrals")
    if kind == "referrals":
        if status in STATUSES:
            conds.append(Referral.status == status)
            title = _l("Referrals: %(status)s", status=STATUS_LABELS[status])
    elif kind == "completed":
        conds.append(Referral.status == "completed")
        title = _l("Completed referrals")
    elif kind == "successful":
        conds += [Referral.status == "completed", Referral.outcome == "successful"]
        title = _l("Completed with a successful outcome")
    elif kind == "decided":
        conds.append(Referral.decided_at.is_not(None))
        title = _l("Referrals with a decision")
    elif kind == "overdue_referrals":
        conds = overdue_referral_conditions(filters)
        title = _l("Overdue referrals")
    elif kind == "overdue_complaints":
        stmt = (
            select(Complaint)
            .where(*overdue_complaint_conditions(filters))
            .order_by(Complaint.due_on, Complaint.id)
        )
        headers = [
            _l("Tracking number"),
            _l("Region"),
            _l("Category"),
            _l("Subject"),
            _l("Status"),
            _l("Received"),
            _l("Due"),
            _l("Escalated"),
        ]

        def complaint_row(c: Complaint) -> list[Any]:
            return [
                c.tracking_number,
                c.region.name,
                c.category.name,
                c.subject,
                c.status,
                c.received_on,
                c.due_on,
                c.escalated_at,
            ]

        return Listing(kind, _l("Overdue complaints"), stmt, headers, complaint_row, client_col=None)
    else:
        return None
    order = Referral.due_at if kind == "overdue_referrals" else Referral.created_at.desc()
    stmt = _referral_statement(conds).order_by(order, Referral.id)
    return Listing(kind, title, stmt, REFERRAL_HEADERS, _referral_row, scalars=False, client_col=1)


def iter_rows(item: Listing, batch: int = 1000) -> Iterator[list[Any]]:
    """Every row of a listing, fetched in batches (exports of large selections stay in bounded memory)."""
    offset = 0
    while True:
        chunk = db.session.execute(item.statement.limit(batch).offset(offset))
        rows = list(chunk.scalars()) if item.scalars else list(chunk)
        for row in rows:
            yield item.row(row)
        if len(rows) < batch:
            return
        offset += batch


# ---------------------------------------------------------------------------------------------
# Summary (the API and the dashboard's export)


def summary(filters: Filters) -> dict[str, Any]:
    """The numbers of API.md's /reports/summary, within scope and filters."""
    board = dashboard(filters)
    referral_conds = referral_conditions(filters)
    by_programme: dict[str, dict[str, int]] = {}
    for code, status, n in db.session.execute(
        select(Programme.code, Referral.status, func.count())
        .join(Programme, Programme.id == Referral.programme_id)
        .where(*referral_conds)
        .group_by(Programme.code, Referral.status)
    ):
        by_programme.setdefault(code, {})[status] = n
    by_sex: dict[str, dict[str, int]] = {sex: {} for sex in SEXES}
    for sex, status, n in db.session.execute(
        select(Client.sex, Referral.status, func.count())
        .join(Client, Client.id == Referral.client_id)
        .where(*referral_conds)
        .group_by(Client.sex, Referral.status)
    ):
        by_sex.setdefault(sex, {})[status] = n
    return {
        "clients_registered": board.registered,
        "clients_screened": board.screened,
        "referrals": {status: board.referrals.get(status, 0) for status in STATUSES},
        "by_programme": by_programme,
        "by_sex": by_sex,
        "median_days_to_decision": board.median_days,
        "overdue": board.overdue_referrals,
        "overdue_complaints": board.overdue_complaints,
        "eligible_not_referred": board.gap,
        "share_successful": None if board.share_successful is None else round(board.share_successful, 4),
        "period": {"from": filters.date_from.isoformat(), "to": filters.date_to.isoformat()},
        "region": filters.region.code if filters.region is not None else None,
    }


SUMMARY_HEADERS = [_l("Measure"), _l("Value")]


def summary_rows(board: Dashboard) -> list[list[Any]]:
    rows: list[list[Any]] = [
        [_("Period"), f"{board.filters.date_from.isoformat()} – {board.filters.date_to.isoformat()}"],
        [_("Region"), board.filters.region.name if board.filters.region else _("All my regions")],
        [_("Clients registered"), board.registered],
        [_("Clients screened"), board.screened],
        [_("Clients found eligible"), board.eligible],
        [_("Eligible but not referred"), board.gap],
        [_("Clients referred"), board.referred_clients],
    ]
    for status in STATUSES:
        rows.append(
            [_("Referrals: %(status)s", status=STATUS_LABELS[status]), board.referrals.get(status, 0)]
        )
    share = board.share_successful
    rows += [
        [_("Share successful"), "" if share is None else round(share, 4)],
        [_("Median days to a decision"), "" if board.median_days is None else board.median_days],
        [_("Overdue referrals"), board.overdue_referrals],
        [_("Overdue complaints"), board.overdue_complaints],
    ]
    return rows


def monthly_by_district(filters: Filters, month: date) -> tuple[Filters, list[dict[str, Any]]]:
    """One calendar month's figures per district (the printable monthly summary)."""
    start = month.replace(day=1)
    next_month = (start + timedelta(days=32)).replace(day=1)
    month_filters = Filters(
        **{**filters.__dict__, "date_from": start, "date_to": next_month - timedelta(days=1)}
    )
    board = dashboard(month_filters)
    return month_filters, board.districts

"""The dashboard's filters: reading them from a query string, and the conditions and calendar
they put on every figure (regions within the user's scope, demographics, local months)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ARRAY, ColumnElement, DateTime, Select, bindparam, func, select

from srs.core import clock
from srs.extensions import db
from srs.programmes.models import Programme
from srs.regions.models import Region
from srs.regions.scope import region_id_condition, region_in_scope
from srs.registry.models import SEXES, WORK_STATUSES, Client

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
    today: date = field(default_factory=clock.today)

    def as_args(self) -> dict[str, Any]:
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
        return clock.local_midnight(self.date_from)

    @property
    def end(self) -> datetime:
        return clock.local_midnight(self.date_to + timedelta(days=1))


def default_period(today: date) -> tuple[date, date]:
    """The last twelve months up to today, from the first of the month."""
    return clock.add_months(today, -11), today


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
        return clock.parse_date(raw)
    except ValueError:
        errors[name] = [_("%(value)s is not a date (use YYYY-MM-DD).", value=raw[:40])]
        return None


def parse_filters(args: Mapping[str, str]) -> Filters:
    """Read the filters from a query string; raises FilterError with a message per field."""
    errors: dict[str, list[str]] = {}
    today = clock.today()
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


def demographic_conditions(filters: Filters, source: Any = Client) -> list[ColumnElement[bool]]:
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


def has_demographics(filters: Filters) -> bool:
    return bool(filters.sex or filters.work_status or filters.disability is not None or filters.age_group)


def month_grouping(column: Any, filters: Filters) -> tuple[Any, Callable[[Any], str]]:
    """A value to group a timestamp by its local calendar month, and how to read it as "YYYY-MM"."""
    if db.engine.dialect.name != "postgresql":
        return func.strftime("%Y-%m", column), str
    # The number of the month among the period's month starts (local midnights, in UTC): a binary
    # search per row, much cheaper than converting every timestamp to local time.
    keys: list[str] = []
    starts: list[datetime] = []
    year, month = filters.date_from.year, filters.date_from.month
    while True:
        starts.append(clock.local_midnight(date(year, month, 1)))
        if (year, month) > (filters.date_to.year, filters.date_to.month):
            break
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    bucket = func.width_bucket(
        column, bindparam("month_starts", starts, type_=ARRAY(DateTime(timezone=True)))
    )
    return bucket, lambda n: keys[n - 1]

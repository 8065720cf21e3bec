"""The dashboard's filters: reading them from a query string, and the conditions and calendar
they put on every figure (regions within the user's scope, demographics, local months)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ARRAY, ColumnElement, DateTime, Select, bindparam, func, select

from srs.core import clock
from srs.extensions import db
from srs.programmes.models import Programme
from srs.regions.models import Region
from srs.regions.scope import region_id_condition, region_in_scope
from srs.registry.fields import ClientField, report_dimensions
from srs.registry.models import Client
from srs.reports import ages

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
    """What the supervisor chose; ``region`` is None for "all my regions".

    One attribute per report dimension of the client fields' table (``param_of``); the facts carry
    the same columns, and a test checks the three agree.
    """

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
        for f in report_dimensions():
            value = getattr(self, param_of(f))
            if value is not None:
                args[param_of(f)] = ("yes" if value else "no") if f.type == "boolean" else value
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


def param_of(f: ClientField) -> str:
    """The query-string name (and Filters attribute) of a report dimension: a birth date by age group."""
    return "age_group" if f.type == "birth_date" else f.name


def dimension_options(f: ClientField) -> list[tuple[str, Any]]:
    """(value, label) a report dimension is filtered by: the dashboard's short labels, else the field's."""
    if f.type == "birth_date":
        return [(group, group) for group in AGE_GROUPS]
    if f.report is not None and f.report.values:
        return list(f.report.values)
    if f.type == "boolean":
        return [("yes", _l("Yes")), ("no", _l("No"))]
    return list(f.choices)


def dimension_filters() -> list[dict[str, Any]]:
    """The report dimensions of the client fields' table, as the filter form lists them."""
    return [
        {
            "param": param_of(f),
            "label": f.report.label if f.report else f.label,
            "options": dimension_options(f),
        }
        for f in report_dimensions()
    ]


def _parse_dimension(f: ClientField, args: Mapping[str, str], errors: dict[str, list[str]]) -> Any:
    name = param_of(f)
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    if raw not in {value for value, _label in dimension_options(f)}:
        message = (
            f.report.error if f.report is not None and f.report.error else _l("Choose one of the values.")
        )
        errors[name] = [str(message)]
        return None
    if f.type == "boolean":
        return raw == "yes"
    return raw


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
    dimensions = {param_of(f): _parse_dimension(f, args, errors) for f in report_dimensions()}
    if errors:
        raise FilterError(errors, region_out_of_scope=out_of_scope and len(errors) == 1)
    return Filters(
        date_from=date_from,
        date_to=date_to,
        region=region,
        programme=programme,
        today=today,
        **dimensions,
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


def fact_column(f: ClientField) -> str:
    """The facts' column of a report dimension: a birth date is kept as its year (ages.py)."""
    return "birth_year" if f.type == "birth_date" else (f.stored_as or f.name)


def demographic_conditions(filters: Filters, source: Any = Client) -> list[ColumnElement[bool]]:
    """The report dimensions' filters (sex, age group, work status, disability) on ``source``
    (clients or the facts, which carry the same columns; the birth date as its year).

    An age group is the age reached during the calendar year of ``filters.today`` (srs/reports/ages.py):
    the facts' birth year, or the clients' birth date within the same years."""
    conds: list[ColumnElement[bool]] = []
    for f in report_dimensions():
        value = getattr(filters, param_of(f))
        if value is None:
            continue
        if f.type == "birth_date":
            low, high = AGE_GROUPS[value]
            if source is Client:
                conds += ages.birth_date_conditions(
                    getattr(Client, f.stored_as or f.name), low, high, filters.today
                )
            else:
                conds += ages.birth_year_conditions(source.birth_year, low, high, filters.today)
            continue
        column = (
            getattr(source, f.stored_as or f.name) if source is Client else getattr(source, fact_column(f))
        )
        if f.type == "boolean":
            conds.append(column.is_(value))
        else:
            conds.append(column == value)
    return conds


def has_demographics(filters: Filters) -> bool:
    return any(getattr(filters, param_of(f)) is not None for f in report_dimensions())


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

"""Coverage figures: people covered among the registered (by sex, age group, disability, poverty
status, region and ILO function, with a monthly trend and drill-down lists), read from
``report_coverage_facts``.

"Covered" on a day: an enrolment (recorded at registration, on the profile, or from a referral
completed with outcome successful) open on that day. "Registered" on a day: registered on or before
it and not merged away. Every figure is computed as of the period's last day (today at the latest),
within the caller's regions, and every figure has a drill-down list built from the same conditions.
Population series (SDG 1.3.1) are in ``sdg.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, case, exists, func, or_, select
from sqlalchemy.orm import aliased

from srs.core import clock
from srs.extensions import db
from srs.programmes.enrolments import FUNCTION_LABELS
from srs.programmes.models import FUNCTIONS
from srs.regions.models import Region
from srs.registry.models import SEXES, Client
from srs.reports import ages
from srs.reports.filters import (
    FilterError,
    Filters,
    demographic_conditions,
    parse_filters,
    region_condition,
)
from srs.reports.models import REGISTRATION, CoverageFact
from srs.reports.services import CLIENT_HEADERS, Listing, comparison_regions

F = CoverageFact
AGE_GROUPS: dict[str, tuple[int, int | None]] = {"0-14": (0, 14), "15-64": (15, 64), "65+": (65, None)}
POVERTY_STATUSES = ("poor", "near_poor", "not_poor", "unknown")
DISABILITY_KEYS = ("yes", "no", "unknown")
LIST_KINDS = ("registered", "covered", "not_covered")
LIST_TITLES = {
    "registered": _l("People registered"),
    "covered": _l("People covered"),
    "not_covered": _l("People registered and not covered"),
}


@dataclass
class CoverageQuery:
    """The dashboard's filters, the day the figures are taken on, and the coverage's own choices
    (a function; a poverty status, one of the three age groups or a disability answer to narrow to)."""

    filters: Filters
    as_of: date
    function: str | None = None
    poverty_status: str | None = None
    age: str | None = None
    disability: str | None = None

    def as_args(self) -> dict[str, Any]:
        args = self.filters.as_args()
        for name in ("function", "poverty_status", "age", "disability"):
            value = getattr(self, name)
            if value is not None:
                args["cov_" + name] = value
        return args

    def but(self, **changes: Any) -> CoverageQuery:
        return dataclasses.replace(self, **changes)


def as_of_day(filters: Filters) -> date:
    """The day coverage is read on: the period's last day, today at the latest."""
    return min(filters.date_to, filters.today)


def parse_query(args: Mapping[str, str]) -> CoverageQuery:
    """The dashboard's filters plus ``cov_function``, ``cov_poverty_status``, ``cov_age`` and
    ``cov_disability``; raises FilterError with a message per field."""
    errors: dict[str, list[str]] = {}
    out_of_scope = False
    try:
        filters = parse_filters(args)
    except FilterError as exc:
        errors.update(exc.errors)
        out_of_scope = exc.region_out_of_scope
        filters = None
    choices = {
        "function": FUNCTIONS,
        "poverty_status": POVERTY_STATUSES,
        "age": tuple(AGE_GROUPS),
        "disability": DISABILITY_KEYS,
    }
    values: dict[str, str | None] = {}
    for name, allowed in choices.items():
        raw = (args.get("cov_" + name) or "").strip()
        if raw and raw not in allowed:
            errors["cov_" + name] = [_("Choose one of: %(values)s.", values=", ".join(allowed))]
        values[name] = raw or None
    if errors or filters is None:
        raise FilterError(errors, region_out_of_scope=out_of_scope and len(errors) == 1)
    return CoverageQuery(filters=filters, as_of=as_of_day(filters), **values)


def age_conditions(column: Any, group: str, on: date) -> list[ColumnElement[bool]]:
    """Aged within the group during the calendar year of ``on``, by a birth-year column (ages.py)."""
    low, high = AGE_GROUPS[group]
    return ages.birth_year_conditions(column, low, high, on)


def age_group_of(column: Any, on: date) -> Any:
    """The group of the age reached during the year of ``on``, by a birth-year column."""
    return ages.group_case(column, on, AGE_GROUPS)


def disability_of(column: Any) -> Any:
    return case((column.is_(True), "yes"), (column.is_(False), "no"), else_="unknown")


def registered_conditions(q: CoverageQuery) -> list[ColumnElement[bool]]:
    """The registration rows of the people counted: registered by ``as_of``, in scope and filters."""
    conds = [
        F.function == REGISTRATION,
        F.start_on <= q.as_of,
        region_condition(F.region_id, q.filters),
        # The dashboard's age filter too is read on the day the figures are taken on.
        *demographic_conditions(dataclasses.replace(q.filters, today=q.as_of), F),
    ]
    if q.poverty_status is not None:
        conds.append(F.poverty_status == q.poverty_status)
    if q.age is not None:
        conds += age_conditions(F.birth_year, q.age, q.as_of)
    if q.disability is not None:
        conds.append(disability_of(F.disability) == q.disability)
    return conds


def covered_condition(
    q: CoverageQuery, function: str | None = None, contributory: bool | None = None
) -> ColumnElement[bool]:
    """The person of a registration row has an enrolment open on ``as_of`` (in a programme of the
    function, the chosen programme, contributory or not when asked)."""
    g = aliased(CoverageFact)
    conds = [
        g.client_id == F.client_id,
        g.function != REGISTRATION,
        g.start_on <= q.as_of,
        or_(g.end_on.is_(None), g.end_on >= q.as_of),
    ]
    chosen = function or q.function
    if chosen is not None:
        conds.append(g.function == chosen)
    if q.filters.programme is not None:
        conds.append(g.programme_id == q.filters.programme.id)
    if contributory is not None:
        conds.append(g.contributory.is_(contributory))
    return exists().where(*conds)


def counted(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _pair(registered: Any, covered: Any) -> dict[str, int]:
    return {"registered": int(registered or 0), "covered": int(covered or 0)}


def _grouped(q: CoverageQuery, key: Any, keys: tuple[str, ...]) -> dict[str, dict[str, int]]:
    out = {k: _pair(0, 0) for k in keys}
    stmt = (
        select(key, func.count(), counted(covered_condition(q)))
        .where(*registered_conditions(q))
        .group_by(key)
    )
    for value, registered, covered in db.session.execute(stmt):
        out[str(value)] = _pair(registered, covered)
    return out


def by_region(q: CoverageQuery) -> list[dict[str, Any]]:
    """Registered and covered per compared region (the children of the chosen one, as the dashboard's
    district table)."""
    buckets = comparison_regions(q.filters)
    rows: dict[int, dict[str, Any]] = {b.id: {"region": b, **_pair(0, 0)} for b in buckets}
    stmt = (
        select(F.region_id, func.count(), counted(covered_condition(q)))
        .where(*registered_conditions(q))
        .group_by(F.region_id)
    )
    counts: list[tuple[int, int, int]] = [
        (int(r[0]), int(r[1] or 0), int(r[2] or 0)) for r in db.session.execute(stmt)
    ]
    ids = [region_id for region_id, _r, _c in counts]
    paths = {
        rid: path
        for rid, path in db.session.execute(select(Region.id, Region.path).where(Region.id.in_(ids)))
    }
    for region_id, registered, covered in counts:
        path = paths.get(region_id, "")
        bucket = next((b for b in buckets if path.startswith(b.path)), None)
        if bucket is not None:
            rows[bucket.id]["registered"] += int(registered)
            rows[bucket.id]["covered"] += int(covered)
    return list(rows.values())


def totals(q: CoverageQuery) -> dict[str, int]:
    registered, covered = db.session.execute(
        select(func.count(), counted(covered_condition(q))).where(*registered_conditions(q))
    ).one()
    return _pair(registered, covered)


def by_function(q: CoverageQuery) -> dict[str, dict[str, int]]:
    """Per ILO function: the registered (all of them) and those covered by a programme of it."""
    counts = [counted(covered_condition(q, f)) for f in FUNCTIONS]
    row = db.session.execute(select(func.count(), *counts).where(*registered_conditions(q))).one()
    return {f: _pair(row[0], row[i + 1]) for i, f in enumerate(FUNCTIONS)}


def trend(q: CoverageQuery) -> list[dict[str, Any]]:
    """Registered and covered at the end of each month of the period (the last: on ``as_of``)."""
    out = []
    month = clock.month_start(q.filters.date_from)
    while month <= q.as_of:
        day = min(clock.month_end(month), q.as_of)
        figures = totals(q.but(as_of=day))
        out.append({"month": month.isoformat()[:7], "as_of": day, **figures})
        month = clock.add_months(month, 1)
    return out


def summary(q: CoverageQuery) -> dict[str, Any]:
    """API.md's ``coverage`` of the reports summary."""
    return {
        "as_of": q.as_of.isoformat(),
        **totals(q),
        "by_sex": _grouped(q, F.sex, SEXES),
        "by_age_group": _grouped(q, age_group_of(F.birth_year, q.as_of), tuple(AGE_GROUPS)),
        "disability": _grouped(q, disability_of(F.disability), DISABILITY_KEYS),
        "poverty_status": _grouped(q, F.poverty_status, POVERTY_STATUSES),
        "by_region": {row["region"].code: _pair(row["registered"], row["covered"]) for row in by_region(q)},
        "by_function": by_function(q),
    }


def share(pair: Mapping[str, int]) -> float | None:
    return None if not pair["registered"] else pair["covered"] / pair["registered"]


# ---------------------------------------------------------------------------------------------
# Drill-down lists


def _row(c: Client) -> list[Any]:
    return [c.id, c.full_name, c.sex, c.date_of_birth, c.region.name, c.work_status or "", c.created_at]


def listing(kind: str, q: CoverageQuery) -> Listing | None:
    """The people behind one coverage figure (None for an unknown kind)."""
    if kind not in LIST_KINDS:
        return None
    conds = registered_conditions(q)
    if kind == "covered":
        conds.append(covered_condition(q))
    elif kind == "not_covered":
        conds.append(~covered_condition(q))
    ids = select(F.client_id).where(*conds)
    stmt = select(Client).where(Client.id.in_(ids)).order_by(Client.full_name, Client.id)
    title: Any = LIST_TITLES[kind]
    if q.function is not None:
        title = _l("%(list)s: %(function)s", list=LIST_TITLES[kind], function=FUNCTION_LABELS[q.function])
    return Listing(kind, title, stmt, CLIENT_HEADERS, _row)


# ---------------------------------------------------------------------------------------------
# The summary export's rows


def summary_rows(q: CoverageQuery) -> list[list[Any]]:
    """Coverage lines for the dashboard's summary export ("of registered" only)."""
    figures = summary(q)
    rows: list[list[Any]] = [
        [_("Coverage on"), q.as_of.isoformat()],
        [_("People registered"), figures["registered"]],
        [_("People covered by at least one programme"), figures["covered"]],
    ]
    for f in FUNCTIONS:
        rows.append(
            [_("Covered: %(function)s", function=FUNCTION_LABELS[f]), figures["by_function"][f]["covered"]]
        )
    return rows

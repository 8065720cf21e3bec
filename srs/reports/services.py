"""The supervisor's numbers: aggregates in SQL over clients, screenings, referrals and complaints.

Every figure is computed within the caller's regions (admins: everywhere) and the chosen filters,
and every figure has a drill-down list built from the same conditions, so the list behind a number
always has that many rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.orm import aliased

from srs.cases.models import COMPLAINT_OPEN_STATUSES, Complaint
from srs.core import clock
from srs.core.pagination import AnySelect
from srs.extensions import db
from srs.programmes.models import Programme, Screening, ScreeningResult
from srs.referrals import overdue
from srs.referrals.models import STATUSES, Referral
from srs.referrals.services import OUTCOMES, STATUS_LABELS
from srs.regions.models import Region
from srs.regions.scope import region_paths, sees_everything
from srs.registry.models import SEXES, Client
from srs.reports.facts import ANY_PROGRAMME
from srs.reports.filters import (
    Filters,
    demographic_conditions,
    has_demographics,
    month_grouping,
    parse_filters,
    region_condition,
)
from srs.reports.models import ScreeningFact
from srs.reports.referral_figures import median_days, overdue_by_region, referral_figures

# Re-exported: the views, the API and the tests read the filters through this module.
__all__ = ["Filters", "parse_filters"]


def client_conditions(filters: Filters) -> list[ColumnElement[bool]]:
    return [
        Client.merged_into_id.is_(None),
        region_condition(Client.region_id, filters),
        *demographic_conditions(filters),
    ]


def referral_conditions(filters: Filters, period: bool = True) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [region_condition(Referral.region_id, filters)]
    if period:
        conds += [Referral.created_at >= filters.start, Referral.created_at < filters.end]
    if filters.programme is not None:
        conds.append(Referral.programme_id == filters.programme.id)
    if has_demographics(filters):
        conds.append(Referral.client_id.in_(select(Client.id).where(*demographic_conditions(filters))))
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


def gap_statement(filters: Filters) -> Select[Client, Programme, datetime]:
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


# ---------------------------------------------------------------------------------------------
# Aggregates


def _months(filters: Filters) -> list[str]:
    months = []
    year, month = filters.date_from.year, filters.date_from.month
    while (year, month) <= (filters.date_to.year, filters.date_to.month):
        months.append(f"{year:04d}-{month:02d}")
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return months[-24:]


def median_days_to_decision(filters: Filters) -> float | None:
    """Median days from referral to the agency's decision, over referrals created in the period.

    Read from the records with a sort: the definition the dashboard's figure (``referral_figures._median``,
    from the facts without a sort) is checked against.
    """
    conds = [*referral_conditions(filters), Referral.decided_at.is_not(None)]
    if db.engine.dialect.name == "postgresql":
        seconds = func.extract("epoch", Referral.decided_at - Referral.created_at)
        return median_days(
            db.session.scalar(select(func.percentile_cont(0.5).within_group(seconds)).where(*conds))
        )
    # SQLite has no percentile: count, then read only the one or two middle values in order.
    days = func.julianday(Referral.decided_at) - func.julianday(Referral.created_at)
    n = db.session.scalar(select(func.count()).select_from(Referral).where(*conds)) or 0
    if n == 0:
        return None
    middle: list[float] = list(
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
    overdue_referrals: int = 0  # both measures
    overdue_by_kind: dict[str, int] = field(default_factory=lambda: dict.fromkeys(overdue.KINDS, 0))
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
        *demographic_conditions(filters, F),
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


def overdue_key(kind: str) -> str:
    """A district row's key for one overdue measure ("overdue" alone is both)."""
    return f"overdue_{kind}"


# The figures of each district row (the dashboard's table and chart, the monthly summary).
DISTRICT_FIGURES = ("registered", "referrals", "successful", "overdue", *map(overdue_key, overdue.KINDS))


def dashboard(filters: Filters) -> Dashboard:
    """Every number of the supervisor dashboard, a handful of grouped SQL queries."""
    result = Dashboard(filters=filters, months=_months(filters))
    now = clock.now()
    buckets = comparison_regions(filters)
    path_by_id: dict[int, str] = {
        rid: path for rid, path in db.session.execute(select(Region.id, Region.path))
    }
    bucket_of = _bucket(path_by_id, buckets)
    per_district: dict[int, dict[str, int]] = {b.id: dict.fromkeys(DISTRICT_FIGURES, 0) for b in buckets}

    # Clients registered, by region and month: one grouped scan.
    month, month_key = month_grouping(Client.created_at, filters)
    rows: Iterable[Any] = db.session.execute(
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

    # Every referral figure: whole months from the monthly summaries, partial ones from the facts.
    referrals = referral_figures(filters)
    result.referrals = referrals.by_status
    result.referrals_total = referrals.total
    result.completed = referrals.completed
    result.successful = referrals.successful
    result.referred_clients = referrals.referred_clients
    result.trend_referrals = referrals.by_month
    result.median_days = referrals.median_days
    for region_id, (n, ok) in referrals.by_region.items():
        bucket = bucket_of(region_id)
        if bucket is not None:
            per_district[bucket.id]["referrals"] += n
            per_district[bucket.id]["successful"] += ok

    for region_id, by_kind in overdue_by_region(filters, now).items():
        bucket = bucket_of(region_id)
        for kind, n in by_kind.items():
            result.overdue_referrals += n
            result.overdue_by_kind[kind] += n
            if bucket is not None:
                per_district[bucket.id]["overdue"] += n
                per_district[bucket.id][overdue_key(kind)] += n
    result.overdue_complaints, result.escalated_complaints = db.session.execute(
        select(func.count(), func.count(Complaint.escalated_at)).where(*overdue_complaint_conditions(filters))
    ).one()
    result.districts = [{"region": b, **per_district[b.id]} for b in buckets]
    return result


def overdue_referral_conditions(
    filters: Filters, now: datetime | None = None, kind: str | None = None
) -> list[ColumnElement[bool]]:
    """Referrals overdue now (whenever they were made): of one measure (``referrals.overdue.KINDS``)
    or, without ``kind``, of either."""
    return [
        *referral_conditions(filters, period=False),
        overdue.referral_condition(kind, now),
    ]


def overdue_complaint_conditions(filters: Filters) -> list[ColumnElement[bool]]:
    conds = [
        region_condition(Complaint.region_id, filters),
        Complaint.status.in_(COMPLAINT_OPEN_STATUSES),
        Complaint.due_on < filters.today,
    ]
    if has_demographics(filters):
        conds.append(Complaint.client_id.in_(select(Client.id).where(*demographic_conditions(filters))))
    return conds


# ---------------------------------------------------------------------------------------------
# Drill-down lists: the rows behind each number, with their export columns


@dataclass
class Listing:
    kind: str
    title: Any
    statement: AnySelect
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
        # Labels in the reader's language, as on every other page (and in the exports they read).
        str(STATUS_LABELS.get(referral.status, referral.status)),
        str(OUTCOMES.get(referral.outcome, referral.outcome or "")),
        referral.created_at,
        referral.decided_at,
        referral.due_at,
    ]


OVERDUE_HEADERS = [*REFERRAL_HEADERS, _l("Overdue")]


def _overdue_referral_row(r: Any) -> list[Any]:
    kind = overdue.kind_of_referral(r[0])
    return [*_referral_row(r), str(overdue.LABELS[kind]) if kind else ""]


def _referral_statement(conds: list[ColumnElement[bool]]) -> Select[Referral, str, str, str]:
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
    *(f"overdue_referrals_{kind}" for kind in overdue.KINDS),
    "overdue_complaints",
)


def listing(kind: str, filters: Filters, status: str | None = None) -> Listing | None:
    """The drill-down list behind one dashboard number (None for an unknown kind)."""
    stmt: AnySelect
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

        return Listing(
            kind,
            _l("Eligible but not referred, per client and programme"),
            stmt,
            headers,
            gap_row,
            scalars=False,
        )
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
    elif kind.startswith("overdue_referrals_") and kind[len("overdue_referrals_") :] in overdue.KINDS:
        measure = kind[len("overdue_referrals_") :]
        conds = overdue_referral_conditions(filters, kind=measure)
        title = overdue.LABELS[measure]
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
    if kind.startswith("overdue_referrals"):
        # Most overdue first, each row saying which measure it counts in.
        stmt = _referral_statement(conds).order_by(Referral.due_at, Referral.id)
        return Listing(kind, title, stmt, OVERDUE_HEADERS, _overdue_referral_row, scalars=False, client_col=1)
    stmt = _referral_statement(conds).order_by(Referral.created_at.desc(), Referral.id)
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
    """The numbers of GET /api/v1/reports/summary (see /api/v1/openapi.json), within scope and filters."""
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
        # The total, as ever; the two measures apart (srs/referrals/overdue.py).
        "overdue": board.overdue_referrals,
        "overdue_by_kind": dict(board.overdue_by_kind),
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
        [_("Eligible but not referred, per client and programme"), board.gap],
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
        *([str(overdue.LABELS[kind]), board.overdue_by_kind[kind]] for kind in overdue.KINDS),
        [_("Overdue complaints"), board.overdue_complaints],
    ]
    return rows


def monthly_by_district(filters: Filters, month: date) -> tuple[Filters, list[dict[str, Any]]]:
    """One calendar month's figures per district (the printable monthly summary)."""
    start = clock.month_start(month)
    month_filters = Filters(**{**filters.__dict__, "date_from": start, "date_to": clock.month_end(start)})
    board = dashboard(month_filters)
    return month_filters, board.districts

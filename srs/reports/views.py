"""The supervisor dashboard, its drill-down lists, exports and the printable monthly summary."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from srs.core import audit, clock, exports
from srs.core.access import roles_required
from srs.core.pagination import page_args, paginate
from srs.core.replica import reads_from_replica
from srs.programmes.enrolments import FUNCTION_LABELS
from srs.programmes.services import list_programmes
from srs.referrals import overdue
from srs.referrals import services as referral_services
from srs.referrals.models import STATUSES
from srs.referrals.services import STATUS_LABELS
from srs.regions.scope import scoped_regions
from srs.reports import charts, coverage, coverage_pdf, letter, pdf, policies, services
from srs.reports.filters import FilterError, Filters, dimension_filters

bp = Blueprint("reports", __name__, url_prefix="/reports")

REPORT_ROLES = ("supervisor", "admin")


def _filter_choices() -> dict[str, Any]:
    regions = scoped_regions()
    if regions:
        # Villages would make the list unusable: offer the scope and two levels below it.
        top = min(r.depth for r in regions)
        regions = [r for r in regions if r.depth <= top + 2]
    programmes = list_programmes()
    return {
        "regions": regions,
        "programmes": programmes,
        "dimensions": dimension_filters(),  # from the client fields' table
    }


def _filter_error_page(template: str, exc: FilterError, **context: Any) -> Any:
    return (
        render_template(
            template, errors=exc.errors, args=request.args, filters=None, **_filter_choices(), **context
        ),
        422,
    )


def _list_url(kind: str, filters: Filters, **extra: Any) -> str:
    return url_for("reports.drilldown", kind=kind, **filters.as_args(), **extra)


@bp.route("/")
@roles_required(*REPORT_ROLES)
@reads_from_replica
def dashboard() -> ResponseReturnValue:
    try:
        filters = services.parse_filters(request.args)
    except FilterError as exc:
        return _filter_error_page("reports/dashboard.html", exc, board=None)
    board = services.dashboard(filters)
    cov_query = coverage.CoverageQuery(filters, coverage.as_of_day(filters))
    cov = {**coverage.totals(cov_query), "by_function": coverage.by_function(cov_query)}
    audit.record("report.dashboard", "report", None, **filters.as_args())
    stage_kind = {"referred": "referred"}

    def month_url(series: str, month: str) -> str:
        year, mon = (int(p) for p in month.split("-"))
        start = max(date(year, mon, 1), filters.date_from)
        end = min(clock.month_end(date(year, mon, 1)), filters.date_to)
        args = {**filters.as_args(), "from": start.isoformat(), "to": end.isoformat()}
        return url_for(
            "reports.drilldown",
            kind="referrals" if series == "referrals" else "registered",
            **{k: v for k, v in args.items()},
        )

    def district_url(row: dict[str, Any], kind: str) -> str:
        return url_for("reports.drilldown", kind=kind, **{**filters.as_args(), "region": row["region"].code})

    funnel = charts.funnel(board.funnel, lambda key: _list_url(stage_kind.get(key, key), filters))
    trend = charts.monthly(
        board.months,
        [
            ("registered", _("Clients registered"), board.trend_registered),
            ("referrals", _("Referrals made"), board.trend_referrals),
        ],
        month_url,
    )
    district_chart = charts.districts(board.districts, district_url)
    return render_template(
        "reports/dashboard.html",
        board=board,
        filters=filters,
        args=filters.as_args(),
        # The monthly summary of the period's last month (not a month still to come).
        monthly_args={**filters.as_args(), "month": min(filters.date_to, filters.today).isoformat()[:7]},
        errors={},
        funnel=funnel,
        trend=trend,
        district_chart=district_chart,
        coverage=cov,
        coverage_as_of=cov_query.as_of,
        function_labels=FUNCTION_LABELS,
        coverage_list_url=lambda kind, **extra: url_for(
            "reports.coverage_list", kind=kind, **cov_query.but(**extra).as_args()
        ),
        overdue_colours=charts.OVERDUE_COLOURS,
        district_url=district_url,
        list_url=lambda kind, **extra: _list_url(kind, filters, **extra),
        statuses=STATUSES,
        status_labels=STATUS_LABELS,
        **_filter_choices(),
    )


def _listing(kind: str) -> tuple[Filters, str | None, Any]:
    """The filters, status and list behind a drill-down list.

    An unknown list is a 404; bad filters raise FilterError for the caller's error page.
    """
    if kind not in services.LIST_KINDS:
        abort(404)
    filters = services.parse_filters(request.args)
    status = request.args.get("status") or None
    item = services.listing(kind, filters, status)
    if item is None:
        abort(404)
    return filters, status, item


@bp.route("/list/<kind>")
@roles_required(*REPORT_ROLES)
@reads_from_replica
def drilldown(kind: str) -> ResponseReturnValue:
    try:
        filters, status, item = _listing(kind)
    except FilterError as exc:
        return _filter_error_page("reports/list.html", exc, listing=None, kind=kind, page=None)
    number, per_page = page_args(strict=False)
    page = paginate(item.statement, number, per_page, scalars=item.scalars)
    page.items = [item.row(r) for r in page.items]
    column = item.client_col if item.client_col is not None else 0  # complaints: the tracking number
    audit.record_list(
        "report.list",
        "client" if item.client_col is not None else "complaint",
        [row[column] for row in page.items],
        query={"kind": kind, "status": status, **filters.as_args()},
        page=page.page,
        total=page.total,
    )
    export_args = {**filters.as_args(), **({"status": status} if status else {})}
    return render_template(
        "reports/list.html",
        listing=item,
        kind=kind,
        page=page,
        filters=filters,
        args=filters.as_args(),
        export_args=export_args,
        errors={},
        **_filter_choices(),
    )


@bp.route("/list/<kind>/export.<fmt>")
@roles_required(*REPORT_ROLES)
@reads_from_replica
def export_list(kind: str, fmt: str) -> ResponseReturnValue:
    if fmt not in exports.FORMATS:
        abort(404)
    try:
        filters, status, item = _listing(kind)
    except FilterError as exc:
        return _filter_error_page("reports/list.html", exc, listing=None, kind=kind, page=None)
    filename = f"srs-{kind}-{filters.date_from.isoformat()}-{filters.date_to.isoformat()}"
    # Every row's own id (a client's, a referral's, a complaint's tracking number) and the clients'.
    kinds = {None: "complaint", 0: "client"}
    object_type = kinds.get(item.client_col, "referral")
    return exports.audited_file_response(
        fmt,
        filename,
        str(item.title),
        item.headers,
        services.iter_rows(item),
        action="report.export",
        object_type=object_type,
        id_column=0,
        client_column=item.client_col,
        query={"kind": kind, "status": status, **filters.as_args()},
        kind=kind,
    )


@bp.route("/summary.<fmt>")
@roles_required(*REPORT_ROLES)
@reads_from_replica
def export_summary(fmt: str) -> ResponseReturnValue:
    if fmt not in exports.FORMATS:
        abort(404)
    try:
        filters = services.parse_filters(request.args)
    except FilterError as exc:
        return _filter_error_page("reports/dashboard.html", exc, board=None)
    board = services.dashboard(filters)
    audit.record("report.export", "report", "summary", format=fmt, **filters.as_args())
    rows = services.summary_rows(board)
    rows += coverage.summary_rows(coverage.CoverageQuery(filters, coverage.as_of_day(filters)))
    filename = f"srs-summary-{filters.date_from.isoformat()}-{filters.date_to.isoformat()}"
    return exports.file_response(fmt, filename, _("Summary"), services.SUMMARY_HEADERS, rows)


def _monthly(args: Any) -> tuple[Filters, date, list[dict[str, Any]]]:
    filters = services.parse_filters(args)
    raw = (args.get("month") or "").strip()
    today = clock.today()
    try:
        month = clock.parse_month(raw) if raw else clock.month_start(today)
    except ValueError:
        raise FilterError({"month": [_("%(value)s is not a month (use YYYY-MM).", value=raw[:20])]}) from None
    month_filters, rows = services.monthly_by_district(filters, month)
    return month_filters, month, rows


def _monthly_totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {k: sum(r[k] for r in rows) for k in services.DISTRICT_FIGURES}


@bp.route("/monthly")
@roles_required(*REPORT_ROLES)
@reads_from_replica
def monthly() -> ResponseReturnValue:
    try:
        filters, month, rows = _monthly(request.args)
    except FilterError as exc:
        return _filter_error_page("reports/monthly.html", exc, rows=None, month=None)
    audit.record("report.monthly", "report", month.isoformat()[:7], **filters.as_args())
    totals = _monthly_totals(rows)
    return render_template(
        "reports/monthly.html",
        filters=filters,
        month=month,
        rows=rows,
        totals=totals,
        errors={},
        args={**filters.as_args(), "month": month.isoformat()[:7]},
        **_filter_choices(),
    )


@bp.route("/monthly.<fmt>")
@roles_required(*REPORT_ROLES)
@reads_from_replica
def export_monthly(fmt: str) -> ResponseReturnValue:
    if fmt not in exports.FORMATS:
        abort(404)
    try:
        filters, month, rows = _monthly(request.args)
    except FilterError as exc:
        return _filter_error_page("reports/monthly.html", exc, rows=None, month=None)
    audit.record(
        "report.export", "report", "monthly", format=fmt, month=month.isoformat()[:7], **filters.as_args()
    )
    headers = [
        _("Region"),
        _("Code"),
        _("Clients registered"),
        _("Referrals made"),
        _("Successful"),
        _("Overdue referrals"),
        *(str(overdue.LABELS[kind]) for kind in overdue.KINDS),
    ]
    data = [[r["region"].name, r["region"].code, *(r[k] for k in services.DISTRICT_FIGURES)] for r in rows]
    return exports.file_response(
        fmt, f"srs-monthly-{month.isoformat()[:7]}", _("Monthly summary"), headers, data
    )


# A static rule: it wins over "/monthly.<fmt>", which serves the spreadsheet formats.
@bp.route("/monthly.pdf")
@roles_required(*REPORT_ROLES)
@reads_from_replica
def monthly_pdf() -> ResponseReturnValue:
    try:
        filters, month, rows = _monthly(request.args)
    except FilterError as exc:
        return _filter_error_page("reports/monthly.html", exc, rows=None, month=None)
    ym = month.isoformat()[:7]
    audit.record("report.export", "report", "monthly", format="pdf", month=ym, **filters.as_args())
    document = pdf.monthly_document(filters, month, rows, _monthly_totals(rows), current_user)
    document.sections = coverage_pdf.coverage_sections(filters, month)
    return Response(
        pdf.render(document),
        mimetype=pdf.PDF_MIME,
        headers={"Content-Disposition": f"attachment; filename=srs-monthly-{ym}.pdf"},
    )


# The referral letter ------------------------------------------------------------------------------


@bp.route("/letters/referral-<int:referral_id>.pdf")
@roles_required(*policies.LETTER_ROLES)
def referral_letter(referral_id: int) -> ResponseReturnValue:
    """The letter the person takes home (``?size=a4|phone``, ``?lang=en|id|vi``; else their country's)."""
    referral = referral_services.load_referral(referral_id, current_user)
    size = request.args.get("size", "a4")
    if size not in letter.FORMATS:
        abort(400)
    language = letter.letter_language(referral, request.args.get("lang"))
    audit.record("referral.letter", "referral", referral.id, client_id=referral.client_id, size=size)
    return Response(
        letter.render_letter(letter.letter_document(referral, language), size),
        mimetype=pdf.PDF_MIME,
        headers={"Content-Disposition": f"inline; filename=srs-referral-{referral.id}-{size}.pdf"},
    )

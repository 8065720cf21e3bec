"""Coverage pages: the figures and SDG 1.3.1 series, their drill-down lists and exports, and the
admin's import of population denominators. Routes on the reports' blueprint."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField

from srs.core import audit, exports
from srs.core.access import roles_required
from srs.core.pagination import page_args, paginate
from srs.programmes.enrolments import FUNCTION_LABELS
from srs.reports import coverage, sdg
from srs.reports.filters import FilterError
from srs.reports.views import REPORT_ROLES, _filter_choices, bp

MAX_UPLOAD = 5 * 1024 * 1024


class PopulationForm(FlaskForm):
    file = FileField(_l("Population figures (CSV)"))


def _error_page(exc: FilterError) -> Any:
    return (
        render_template(
            "reports/coverage.html",
            errors=exc.errors,
            args=request.args,
            filters=None,
            q=None,
            **_filter_choices(),
        ),
        422,
    )


def _year() -> int | None:
    raw = (request.args.get("year") or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) != 4:
        raise FilterError({"year": [_("%(value)s is not a year.", value=raw[:10])]})
    return int(raw)


@bp.route("/coverage")
@roles_required(*REPORT_ROLES)
def coverage_page() -> ResponseReturnValue:
    try:
        q = coverage.parse_query(request.args)
        year = _year()
    except FilterError as exc:
        return _error_page(exc)
    figures = coverage.summary(q)
    audit.record("report.coverage", "report", None, **q.as_args())

    def list_url(kind: str, **changes: Any) -> str:
        return url_for("reports.coverage_list", kind=kind, **q.but(**changes).as_args())

    return render_template(
        "reports/coverage.html",
        q=q,
        filters=q.filters,
        figures=figures,
        regions_rows=coverage.by_region(q),
        trend=coverage.trend(q),
        series=sdg.series_rows(q, year),
        assumptions=[(s.code, s.assumption) for s in sdg.SERIES],
        basis_labels=sdg.BASIS_LABELS,
        function_labels=FUNCTION_LABELS,
        share=coverage.share,
        list_url=list_url,
        args=q.as_args(),
        errors={},
        **_filter_choices(),
    )


def _coverage_listing(kind: str) -> tuple[coverage.CoverageQuery, Any]:
    if kind not in coverage.LIST_KINDS:
        abort(404)
    q = coverage.parse_query(request.args)
    item = coverage.listing(kind, q)
    if item is None:
        abort(404)
    return q, item


@bp.route("/coverage/list/<kind>")
@roles_required(*REPORT_ROLES)
def coverage_list(kind: str) -> ResponseReturnValue:
    try:
        q, item = _coverage_listing(kind)
    except FilterError as exc:
        return _error_page(exc)
    number, per_page = page_args(strict=False)
    page = paginate(item.statement, number, per_page, scalars=True)
    page.items = [item.row(r) for r in page.items]
    audit.record_list(
        "report.list",
        "client",
        [row[0] for row in page.items],
        query={"kind": "coverage_" + kind, **q.as_args()},
        page=page.page,
        total=page.total,
    )
    return render_template(
        "reports/coverage_list.html", listing=item, kind=kind, page=page, q=q, args=q.as_args()
    )


@bp.route("/coverage/list/<kind>/export.<fmt>")
@roles_required(*REPORT_ROLES)
def coverage_list_export(kind: str, fmt: str) -> ResponseReturnValue:
    if fmt not in exports.FORMATS:
        abort(404)
    try:
        q, item = _coverage_listing(kind)
    except FilterError as exc:
        return _error_page(exc)
    from srs.reports.services import iter_rows

    return exports.audited_file_response(
        fmt,
        f"srs-coverage-{kind}-{q.as_of.isoformat()}",
        str(item.title),
        item.headers,
        iter_rows(item),
        action="report.export",
        object_type="client",
        id_column=0,
        client_column=0,
        query={"kind": "coverage_" + kind, **q.as_args()},
        kind="coverage_" + kind,
    )


@bp.route("/coverage.<fmt>")
@roles_required(*REPORT_ROLES)
def coverage_export(fmt: str) -> ResponseReturnValue:
    """The SDG 1.3.1 series rows (both bases, each labelled)."""
    if fmt not in exports.FORMATS:
        abort(404)
    try:
        q = coverage.parse_query(request.args)
        year = _year()
    except FilterError as exc:
        return _error_page(exc)
    audit.record("report.export", "report", "coverage", format=fmt, **q.as_args())
    rows = sdg.csv_rows(sdg.series_rows(q, year))
    return exports.file_response(
        fmt, f"srs-coverage-{q.as_of.isoformat()}", _("Coverage (SDG 1.3.1)"), sdg.SERIES_HEADERS, rows
    )


@bp.route("/population", methods=["GET", "POST"])
@roles_required("admin")
def population() -> ResponseReturnValue:
    form = PopulationForm()
    errors: list[str] = []
    status = 200
    if form.validate_on_submit():
        upload = form.file.data
        raw = upload.read(MAX_UPLOAD + 1) if upload else b""
        if not raw:
            errors = [_("Choose a CSV file.")]
        elif len(raw) > MAX_UPLOAD:
            errors = [_("The file is larger than 5 MB.")]
        else:
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                errors = [_("The file is not UTF-8 text.")]
            else:
                result = sdg.import_population(text, current_user)
                errors = result.errors
                if not errors:
                    flash(_("%(n)d population figures imported.", n=result.rows), "success")
                    return redirect(url_for("reports.population"))
        status = 422
    return (
        render_template("reports/population.html", form=form, errors=errors, figures=sdg.figures_held()),
        status,
    )

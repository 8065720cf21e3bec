"""GET /api/v1/reports/summary: the supervisor's numbers as JSON, within the caller's scope."""

from __future__ import annotations

from datetime import date

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from srs.api import bp
from srs.api.openapi import RULES_BEYOND_SCHEMA, add_paths, json_response, problem_responses
from srs.core import audit, clock, exports
from srs.core.access import roles_required
from srs.core.errors import NotFound, ValidationFailed
from srs.core.replica import reads_from_replica
from srs.referrals import overdue
from srs.referrals.models import STATUSES
from srs.reports import coverage, sdg, services
from srs.reports.filters import FilterError


@bp.route("/reports/summary")
@roles_required("supervisor", "admin")
@reads_from_replica
def reports_summary() -> ResponseReturnValue:
    args = {key: request.args.get(key, "") for key in ("region", "from", "to", "programme")}
    try:
        filters = services.parse_filters(args)
    except FilterError as exc:
        if exc.region_out_of_scope:
            raise NotFound(_("No region with that code in your scope.")) from None
        raise ValidationFailed(_("The report parameters are not valid."), exc.errors) from None
    audit.record("report.summary", "report", None, **filters.as_args())
    body = services.summary(filters)
    body["coverage"] = coverage.summary(coverage.CoverageQuery(filters, coverage.as_of_day(filters)))
    return jsonify(body)


def _period(raw: str) -> tuple[dict[str, str], int | None]:
    """``period``: a year (YYYY: coverage on its last day, today at the latest, over that year's
    figures) or a month (YYYY-MM); empty: today, over the latest figures."""
    raw = (raw or "").strip()
    if not raw:
        return {}, None
    today = clock.today()
    try:
        if len(raw) == 4 and raw.isdigit():
            start, end = date(int(raw), 1, 1), date(int(raw), 12, 31)
        else:
            start = clock.parse_month(raw)
            end = clock.month_end(start)
    except ValueError:
        raise ValidationFailed(
            _("The report parameters are not valid."),
            {"period": [_("%(value)s is not a year (YYYY) or a month (YYYY-MM).", value=raw[:20])]},
        ) from None
    if start > today:
        raise ValidationFailed(
            _("The report parameters are not valid."), {"period": [_("The period has not started yet.")]}
        )
    return {"from": start.isoformat(), "to": min(end, today).isoformat()}, start.year


@bp.route("/reports/coverage.csv")
@roles_required("supervisor", "admin")
def reports_coverage_csv() -> ResponseReturnValue:
    dates, year = _period(request.args.get("period", ""))
    args = {"region": request.args.get("region", ""), **dates}
    try:
        q = coverage.parse_query(args)
    except FilterError as exc:
        if exc.region_out_of_scope:
            raise NotFound(_("No region with that code in your scope.")) from None
        raise ValidationFailed(_("The report parameters are not valid."), exc.errors) from None
    audit.record("report.export", "report", "coverage", format="csv", **q.as_args())
    rows = sdg.csv_rows(sdg.series_rows(q, year))
    return exports.csv_response(f"srs-coverage-{q.as_of.isoformat()}", sdg.SERIES_HEADERS, rows)


# A date, or empty for the default (as the dashboard's form sends an empty field).
_DATE_OR_DEFAULT = {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "maxLength": 0}]}
_COUNTS = {"type": "object", "additionalProperties": {"type": "integer"}}
_PAIR = {
    "type": "object",
    "properties": {"registered": {"type": "integer"}, "covered": {"type": "integer"}},
}
_STATUS_COUNTS = {
    "type": "object",
    "properties": {status: {"type": "integer"} for status in STATUSES},
    "additionalProperties": {"type": "integer"},
}

add_paths(
    {
        "/reports/coverage.csv": {
            "get": {
                "summary": "The SDG 1.3.1 coverage series SRS can compute for the caller's area",
                "description": "One row per series, basis (`of_registered`: among people registered in "
                "SRS; `of_population`: over the imported population figures) and sex, each with its "
                "numerator, denominator, source and year.",
                "tags": ["reports"],
                "parameters": [
                    {"name": "region", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "period",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "A year (YYYY) or a month (YYYY-MM); default: today",
                    },
                ],
                "responses": {
                    "200": {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
                    **problem_responses(401, 403, 404, 422),
                },
            }
        },
        "/reports/summary": {
            "get": {
                "summary": "Clients, screenings and referrals in the caller's regions",
                "description": "Supervisors and admins. Referral figures count referrals created in the "
                "period; `overdue` counts open referrals past their due time now (whenever they were "
                "made), and `overdue_by_kind` splits that total into the two overdue measures: "
                "`awaiting_decision` (pending or delivered, no decision yet, due time passed) and "
                "`not_completed` (accepted, not completed, due time passed). Default period: the "
                "last twelve months.",
                "tags": ["reports"],
                RULES_BEYOND_SCHEMA: [
                    "from is not after to (to defaults to today, from to twelve months before to)",
                    "the period from..to is at most ten years",
                    "programme names an existing programme",
                ],
                "parameters": [
                    {
                        "name": "region",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "Region code: it and all below it (default: all of the caller's)",
                    },
                    {"name": "from", "in": "query", "schema": _DATE_OR_DEFAULT},
                    {"name": "to", "in": "query", "schema": _DATE_OR_DEFAULT},
                    {
                        "name": "programme",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "Programme code",
                    },
                ],
                "responses": {
                    "200": json_response(
                        "The summary",
                        {
                            "type": "object",
                            "required": [
                                "clients_registered",
                                "clients_screened",
                                "referrals",
                                "by_programme",
                                "by_sex",
                                "median_days_to_decision",
                                "overdue",
                            ],
                            "properties": {
                                "clients_registered": {"type": "integer"},
                                "clients_screened": {"type": "integer"},
                                "referrals": _STATUS_COUNTS,
                                "by_programme": {"type": "object", "additionalProperties": _COUNTS},
                                "by_sex": {
                                    "type": "object",
                                    "properties": {"female": _COUNTS, "male": _COUNTS},
                                },
                                "median_days_to_decision": {"type": ["number", "null"]},
                                "overdue": {
                                    "type": "integer",
                                    "description": "Overdue referrals of either kind: the sum of "
                                    "`overdue_by_kind`",
                                },
                                "overdue_by_kind": {
                                    "type": "object",
                                    "required": list(overdue.KINDS),
                                    "properties": {
                                        overdue.AWAITING_DECISION: {
                                            "type": "integer",
                                            "description": "Waiting for a decision past due: pending "
                                            "or delivered, no decision, due time passed",
                                        },
                                        overdue.NOT_COMPLETED: {
                                            "type": "integer",
                                            "description": "Accepted but not completed past due: "
                                            "accepted, no outcome yet, due time passed",
                                        },
                                    },
                                    "additionalProperties": False,
                                },
                                "overdue_complaints": {"type": "integer"},
                                "eligible_not_referred": {"type": "integer"},
                                "share_successful": {"type": ["number", "null"]},
                                "period": {"type": "object"},
                                "region": {"type": ["string", "null"]},
                                "coverage": {
                                    "type": "object",
                                    "description": "People registered in scope (not merged) on the "
                                    "period's last day (today at the latest), and those covered by at "
                                    "least one programme then (an open enrolment: recorded, or from a "
                                    "referral completed successfully); per sex, age group, disability, "
                                    "poverty status, region and ILO function.",
                                    "properties": {
                                        "as_of": {"type": "string", "format": "date"},
                                        "registered": {"type": "integer"},
                                        "covered": {"type": "integer"},
                                        **{
                                            key: {"type": "object", "additionalProperties": _PAIR}
                                            for key in (
                                                "by_sex",
                                                "by_age_group",
                                                "disability",
                                                "poverty_status",
                                                "by_region",
                                                "by_function",
                                            )
                                        },
                                    },
                                },
                            },
                        },
                    ),
                    **problem_responses(401, 403, 404, 422),
                },
            }
        },
    }
)

"""GET /api/v1/reports/summary: the supervisor's numbers as JSON, within the caller's scope."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from srs.api import bp
from srs.api.openapi import add_paths, json_response, problem_responses
from srs.core import audit
from srs.core.access import roles_required
from srs.core.errors import NotFound, ValidationFailed
from srs.core.replica import reads_from_replica
from srs.referrals import overdue
from srs.referrals.models import STATUSES
from srs.reports import services
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
    return jsonify(services.summary(filters))


_COUNTS = {"type": "object", "additionalProperties": {"type": "integer"}}
_STATUS_COUNTS = {
    "type": "object",
    "properties": {status: {"type": "integer"} for status in STATUSES},
    "additionalProperties": {"type": "integer"},
}

add_paths(
    {
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
                "parameters": [
                    {
                        "name": "region",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "Region code: it and all below it (default: all of the caller's)",
                    },
                    {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
                    {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}},
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
                            },
                        },
                    ),
                    **problem_responses(401, 403, 404, 422),
                },
            }
        }
    }
)

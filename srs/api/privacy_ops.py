"""/api/v1 for erasure, legal holds, restriction, human review, retention, breaches and the records of
processing (thin views over srs.privacy)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from srs.api import bp
from srs.api.helpers import json_body
from srs.api.openapi import RULES_BEYOND_SCHEMA, add_paths, json_request, json_response, problem_responses
from srs.core import audit
from srs.core.access import roles_required
from srs.privacy import breaches, erasure, objection, restriction, retention, ropa
from srs.registry import services as registry
from srs.registry.models import Client


def _client(client_id: int) -> Client:
    return registry.load_client(client_id, current_user)


def _state(client: Client) -> dict[str, Any]:
    hold = erasure.active_hold(client)
    return {
        "client_id": client.id,
        "anonymised": client.anonymised_at is not None,
        "restricted": client.restricted_at is not None,
        "legal_hold": None if hold is None else {"reason": hold.reason, "set_at": hold.set_at.isoformat()},
        "erasure_blockers": erasure.blockers(client) if client.anonymised_at is None else [],
    }


@bp.route("/clients/<int:client_id>/erase", methods=["POST"])
@roles_required("supervisor")
def erase_client(client_id: int) -> ResponseReturnValue:
    client = _client(client_id)
    body = json_body()
    result = erasure.erase(client, current_user, request_id=body.get("request_id"), note=body.get("note"))
    # The same answer the second time (nothing changes then): erasure is idempotent.
    return jsonify(
        {
            "status": "anonymised",
            "client_id": client.id,
            "at": result.erasure.at.isoformat(),
            "repeated": result.repeated,
        }
    )


@bp.route("/clients/<int:client_id>/privacy")
@roles_required("officer", "supervisor")
def privacy_state(client_id: int) -> ResponseReturnValue:
    return jsonify(_state(_client(client_id)))


@bp.route("/clients/<int:client_id>/legal-hold", methods=["POST", "DELETE"])
@roles_required("supervisor")
def legal_hold(client_id: int) -> ResponseReturnValue:
    client = _client(client_id)
    if request.method == "DELETE":
        erasure.lift_hold(client, current_user)
        return jsonify(_state(client))
    erasure.set_hold(client, json_body().get("reason"), current_user)
    return jsonify(_state(client)), 201


@bp.route("/clients/<int:client_id>/restriction", methods=["POST", "DELETE"])
@roles_required("officer", "supervisor")
def restriction_route(client_id: int) -> ResponseReturnValue:
    client = _client(client_id)
    if request.method == "DELETE":
        restriction.lift(client, current_user)
        return jsonify(_state(client))
    restriction.restrict(client, current_user, json_body().get("reason"))
    return jsonify(_state(client)), 201


@bp.route("/clients/<int:client_id>/reviews", methods=["GET", "POST"])
@roles_required("officer", "supervisor")
def client_reviews(client_id: int) -> ResponseReturnValue:
    client = _client(client_id)
    if request.method == "POST":
        review = objection.request_review(client, json_body(), current_user)
        return jsonify(objection.review_dict(review)), 201
    return jsonify({"items": [objection.review_dict(r) for r in objection.reviews_of(client)]})


@bp.route("/reviews/<int:review_id>/decision", methods=["POST"])
@roles_required("officer", "supervisor")
def decide_review(review_id: int) -> ResponseReturnValue:
    review = objection.get_review(review_id)
    _client(review.client_id)  # 404 outside the caller's scope
    objection.decide(review, json_body(), current_user)
    return jsonify(objection.review_dict(review))


@bp.route("/retention")
@roles_required("admin")
def retention_plan() -> ResponseReturnValue:
    return jsonify(
        {
            "dry_run": True,
            "kinds": [
                {"kind": line.kind.key, "days": line.days, "action": line.kind.action, "count": line.count}
                for line in retention.plan()
            ],
        }
    )


@bp.route("/retention/run", methods=["POST"])
@roles_required("admin")
def retention_run() -> ResponseReturnValue:
    return jsonify({"done": retention.apply(user=current_user)})


@bp.route("/breaches", methods=["GET", "POST"])
@roles_required("admin")
def breach_list() -> ResponseReturnValue:
    if request.method == "POST":
        breach = breaches.record_breach(json_body(), current_user)
        return jsonify(breaches.breach_dict(breach)), 201
    return jsonify({"items": [breaches.breach_dict(b) for b in breaches.list_breaches()]})


@bp.route("/breaches/<int:breach_id>")
@roles_required("admin")
def breach_detail(breach_id: int) -> ResponseReturnValue:
    return jsonify(breaches.breach_dict(breaches.get_breach(breach_id)))


@bp.route("/breaches/<int:breach_id>/report")
@roles_required("admin")
def breach_authority_report(breach_id: int) -> ResponseReturnValue:
    return jsonify(breaches.authority_report(breaches.get_breach(breach_id)))


@bp.route("/breaches/<int:breach_id>/letters")
@roles_required("admin")
def breach_letters(breach_id: int) -> ResponseReturnValue:
    letters = breaches.letters(breaches.get_breach(breach_id))
    audit.record_list(
        "breach.letters", "client", [item["client_id"] for item in letters], breach_id=breach_id
    )
    return jsonify({"items": letters})


@bp.route("/records-of-processing")
@roles_required("admin", "supervisor")
def records_of_processing() -> ResponseReturnValue:
    return jsonify(ropa.records_of_processing())


# ---------------------------------------------------------------------------------------------
# The OpenAPI description of the routes above (shared/API.md, "Data-subject requests and records").

_CLIENT = [{"name": "client_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
_STAMP = {"type": ["string", "null"], "format": "date-time"}
_TEXT = {"type": ["string", "null"]}
# Ids are read as whole numbers or their digits (srs/core/ids.py), as the web forms send them.
_ID = {"type": ["integer", "string", "null"]}
_STATE = {
    "type": "object",
    "required": ["client_id", "anonymised", "restricted", "legal_hold", "erasure_blockers"],
    "properties": {
        "client_id": {"type": "integer"},
        "anonymised": {"type": "boolean"},
        "restricted": {"type": "boolean"},
        "legal_hold": {
            "type": ["object", "null"],
            "properties": {"reason": {"type": "string"}, "set_at": {"type": "string", "format": "date-time"}},
        },
        "erasure_blockers": {"type": "array", "items": {"type": "string"}},
    },
}
_REASON_BODY = json_request(
    {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}}
)
_REASON_RULES = ["reason: some text other than spaces, at most 1000 characters"]
_REVIEW = {
    "type": "object",
    "required": ["id", "client_id", "result_id", "status", "reviewer", "requested_at"],
    "properties": {
        "id": {"type": "integer"},
        "client_id": {"type": "integer"},
        "result_id": {"type": "integer"},
        "programme_code": {"type": "string"},
        "automated_outcome": {"type": "string"},
        "reviewer": {"type": "string"},
        "reviewer_id": {"type": "integer"},
        "reviewer_name": {"type": ["string", "null"]},
        "requested_at": {"type": "string", "format": "date-time"},
        "note": _TEXT,
        "status": {"type": "string", "enum": ["waiting", "decided"]},
        "decision": _TEXT,
        "reason": _TEXT,
        "decided_at": _STAMP,
    },
}
_BREACH = {
    "type": "object",
    "required": ["id", "description", "discovered_at", "deadline", "people_affected"],
    "properties": {
        "id": {"type": "integer"},
        "description": {"type": "string"},
        "discovered_at": {"type": "string", "format": "date-time"},
        "window_start": {"type": "string", "format": "date-time"},
        "window_end": {"type": "string", "format": "date-time"},
        "account": _TEXT,
        "export_action": _TEXT,
        "deadline": {"type": "string", "format": "date-time"},
        "hours_left": {"type": "number"},
        "overdue": {"type": "boolean"},
        "people_affected": {"type": "integer"},
        "authority_notified_at": _STAMP,
        "people_notified_at": _STAMP,
    },
}
_BREACH_ID = [{"name": "breach_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
_REVIEW_ID = [{"name": "review_id", "in": "path", "required": True, "schema": {"type": "integer"}}]


def _items(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": item}},
    }


add_paths(
    {
        "/clients/{client_id}/erase": {
            "post": {
                "summary": "Erase the person's record by anonymisation (supervisor); the same answer again "
                "afterwards (repeated true); 409 with what must happen first",
                "parameters": _CLIENT,
                "requestBody": json_request(
                    {
                        "type": "object",
                        "properties": {"request_id": _ID, "note": _TEXT},
                    }
                ),
                RULES_BEYOND_SCHEMA: [
                    "request_id: an erasure request of this person",
                    "note: at most 2000 characters",
                ],
                "responses": {
                    "200": json_response(
                        "Anonymised",
                        {
                            "type": "object",
                            "required": ["status", "client_id", "at", "repeated"],
                            "properties": {
                                "status": {"type": "string", "enum": ["anonymised"]},
                                "client_id": {"type": "integer"},
                                "at": {"type": "string", "format": "date-time"},
                                "repeated": {"type": "boolean"},
                            },
                        },
                    ),
                    **problem_responses(400, 401, 403, 404, 409, 422),
                },
            }
        },
        "/clients/{client_id}/privacy": {
            "get": {
                "summary": "The record's privacy state: erased, restricted, legal hold, what blocks erasure",
                "parameters": _CLIENT,
                "responses": {"200": json_response("The state", _STATE), **problem_responses(401, 403, 404)},
            }
        },
        "/clients/{client_id}/legal-hold": {
            "post": {
                "summary": "Set a legal hold (supervisor): the record may not be erased while it stands",
                "parameters": _CLIENT,
                "requestBody": _REASON_BODY,
                RULES_BEYOND_SCHEMA: _REASON_RULES,
                "responses": {
                    "201": json_response("Held", _STATE),
                    **problem_responses(400, 401, 403, 404, 409, 422),
                },
            },
            "delete": {
                "summary": "Lift the legal hold (supervisor); 409 when there is none",
                "parameters": _CLIENT,
                "responses": {
                    "200": json_response("Lifted", _STATE),
                    **problem_responses(401, 403, 404, 409),
                },
            },
        },
        "/clients/{client_id}/restriction": {
            "post": {
                "summary": "Restrict processing: read-only, out of new referrals, simulations and exports",
                "parameters": _CLIENT,
                "requestBody": _REASON_BODY,
                RULES_BEYOND_SCHEMA: _REASON_RULES,
                "responses": {
                    "201": json_response("Restricted", _STATE),
                    **problem_responses(400, 401, 403, 404, 409, 422),
                },
            },
            "delete": {
                "summary": "Lift the restriction; 409 when there is none",
                "parameters": _CLIENT,
                "responses": {
                    "200": json_response("Lifted", _STATE),
                    **problem_responses(401, 403, 404, 409),
                },
            },
        },
        "/clients/{client_id}/reviews": {
            "get": {
                "summary": "Human reviews of the person's automated screening results",
                "parameters": _CLIENT,
                "responses": {
                    "200": json_response("Reviews", _items(_REVIEW)),
                    **problem_responses(401, 403, 404),
                },
            },
            "post": {
                "summary": "Send a screening result to a named person for human review (objection)",
                "parameters": _CLIENT,
                "requestBody": json_request(
                    {
                        "type": "object",
                        "required": ["result_id", "reviewer"],
                        "properties": {
                            "result_id": _ID,
                            "reviewer": {"type": "string", "description": "The reviewer's username"},
                            "note": _TEXT,
                            "request_id": _ID,
                        },
                    }
                ),
                RULES_BEYOND_SCHEMA: [
                    "result_id: a screening result of this person",
                    "reviewer: an active officer or supervisor who covers the person, not the caller",
                    "request_id: an objection request of this person",
                    "note: at most 2000 characters",
                ],
                "responses": {
                    "201": json_response("Sent", _REVIEW),
                    **problem_responses(400, 401, 403, 404, 409, 422),
                },
            },
        },
        "/reviews/{review_id}/decision": {
            "post": {
                "summary": "The named reviewer's decision, with a reason",
                "parameters": _REVIEW_ID,
                "requestBody": json_request(
                    {
                        "type": "object",
                        "required": ["decision", "reason"],
                        "properties": {
                            "decision": {
                                "type": "string",
                                "enum": ["eligible", "not_eligible", "needs_information"],
                            },
                            "reason": {"type": "string"},
                        },
                    }
                ),
                RULES_BEYOND_SCHEMA: ["reason: some text other than spaces, at most 2000 characters"],
                "responses": {
                    "200": json_response("Decided", _REVIEW),
                    **problem_responses(400, 401, 403, 404, 409, 422),
                },
            }
        },
        "/retention": {
            "get": {
                "summary": "What the retention job would do now (dry run), per kind of record",
                "responses": {
                    "200": json_response(
                        "The plan",
                        {
                            "type": "object",
                            "required": ["dry_run", "kinds"],
                            "properties": {
                                "dry_run": {"type": "boolean"},
                                "kinds": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "kind": {"type": "string"},
                                            "days": {"type": "integer"},
                                            "action": {"type": "string"},
                                            "count": {"type": "integer"},
                                        },
                                    },
                                },
                            },
                        },
                    ),
                    **problem_responses(401, 403),
                },
            }
        },
        "/retention/run": {
            "post": {
                "summary": "Apply the retention periods now (audited); how many records of each kind",
                "responses": {
                    "200": json_response(
                        "Done",
                        {
                            "type": "object",
                            "required": ["done"],
                            "properties": {
                                "done": {"type": "object", "additionalProperties": {"type": "integer"}}
                            },
                        },
                    ),
                    **problem_responses(401, 403),
                },
            }
        },
        "/breaches": {
            "get": {
                "summary": "Recorded breaches with their 3 x 24 hour countdown",
                "responses": {
                    "200": json_response("Breaches", _items(_BREACH)),
                    **problem_responses(401, 403),
                },
            },
            "post": {
                "summary": "Record a suspected breach: what, when discovered, the window, the account or "
                "export; the people affected are read from the audit trail",
                "requestBody": json_request(
                    {
                        "type": "object",
                        "required": ["description", "discovered_at", "window_start", "window_end"],
                        "properties": {
                            "description": {"type": "string"},
                            "discovered_at": {"type": "string"},
                            "window_start": {"type": "string"},
                            "window_end": {"type": "string"},
                            "account": _TEXT,
                            "export_action": {"type": ["string", "null"], "maxLength": 60},
                        },
                    }
                ),
                RULES_BEYOND_SCHEMA: [
                    "description: some text other than spaces, at most 4000 characters",
                    "discovered_at, window_start, window_end: ISO 8601 date-times; the window ends after "
                    "it starts; discovered_at not in the future",
                    "account: a username; account or export_action is required",
                ],
                "responses": {
                    "201": json_response("Recorded", _BREACH),
                    **problem_responses(400, 401, 403, 422),
                },
            },
        },
        "/breaches/{breach_id}": {
            "get": {
                "summary": "One breach",
                "parameters": _BREACH_ID,
                "responses": {
                    "200": json_response("The breach", _BREACH),
                    **problem_responses(401, 403, 404),
                },
            }
        },
        "/breaches/{breach_id}/report": {
            "get": {
                "summary": "The report to the supervisory authority (no personal data)",
                "parameters": _BREACH_ID,
                "responses": {
                    "200": json_response(
                        "The report",
                        {
                            "type": "object",
                            "required": ["breach_id", "people_affected", "notify_by"],
                            "properties": {
                                "breach_id": {"type": "integer"},
                                "people_affected": {"type": "integer"},
                                "people_affected_by_region": {
                                    "type": "object",
                                    "additionalProperties": {"type": "integer"},
                                },
                                "notify_by": {"type": "string", "format": "date-time"},
                                "legal_basis": {"type": "string"},
                            },
                        },
                    ),
                    **problem_responses(401, 403, 404),
                },
            }
        },
        "/breaches/{breach_id}/letters": {
            "get": {
                "summary": "One notification letter per person affected, in their language (audited)",
                "parameters": _BREACH_ID,
                "responses": {
                    "200": json_response(
                        "Letters",
                        _items(
                            {
                                "type": "object",
                                "required": ["client_id", "locale", "text"],
                                "properties": {
                                    "client_id": {"type": "integer"},
                                    "locale": {"type": "string"},
                                    "address": _TEXT,
                                    "text": {"type": "string"},
                                },
                            }
                        ),
                    ),
                    **problem_responses(401, 403, 404),
                },
            }
        },
        "/records-of-processing": {
            "get": {
                "summary": "The records of processing, generated from the configuration",
                "responses": {
                    "200": json_response("The records", {"type": "object"}),
                    **problem_responses(401, 403),
                },
            }
        },
    }
)

"""/api/v1 for erasure, legal holds, restriction, human review, retention, breaches and the records of
processing (thin views over srs.privacy)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from srs.api import bp
from srs.api.helpers import json_body
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

"""/api/v1/referrals: create, list, read with history, and the agency/officer actions."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from srs.api import bp
from srs.api.helpers import json_body
from srs.api.openapi import (
    PAGE_PARAMETERS,
    add_paths,
    add_webhooks,
    idempotent_operation,
    json_request,
    json_response,
    page_of,
    problem_responses,
    ref,
)
from srs.core import audit
from srs.core.access import login_required, roles_required
from srs.core.errors import NotFound, ValidationFailed
from srs.core.idempotency import idempotent
from srs.core.pagination import page_args, paginate
from srs.core.transaction import attempt
from srs.extensions import db
from srs.programmes.models import Programme
from srs.referrals import overdue, policies
from srs.referrals import services as svc
from srs.registry import services as registry_services


def _optional_body() -> dict[str, Any]:
    return json_body() if request.data else {}


def _int_field(body: dict[str, Any], name: str, required: bool) -> int | None:
    value = body.get(name)
    if value is None:
        if required:
            raise ValidationFailed(
                _("Please correct the marked fields."), {name: [_("This field is required.")]}
            )
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(_("Please correct the marked fields."), {name: [_("Must be a whole number.")]})
    return value


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationFailed(_("Please correct the marked fields."), {name: [_("Must be text.")]})
    return value


@bp.route("/referrals", methods=["POST"])
@roles_required("officer", "supervisor")
@idempotent
def create_referral() -> ResponseReturnValue:
    body = json_body()
    client_id = _int_field(body, "client_id", True)
    screening_id = _int_field(body, "screening_id", False)
    code = _text(body, "programme_code")
    if not code:
        raise ValidationFailed(
            _("Please correct the marked fields."), {"programme_code": [_("This field is required.")]}
        )
    try:
        with attempt():
            client = registry_services.load_client(client_id, current_user)
    except NotFound as exc:
        raise ValidationFailed(
            _("Unknown client."), {"client_id": [_("No client with this id in your regions.")]}
        ) from exc
    programme = db.session.scalar(select(Programme).where(Programme.code == code))
    if programme is None:
        raise ValidationFailed(
            _("Unknown programme."), {"programme_code": [_("No programme has this code.")]}
        )
    try:
        with attempt():
            [referral] = svc.create_referrals(
                svc.NewReferrals(
                    client=client,
                    programme_ids=[programme.id],
                    note=_text(body, "note"),
                    screening_id=screening_id,
                    # Through the API the client's recorded consent is the confirmation.
                    consent_confirmed=True,
                    consent_override_reason=_text(body, "consent_override_reason"),
                ),
                current_user,
            )
    except ValidationFailed as exc:
        if "programmes" in exc.errors:
            exc.errors["programme_code"] = exc.errors.pop("programmes")
        raise
    response = jsonify(svc.to_dict(referral))
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/referrals/{referral.id}"
    return response


@bp.route("/referrals", methods=["GET"])
@login_required
def list_referrals() -> ResponseReturnValue:
    page, per_page = page_args(strict=True)
    status = request.args.get("status") or None
    if status is not None and status not in svc.STATUS_LABELS:
        raise ValidationFailed(_("Unknown status."), {"status": [_("Unknown status.")]})
    stmt = svc.list_query(current_user, status, request.args.get("programme") or None)
    result = paginate(stmt, page, per_page)
    audit.record_list(
        "referral.inbox" if policies.works_for_agency(current_user) else "referral.list",
        "referral",
        [r.id for r in result.items],
        query={"status": status, "programme": request.args.get("programme")},
        page=result.page,
        total=result.total,
        client_ids=sorted({r.client_id for r in result.items}),
        channel="api",
    )
    if policies.works_for_agency(current_user):
        states = svc.consent_states(result.items)
        return jsonify(
            result.as_dict(
                lambda r: svc.for_agency(r, svc.to_dict(r, with_history=False), states[r.client_id])
            )
        )
    return jsonify(result.as_dict(lambda r: svc.to_dict(r, with_history=False)))


@bp.route("/referrals/<int:referral_id>", methods=["GET"])
@login_required
def get_referral(referral_id: int) -> ResponseReturnValue:
    referral = svc.load_referral(referral_id, current_user)
    audit.record("referral.view", "referral", referral.id, client_id=referral.client_id)
    data = svc.to_dict(referral)
    if policies.works_for_agency(current_user):
        svc.for_agency(referral, data)
    return jsonify(data)


def _action(referral_id: int, name: str) -> Any:
    referral = svc.load_referral(referral_id, current_user)
    body = _optional_body()
    version = _int_field(body, "version", False)
    if version is None and request.headers.get("If-Match", "").strip().strip('"').isdigit():
        version = int(request.headers["If-Match"].strip().strip('"'))
    svc.apply_action(
        referral,
        svc.Action(
            name=name,
            note=_text(body, "note"),
            reason=_text(body, "reason"),
            outcome=_text(body, "outcome"),
            version=version,
        ),
        current_user,
    )
    data = svc.to_dict(referral)
    if policies.works_for_agency(current_user):
        svc.for_agency(referral, data)
    return jsonify(data)


@bp.route("/referrals/<int:referral_id>/accept", methods=["POST"])
@roles_required("agency_staff")
def accept_referral(referral_id: int) -> ResponseReturnValue:
    return _action(referral_id, "accept")


@bp.route("/referrals/<int:referral_id>/decline", methods=["POST"])
@roles_required("agency_staff")
def decline_referral(referral_id: int) -> ResponseReturnValue:
    return _action(referral_id, "decline")


@bp.route("/referrals/<int:referral_id>/complete", methods=["POST"])
@roles_required("agency_staff")
def complete_referral(referral_id: int) -> ResponseReturnValue:
    return _action(referral_id, "complete")


@bp.route("/referrals/<int:referral_id>/cancel", methods=["POST"])
@roles_required("officer", "supervisor")
def cancel_referral(referral_id: int) -> ResponseReturnValue:
    return _action(referral_id, "cancel")


_HISTORY = {
    "type": "object",
    "properties": {
        "status": {"type": "string"},
        "at": {"type": "string", "format": "date-time"},
        "by": {"type": "string"},
        "note": {"type": ["string", "null"]},
    },
}
_REFERRAL = {
    "type": "object",
    "required": ["id", "client_id", "programme_code", "agency_code", "status", "due_at", "version"],
    "properties": {
        "id": {"type": "integer"},
        "client_id": {"type": "integer"},
        "programme_code": {"type": "string"},
        "agency_code": {"type": "string"},
        "status": {"type": "string", "enum": list(svc.STATUS_LABELS)},
        "created_at": {"type": "string", "format": "date-time"},
        "delivered_at": {"type": ["string", "null"], "format": "date-time"},
        "due_at": {"type": ["string", "null"], "format": "date-time"},
        "overdue": {"type": "boolean", "description": "Past its due time, of either overdue kind"},
        "overdue_kind": {
            "type": ["string", "null"],
            "enum": [*overdue.KINDS, None],
            "description": "awaiting_decision: no decision by the due time; not_completed: accepted and "
            "not completed by the due time; null when not overdue",
        },
        "escalated_at": {"type": ["string", "null"], "format": "date-time"},
        "delivery_failed": {"type": "boolean"},
        "decline_reason": {"type": ["string", "null"], "enum": [*svc.DECLINE_REASONS, None]},
        "outcome": {"type": ["string", "null"], "enum": ["successful", "unsuccessful", None]},
        "note": {"type": ["string", "null"]},
        "history": {"type": "array", "items": _HISTORY},
        "cancel_reason": {
            "type": ["string", "null"],
            "description": "Why it was cancelled: consent_withdrawn when the client withdrew consent, "
            "else the reason the officer gave",
        },
        "consent_override_reason": {
            "type": ["string", "null"],
            "description": "A supervisor referred without the client's consent, for this reason",
        },
        "client": {
            "type": ["object", "null"],
            "description": "Agency staff only: the fields the programme shares; null (and note null) "
            "when the client's consent does not, or no longer, cover the agency",
        },
        "client_withheld": {"type": "boolean", "description": "Agency staff only: client is null by consent"},
        "estimate": {
            "oneOf": [ref("Estimate"), {"type": "null"}],
            "description": "The estimate the person was shown when the referral was made (kept as it was, "
            "with its rate version); null when none was given, and for agency staff when client is null",
        },
        "version": {"type": "integer"},
    },
}
# What an agency's webhook receives (shared/API.md "Agency webhooks").
_WEBHOOK_REFERRAL = {
    "type": "object",
    "required": ["event", "referral"],
    "properties": {
        "event": {"enum": ["referral.delivered"]},
        "referral": {
            "type": "object",
            "required": ["id", "programme_code", "agency_code", "status", "due_at", "client", "estimate"],
            "properties": {
                "id": {"type": "integer"},
                "programme_code": {"type": "string"},
                "agency_code": {"type": "string"},
                "status": {"enum": ["delivered"]},
                "created_at": {"type": "string", "format": "date-time"},
                "due_at": {"type": ["string", "null"], "format": "date-time"},
                "note": {"type": ["string", "null"]},
                "consent_override_reason": {"type": ["string", "null"]},
                "client": {
                    "type": ["object", "null"],
                    "description": "The fields the programme shares; null when the client's consent does "
                    "not cover the agency",
                },
                "estimate": {
                    "oneOf": [ref("Estimate"), {"type": "null"}],
                    "description": "The estimate the person was shown, its sentences in the language of "
                    "the agency's country; null with client, or when none was given",
                },
                "url": {"type": "string"},
            },
        },
    },
}
_ACTION_BODY = {
    "type": "object",
    "properties": {
        "note": {"type": "string"},
        "version": {"type": "integer"},
        "reason": {"type": "string", "description": "decline: one of the reason codes; cancel: free text"},
        "outcome": {"type": "string", "enum": ["successful", "unsuccessful"]},
    },
}
_ID_PARAM = [{"name": "referral_id", "in": "path", "required": True, "schema": {"type": "integer"}}]


def _action_doc(summary: str, role: str) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "description": f"Role: {role}. Any status change the state machine does not allow is 409.",
            "parameters": [
                *_ID_PARAM,
                {"name": "If-Match", "in": "header", "schema": {"type": "string"}, "description": "version"},
            ],
            "requestBody": {"required": False, "content": {"application/json": {"schema": _ACTION_BODY}}},
            "responses": {
                "200": json_response("The referral after the change", ref("Referral")),
                **problem_responses(400, 401, 403, 404, 409, 422),
            },
        }
    }


add_paths(
    {
        "/referrals": {
            "post": idempotent_operation(
                {
                    "summary": "Refer a client to a programme",
                    "description": "Role: officer or supervisor. No consent to share -> 422 (a supervisor "
                    "may send consent_override_reason); an open referral of the client to the programme "
                    "-> 409.",
                    "requestBody": json_request(
                        {
                            "type": "object",
                            "required": ["client_id", "programme_code"],
                            "properties": {
                                "client_id": {"type": "integer"},
                                "programme_code": {"type": "string"},
                                "screening_id": {"type": "integer"},
                                "note": {"type": "string"},
                                "consent_override_reason": {"type": "string"},
                            },
                        }
                    ),
                    "responses": {
                        "201": json_response("The referral, pending delivery", ref("Referral")),
                        **problem_responses(400, 401, 403, 409, 422),
                    },
                }
            ),
            "get": {
                "summary": "Referrals in the caller's scope",
                "parameters": [
                    *PAGE_PARAMETERS,
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"type": "string", "enum": list(svc.STATUS_LABELS)},
                    },
                    {"name": "programme", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": json_response("A page of referrals", page_of(ref("Referral"))),
                    **problem_responses(401, 422),
                },
            },
        },
        "/referrals/{referral_id}": {
            "get": {
                "summary": "One referral with its history and version",
                "parameters": _ID_PARAM,
                "responses": {
                    "200": json_response("The referral", ref("Referral")),
                    **problem_responses(401, 404),
                },
            }
        },
        "/referrals/{referral_id}/accept": _action_doc("Accept a delivered referral", "agency_staff"),
        "/referrals/{referral_id}/decline": _action_doc(
            "Decline a delivered referral (reason required)", "agency_staff"
        ),
        "/referrals/{referral_id}/complete": _action_doc(
            "Complete an accepted referral (outcome required)", "agency_staff"
        ),
        "/referrals/{referral_id}/cancel": _action_doc(
            "Cancel an open referral (reason required)", "officer, supervisor"
        ),
    },
    {"Referral": _REFERRAL, "ReferralDelivered": _WEBHOOK_REFERRAL},
)
add_webhooks(
    {
        "referral.delivered": {
            "post": {
                "summary": "A referral delivered to the agency's webhook (headers Idempotency-Key and "
                "X-SRS-Signature: sha256=<HMAC-SHA256 of the raw body with the agency's secret>)",
                "requestBody": json_request(ref("ReferralDelivered")),
                "responses": {"200": {"description": "Received (any 2xx)"}},
            }
        }
    }
)

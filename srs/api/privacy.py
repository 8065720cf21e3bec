"""/api/v1 data-subject requests and the export of a person's data (thin views over srs.privacy)."""

from __future__ import annotations

from flask import Response, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from srs.api import bp
from srs.api.helpers import json_body
from srs.api.openapi import add_paths, json_request, json_response, problem_responses, ref
from srs.core.access import roles_required
from srs.core.errors import ValidationFailed
from srs.privacy import export as exporting
from srs.privacy import requests as ledger
from srs.privacy.models import REQUEST_CHANNELS, REQUEST_KINDS, REQUEST_OUTCOMES
from srs.registry import services as registry

STAFF = ("officer", "supervisor")


@bp.route("/clients/<int:client_id>/requests", methods=["POST"])
@roles_required(*STAFF)
def create_request(client_id: int) -> ResponseReturnValue:
    client = registry.load_client(client_id, current_user)
    recorded = ledger.record_request(client, json_body(), current_user)
    response = jsonify(ledger.to_dict(recorded))
    response.status_code = 201
    response.headers["Location"] = url_for("api.list_requests", client_id=client.id)
    return response


@bp.route("/clients/<int:client_id>/requests")
@roles_required(*STAFF)
def list_requests(client_id: int) -> ResponseReturnValue:
    client = registry.load_client(client_id, current_user)
    return jsonify({"items": [ledger.to_dict(r) for r in ledger.requests_of(client)]})


@bp.route("/requests/<int:request_id>/close", methods=["POST"])
@roles_required(*STAFF)
def close_request(request_id: int) -> ResponseReturnValue:
    found = ledger.get_request(request_id, current_user)
    ledger.close_request(found, json_body(), current_user)
    return jsonify(ledger.to_dict(found))


@bp.route("/clients/<int:client_id>/export")
@roles_required(*STAFF)
def export_client(client_id: int) -> ResponseReturnValue:
    """Everything SRS holds on the person; ``?format=pdf`` for the copy in their language."""
    client = registry.load_client(client_id, current_user)
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "pdf"):
        raise ValidationFailed(_("Choose JSON or PDF."), {"format": [_("Choose json or pdf.")]})
    served = None
    if request.args.get("request_id"):
        served = ledger.get_request(request.args["request_id"], current_user)
        if served.client_id != client.id:
            raise ValidationFailed(
                _("This request is about another client."), {"request_id": [_("Not this client's.")]}
            )
    locale = exporting.language_for(client, request.args.get("lang"))
    data = exporting.export(client, current_user, fmt, locale, served)
    if fmt == "pdf":
        return Response(
            exporting.render_pdf(data, locale),
            mimetype="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="srs-client-{client.id}.pdf"'},
        )
    return jsonify(data)


_CLIENT_ID = [{"name": "client_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
_REQUEST_ID = [{"name": "request_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
_STAMP = {"type": ["string", "null"], "format": "date-time"}

add_paths(
    {
        "/clients/{client_id}/requests": {
            "post": {
                "summary": "Record a data-subject request; due_at follows the country's legal period (rule)",
                "parameters": _CLIENT_ID,
                "requestBody": json_request(
                    {
                        "type": "object",
                        "required": ["kind", "received_via"],
                        "properties": {
                            "kind": {"type": "string", "enum": list(REQUEST_KINDS)},
                            "received_via": {"type": "string", "enum": list(REQUEST_CHANNELS)},
                            "note": {"type": ["string", "null"], "maxLength": ledger.NOTE_MAX},
                        },
                    }
                ),
                "responses": {
                    "201": json_response("Recorded", ref("DataSubjectRequest")),
                    **problem_responses(400, 401, 403, 404, 422),
                },
            },
            "get": {
                "summary": "The client's requests, newest first",
                "parameters": _CLIENT_ID,
                "responses": {
                    "200": json_response(
                        "Requests",
                        {
                            "type": "object",
                            "properties": {"items": {"type": "array", "items": ref("DataSubjectRequest")}},
                        },
                    ),
                    **problem_responses(401, 403, 404),
                },
            },
        },
        "/requests/{request_id}/close": {
            "post": {
                "summary": "Close a request with an outcome (a refusal needs the reason in note)",
                "parameters": _REQUEST_ID,
                "requestBody": json_request(
                    {
                        "type": "object",
                        "required": ["outcome"],
                        "properties": {
                            "outcome": {"type": "string", "enum": list(REQUEST_OUTCOMES)},
                            "note": {"type": ["string", "null"]},
                        },
                    }
                ),
                "responses": {
                    "200": json_response("Closed", ref("DataSubjectRequest")),
                    **problem_responses(400, 401, 403, 404, 409, 422),
                },
            }
        },
        "/clients/{client_id}/export": {
            "get": {
                "summary": "Everything SRS holds on the client with the processing trail (audited); "
                "format=pdf for the copy in the person's language (lang, else the country's)",
                "parameters": [
                    *_CLIENT_ID,
                    {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "pdf"]}},
                    {"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["en", "id", "vi"]}},
                    {"name": "request_id", "in": "query", "schema": {"type": "integer"}},
                ],
                "responses": {
                    "200": {
                        "description": "The export",
                        "content": {
                            "application/json": {"schema": ref("ClientExport")},
                            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                        },
                    },
                    **problem_responses(401, 403, 404, 422),
                },
            }
        },
    },
    {
        "DataSubjectRequest": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "client_id": {"type": "integer"},
                "kind": {"type": "string", "enum": list(REQUEST_KINDS)},
                "received_via": {"type": "string"},
                "note": {"type": ["string", "null"]},
                "status": {"type": "string", "enum": ["open", "closed"]},
                "received_at": {"type": "string", "format": "date-time"},
                "due_at": {"type": "string", "format": "date-time"},
                "complete_by": _STAMP,
                "extended_until": _STAMP,
                "answered_at": _STAMP,
                "overdue": {"type": "boolean"},
                "escalated_at": _STAMP,
                "rule": {"type": "string", "description": "The law, article and period the due time follows"},
                "outcome": {"type": ["string", "null"]},
                "outcome_note": {"type": ["string", "null"]},
                "closed_at": _STAMP,
                "served_by": {"type": ["object", "null"]},
            },
        },
        "ClientExport": {
            "type": "object",
            "properties": {
                **{
                    name: {"type": ["object", "array", "null"]}
                    for name in (
                        "client",
                        "household",
                        "screenings",
                        "referrals",
                        "cases",
                        "complaints",
                        "consents",
                        "requests",
                    )
                },
                "processing": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "at": {"type": "string", "format": "date-time"},
                            "action": {"type": "string"},
                            "by_role": {"type": "string"},
                            "recipient": {"type": ["string", "null"]},
                        },
                    },
                },
            },
        },
    },
)

"""/api/v1/clients/<id>/enrolments: record that a person is covered by a programme, and list it
(thin views over srs.programmes.enrolments; the coverage figures count these rows)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import jsonify, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from srs.api import bp
from srs.api.helpers import json_body
from srs.api.openapi import (
    RULES_BEYOND_SCHEMA,
    add_paths,
    idempotent_operation,
    json_request,
    json_response,
    problem_responses,
    ref,
)
from srs.core import audit, clock
from srs.core.access import roles_required
from srs.core.errors import ValidationFailed
from srs.core.idempotency import idempotent
from srs.core.iso import iso
from srs.core.transaction import attempt
from srs.programmes import enrolments, services
from srs.programmes.models import FUNCTIONS, Enrolment
from srs.registry import services as registry

RECORDERS = ("officer", "admin")  # who screens records coverage (programmes.policies.can_record_enrolment)
READERS = ("officer", "supervisor", "admin")


def enrolment_as_dict(enrolment: Enrolment) -> dict[str, Any]:
    """The API shape of an enrolment (schema ``Enrolment``)."""
    programme = enrolment.programme
    return {
        "id": enrolment.id,
        "client_id": enrolment.client_id,
        "programme_code": programme.code,
        "functions": list(programme.functions or []),
        "start_on": enrolment.start_on.isoformat(),
        "end_on": enrolment.end_on.isoformat() if enrolment.end_on else None,
        "open": enrolment.open_on(clock.today()),
        "source": enrolment.source,
        "referral_id": enrolment.referral_id,
        "recorded_at": iso(enrolment.recorded_at),
    }


def _day(body: dict[str, Any], name: str, errors: dict[str, list[str]]) -> date | None:
    raw = body.get(name)
    if raw is None:
        return None
    if not isinstance(raw, str):
        errors[name] = [_("Write the date as YYYY-MM-DD.")]
        return None
    try:
        return clock.parse_date(raw)
    except ValueError:
        errors[name] = [_("Write the date as YYYY-MM-DD.")]
        return None


@bp.route("/clients/<int:client_id>/enrolments", methods=["POST"])
@roles_required(*RECORDERS)
@idempotent
def create_enrolment(client_id: int) -> ResponseReturnValue:
    client = registry.load_client(client_id, current_user)
    body = json_body()
    errors: dict[str, list[str]] = {}
    code = body.get("programme_code")
    known = isinstance(code, str) and 0 < len(code.strip()) <= 40 and "\x00" not in code
    programme = services.get_programme_by_code(code.strip()) if known and isinstance(code, str) else None
    if programme is None:
        errors["programme_code"] = [_("Unknown programme.")]
    start_on, end_on = _day(body, "start_on", errors), _day(body, "end_on", errors)
    if errors:
        raise ValidationFailed(_("The enrolment could not be recorded."), errors)
    try:
        with attempt():
            enrolment = enrolments.record_enrolment(
                client, programme, start_on, end_on, source="profile", user=current_user
            )
    except ValidationFailed as exc:
        if "programme" in exc.errors:
            exc.errors["programme_code"] = exc.errors.pop("programme")
        raise
    response = jsonify(enrolment_as_dict(enrolment))
    response.status_code = 201
    response.headers["Location"] = url_for("api.list_enrolments", client_id=client.id)
    return response


@bp.route("/clients/<int:client_id>/enrolments")
@roles_required(*READERS)
def list_enrolments(client_id: int) -> ResponseReturnValue:
    client = registry.load_client(client_id, current_user)
    rows = enrolments.enrolments_of(client)
    audit.record("enrolment.list", "client", client.id, enrolments=[e.id for e in rows])
    return jsonify({"items": [enrolment_as_dict(e) for e in rows]})


_CLIENT_ID = [{"name": "client_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
_DATE = {"type": "string", "format": "date", "pattern": r"^\s*\d{4}-\d{2}-\d{2}\s*$"}
_ENROLMENT = {
    "type": "object",
    "required": ["id", "client_id", "programme_code", "start_on", "end_on", "open", "source"],
    "properties": {
        "id": {"type": "integer"},
        "client_id": {"type": "integer"},
        "programme_code": {"type": "string"},
        "functions": {"type": "array", "items": {"enum": list(FUNCTIONS)}},
        "start_on": {"type": "string", "format": "date"},
        "end_on": {"type": ["string", "null"], "format": "date"},
        "open": {"type": "boolean", "description": "Covering today"},
        "source": {"type": "string", "description": "registration, profile, referral, import or migration"},
        "referral_id": {"type": ["integer", "null"]},
        "recorded_at": {"type": ["string", "null"], "format": "date-time"},
    },
}

add_paths(
    {
        "/clients/{client_id}/enrolments": {
            "post": idempotent_operation(
                {
                    "summary": "Record that the client is covered by a programme (officer, admin)",
                    "description": "From start_on until end_on (open when null); counted in the coverage "
                    "figures and, for Viet Nam voluntary social insurance, in the months of state support "
                    "used. Audited.",
                    "parameters": _CLIENT_ID,
                    RULES_BEYOND_SCHEMA: [
                        "programme_code names a programme of the client's country",
                        "start_on is not in the future",
                        "end_on is not before start_on",
                        "the dates do not overlap another enrolment of the client in the programme",
                    ],
                    "requestBody": json_request(
                        {
                            "type": "object",
                            "required": ["programme_code", "start_on"],
                            "properties": {
                                "programme_code": {"type": "string", "minLength": 1},
                                "start_on": _DATE,
                                "end_on": {"oneOf": [_DATE, {"type": "null"}]},
                            },
                        }
                    ),
                    "responses": {
                        "201": json_response("The enrolment", ref("Enrolment")),
                        **problem_responses(400, 401, 403, 404, 422),
                    },
                }
            ),
            "get": {
                "summary": "The client's enrolments, latest start first (officer, supervisor, admin)",
                "parameters": _CLIENT_ID,
                "responses": {
                    "200": json_response(
                        "Enrolments",
                        {
                            "type": "object",
                            "required": ["items"],
                            "properties": {"items": {"type": "array", "items": ref("Enrolment")}},
                        },
                    ),
                    **problem_responses(401, 403, 404),
                },
            },
        }
    },
    {"Enrolment": _ENROLMENT},
)

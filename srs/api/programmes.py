"""GET /api/v1/programmes, POST /api/v1/clients/<id>/screenings, GET /api/v1/screenings/<id>."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, jsonify, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from srs.api import bp
from srs.api.helpers import json_body, query_choice
from srs.api.openapi import add_paths, json_request, json_response, problem_responses, ref
from srs.core import audit, clock
from srs.core.access import login_required, roles_required
from srs.core.errors import Forbidden, ValidationFailed
from srs.core.iso import iso
from srs.core.lengths import check_long_text
from srs.extensions import db
from srs.programmes import policies, services, versions
from srs.programmes.models import FUNCTIONS, Programme, RuleVersion, Screening
from srs.programmes.screening import screen, screening_as_dict
from srs.regions.services import COUNTRIES
from srs.registry.services import load_client


def _locale() -> str:
    return str(get_locale() or "en").split("_")[0]


def programme_as_dict(programme: Programme, today: date) -> dict[str, Any]:
    version = programme.current_version
    return {
        "code": programme.code,
        "name": programme.name_in(_locale()),
        "names": dict(programme.names),
        "agency": {
            "code": programme.agency.code,
            "name": programme.agency.name,
            **programme.agency.public_contact(),
        },
        "country": programme.country,
        "kind": programme.kind,
        "functions": list(programme.functions or []),
        "contributory": programme.contributory,
        "active": services.is_active(programme, today),
        "rule_version": version.number if version else None,
        "criteria": version.criteria if version else None,
    }


@bp.route("/programmes")
@login_required
def list_programmes() -> ResponseReturnValue:
    today = clock.today()
    items = [
        programme_as_dict(p, today) for p in services.list_programmes(query_choice("country", COUNTRIES))
    ]
    return jsonify({"items": items, "page": 1, "per_page": len(items), "total": len(items)})


@bp.route("/clients/<int:client_id>/screenings", methods=["POST"])
@roles_required("officer", "admin")
def create_screening(client_id: int) -> ResponseReturnValue:
    client = load_client(client_id, current_user)
    screening = screen(client, current_user, trigger="api")
    response = jsonify(screening_as_dict(screening, _locale()))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_screening", screening_id=screening.id)
    return response


@bp.route("/screenings/<int:screening_id>")
@roles_required("officer", "supervisor", "admin")
def get_screening(screening_id: int) -> ResponseReturnValue:
    screening = db.get_or_404(Screening, screening_id)
    load_client(screening.client_id, current_user)
    audit.record("screening.read", "client", screening.client_id, screening=screening.id)
    return jsonify(screening_as_dict(screening, _locale()))


# Rule drafts -------------------------------------------------------------------------------------


def _programme_for_rules(code: str) -> Programme:
    """The programme by code (404), if the caller may draft its rules (403: another country)."""
    programme = services.get_programme_by_code(code)
    if programme is None:
        abort(404)
    if not policies.can_edit_rules(current_user, programme):
        raise Forbidden(
            _(
                "You may draft rules only for programmes of the countries you cover; "
                "%(code)s is a programme of %(country)s.",
                code=programme.code,
                country=programme.country,
            )
        )
    return programme


def draft_as_dict(version: RuleVersion) -> dict[str, Any]:
    return {
        "programme": version.programme.code,
        "number": version.number,
        "revision": version.revision,
        "status": version.status,
        "criteria": version.criteria,
        "note": version.note,
        "source": version.source,
        "saved_at": iso(version.created_at),
    }


def _optional_text(body: dict[str, Any], name: str, errors: dict[str, list[str]]) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        errors[name] = [_("Must be text.")]
        return None
    check_long_text(value, name, errors)
    return value


@bp.route("/programmes/<code>/draft")
@roles_required("admin", "supervisor")
def get_draft(code: str) -> ResponseReturnValue:
    draft = versions.draft_of(_programme_for_rules(code))
    if draft is None:
        abort(404)
    return jsonify(draft_as_dict(draft))


@bp.route("/programmes/<code>/draft", methods=["PUT"])
@roles_required("admin", "supervisor")
def save_draft(code: str) -> ResponseReturnValue:
    programme = _programme_for_rules(code)
    body = json_body()
    errors: dict[str, list[str]] = {}
    if "criteria" not in body:
        errors["criteria"] = [_("This field is required.")]
    note = _optional_text(body, "note", errors)
    source = _optional_text(body, "source", errors)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    draft = versions.save_draft(programme, body["criteria"], current_user, note, source)
    return jsonify(draft_as_dict(draft))


@bp.route("/programmes/<code>/draft/publish", methods=["POST"])
@roles_required("admin")
def publish_draft(code: str) -> ResponseReturnValue:
    programme = _programme_for_rules(code)
    body = json_body()
    draft = versions.draft_of(programme)
    if draft is None:
        abort(404)
    run = versions.publish(draft, current_user, body.get("revision"))
    return jsonify(
        {
            "programme": programme.code,
            "number": draft.number,
            "status": draft.status,
            "published_at": iso(draft.published_at),
            "rescreen_run_id": run.id if run else None,
        }
    )


_REASON = {
    "type": "object",
    "required": ["criterion", "passed", "detail"],
    "properties": {
        "criterion": {"type": "string"},
        "passed": {"type": ["boolean", "null"]},
        "detail": {"type": "string", "description": "A sentence a person reads, in the caller's language"},
    },
}
_ESTIMATE = {
    "type": "object",
    "description": "What the programme would cost the person a month (programmes with a rate table)",
    "required": [
        "currency",
        "period",
        "contribution",
        "state_support",
        "client_pays",
        "explanation",
        "source",
    ],
    "properties": {
        "currency": {"type": "string", "description": "ISO 4217 (IDR, VND)"},
        "period": {"enum": ["month"]},
        "contribution": {"type": "integer", "description": "In whole currency units"},
        "state_support": {"type": "integer"},
        "client_pays": {"type": "integer"},
        "explanation": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Sentences a person can follow, in the caller's language",
        },
        "source": {"type": "string", "description": "The regulation the rates come from"},
        "rate_version": {
            "type": ["integer", "null"],
            "description": "The number of the programme's rate version the figures come from",
        },
        "effective_from": {
            "type": ["string", "null"],
            "format": "date",
            "description": "The day that rate version took effect",
        },
    },
}
_SCREENING = {
    "type": "object",
    "required": ["id", "client_id", "screened_at", "results"],
    "properties": {
        "id": {"type": "integer"},
        "client_id": {"type": "integer"},
        "screened_at": {"type": "string", "format": "date-time"},
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["programme", "rule_version", "outcome", "reasons"],
                "properties": {
                    "programme": {
                        "type": "object",
                        "properties": {"code": {"type": "string"}, "name": {"type": "string"}},
                    },
                    "rule_version": {"type": "integer"},
                    "outcome": {"enum": ["eligible", "not_eligible", "needs_information"]},
                    "reasons": {"type": "array", "items": _REASON},
                    "ask": {"type": "array", "items": {"type": "string"}},
                    "hints": {"type": "array", "items": {"type": "string"}},
                    "estimate": ref("Estimate"),
                },
            },
        },
    },
}
_PROGRAMME = {
    "type": "object",
    "required": ["code", "name", "agency", "country", "kind", "active", "rule_version", "criteria"],
    "properties": {
        "code": {"type": "string"},
        "name": {"type": "string"},
        "agency": {
            "type": "object",
            "description": "The agency, and how the public reaches it",
            "properties": {
                "code": {"type": "string"},
                "name": {"type": "string"},
                "address": {"type": ["string", "null"]},
                "phone": {"type": ["string", "null"]},
                "email": {"type": ["string", "null"]},
                "opening_hours": {"type": ["string", "null"]},
            },
        },
        "country": {"type": "string"},
        "kind": {"type": "string"},
        "functions": {
            "type": "array",
            "items": {"type": "string", "enum": list(FUNCTIONS)},
            "description": "The ILO social protection functions the programme covers",
        },
        "contributory": {"type": "boolean"},
        "active": {"type": "boolean"},
        "rule_version": {"type": ["integer", "null"]},
        "criteria": {"type": ["object", "null"], "description": "The rule tree: all / any / not / leaf"},
    },
}
_ID = [{"name": "client_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
_CODE = [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}]
_RULE_DRAFT = {
    "type": "object",
    "required": ["programme", "number", "revision", "status", "criteria"],
    "properties": {
        "programme": {"type": "string"},
        "number": {"type": "integer", "description": "The version number the draft will have in force"},
        "revision": {"type": "integer", "description": "Counts the saves of the draft; publishing names it"},
        "status": {"const": "draft"},
        "criteria": {"type": "object"},
        "note": {"type": ["string", "null"]},
        "source": {"type": ["string", "null"]},
        "saved_at": {"type": "string", "format": "date-time"},
    },
}

add_paths(
    {
        "/programmes": {
            "get": {
                "summary": "Programmes with their rules in force",
                "parameters": [
                    {"name": "country", "in": "query", "schema": {"type": "string", "enum": list(COUNTRIES)}}
                ],
                "responses": {
                    "200": json_response(
                        "Programmes",
                        {
                            "type": "object",
                            "properties": {"items": {"type": "array", "items": ref("Programme")}},
                        },
                    ),
                    **problem_responses(401, 422),
                },
            }
        },
        "/clients/{client_id}/screenings": {
            "post": {
                "summary": "Screen a client against every active programme of their country",
                "parameters": _ID,
                "responses": {
                    "201": json_response("The screening", ref("Screening")),
                    **problem_responses(401, 403, 404),
                },
            }
        },
        "/programmes/{code}/draft": {
            "get": {
                "summary": "The programme's rule draft (admins; supervisors for their countries)",
                "parameters": _CODE,
                "responses": {
                    "200": json_response("The draft", ref("RuleDraft")),
                    **problem_responses(401, 403, 404),
                },
            },
            "put": {
                "summary": "Save the rule draft; each save counts its revision up. A tree nested more than "
                "12 levels or with more than 300 criteria is refused (422)",
                "parameters": _CODE,
                "requestBody": json_request(
                    {
                        "type": "object",
                        "required": ["criteria"],
                        "properties": {
                            "criteria": {
                                "type": "object",
                                "description": "The rule tree: all / any / not / leaf",
                            },
                            "note": {"type": ["string", "null"], "maxLength": 5000},
                            "source": {"type": ["string", "null"], "maxLength": 5000},
                        },
                    }
                ),
                "responses": {
                    "200": json_response("The saved draft", ref("RuleDraft")),
                    **problem_responses(400, 401, 403, 404, 409, 422),
                },
            },
        },
        "/programmes/{code}/draft/publish": {
            "post": {
                "summary": "Put the draft in force (admins), naming the revision reviewed; 409 if it changed",
                "parameters": _CODE,
                "requestBody": json_request(
                    {
                        "type": "object",
                        "required": ["revision"],
                        "properties": {"revision": {"type": "integer"}},
                    }
                ),
                "responses": {
                    "200": json_response(
                        "Published; re-screening runs in the background",
                        {
                            "type": "object",
                            "properties": {
                                "programme": {"type": "string"},
                                "number": {"type": "integer"},
                                "status": {"const": "published"},
                                "published_at": {"type": "string", "format": "date-time"},
                                "rescreen_run_id": {"type": ["integer", "null"]},
                            },
                        },
                    ),
                    **problem_responses(400, 401, 403, 404, 409, 422),
                },
            }
        },
        "/screenings/{screening_id}": {
            "get": {
                "summary": "One screening",
                "parameters": [
                    {"name": "screening_id", "in": "path", "required": True, "schema": {"type": "integer"}}
                ],
                "responses": {
                    "200": json_response("The screening", ref("Screening")),
                    **problem_responses(401, 403, 404),
                },
            }
        },
    },
    {"Screening": _SCREENING, "Programme": _PROGRAMME, "RuleDraft": _RULE_DRAFT, "Estimate": _ESTIMATE},
)

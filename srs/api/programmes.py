"""GET /api/v1/programmes, POST /api/v1/clients/<id>/screenings, GET /api/v1/screenings/<id>."""

from __future__ import annotations

from datetime import date

from flask import jsonify, request, url_for
from flask_babel import get_locale
from flask_login import current_user

from srs.api import bp
from srs.api.openapi import add_paths, json_response, problem_responses, ref
from srs.core import audit, clock
from srs.core.access import login_required, roles_required
from srs.extensions import db
from srs.programmes import services
from srs.programmes.models import Programme, Screening
from srs.programmes.screening import screen, screening_as_dict
from srs.regions.scope import get_in_scope_or_404, region_id_condition
from srs.registry.models import Client


def _locale() -> str:
    return str(get_locale() or "en").split("_")[0]


def programme_as_dict(programme: Programme, today: date) -> dict:
    version = programme.current_version
    return {
        "code": programme.code,
        "name": programme.name_in(_locale()),
        "names": dict(programme.names),
        "agency": {"code": programme.agency.code, "name": programme.agency.name},
        "country": programme.country,
        "kind": programme.kind,
        "active": services.is_active(programme, today),
        "rule_version": version.number if version else None,
        "criteria": version.criteria if version else None,
    }


@bp.route("/programmes")
@login_required
def list_programmes():  # type: ignore[no-untyped-def]
    today = clock.today()
    items = [
        programme_as_dict(p, today) for p in services.list_programmes(request.args.get("country") or None)
    ]
    return jsonify({"items": items, "page": 1, "per_page": len(items), "total": len(items)})


@bp.route("/clients/<int:client_id>/screenings", methods=["POST"])
@roles_required("officer", "admin")
def create_screening(client_id: int):  # type: ignore[no-untyped-def]
    client = get_in_scope_or_404(Client, client_id, region_id_condition(Client.region_id))
    screening = screen(client, current_user, trigger="api")
    response = jsonify(screening_as_dict(screening, _locale()))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_screening", screening_id=screening.id)
    return response


@bp.route("/screenings/<int:screening_id>")
@roles_required("officer", "supervisor", "admin")
def get_screening(screening_id: int):  # type: ignore[no-untyped-def]
    screening = db.get_or_404(Screening, screening_id)
    get_in_scope_or_404(Client, screening.client_id, region_id_condition(Client.region_id))
    audit.record("screening.read", "client", screening.client_id, screening=screening.id)
    return jsonify(screening_as_dict(screening, _locale()))


_REASON = {
    "type": "object",
    "required": ["criterion", "passed", "detail"],
    "properties": {
        "criterion": {"type": "string"},
        "passed": {"type": ["boolean", "null"]},
        "detail": {"type": "string", "description": "A sentence a person reads, in the caller's language"},
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
        "agency": {"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": "string"}}},
        "country": {"type": "string"},
        "kind": {"type": "string"},
        "active": {"type": "boolean"},
        "rule_version": {"type": ["integer", "null"]},
        "criteria": {"type": ["object", "null"], "description": "The rule tree: all / any / not / leaf"},
    },
}
_ID = [{"name": "client_id", "in": "path", "required": True, "schema": {"type": "integer"}}]

add_paths(
    {
        "/programmes": {
            "get": {
                "summary": "Programmes with their rules in force",
                "parameters": [{"name": "country", "in": "query", "schema": {"type": "string"}}],
                "responses": {
                    "200": json_response(
                        "Programmes",
                        {
                            "type": "object",
                            "properties": {"items": {"type": "array", "items": ref("Programme")}},
                        },
                    ),
                    **problem_responses(401),
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
    {"Screening": _SCREENING, "Programme": _PROGRAMME},
)

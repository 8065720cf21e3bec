"""The OpenAPI 3.1 description at /api/v1/openapi.json; each feature adds its paths and schemas."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from srs.api import bp
from srs.core.access import public

_PATHS: dict[str, dict[str, Any]] = {}
_SCHEMAS: dict[str, dict[str, Any]] = {}


def add_paths(paths: dict[str, dict[str, Any]], schemas: dict[str, dict[str, Any]] | None = None) -> None:
    """Describe more endpoints (called by each feature's API module at import)."""
    for path, operations in paths.items():
        _PATHS.setdefault(path, {}).update(operations)
    _SCHEMAS.update(schemas or {})


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def problem_responses(*codes: int) -> dict[str, Any]:
    descriptions = {
        400: "Malformed JSON",
        401: "No token, or an unknown, expired or revoked one",
        403: "The caller's role may not do this",
        404: "Unknown, or outside the caller's scope",
        409: "Conflict: duplicate, stale version or illegal status change",
        422: "Validation failed; errors per field",
        429: "Too many attempts",
    }
    return {
        str(code): {
            "description": descriptions[code],
            "content": {"application/problem+json": {"schema": ref("Problem")}},
        }
        for code in codes
    }


def json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def json_request(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def page_of(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "page", "per_page", "total"],
        "properties": {
            "items": {"type": "array", "items": item},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "total": {"type": "integer"},
        },
    }


PAGE_PARAMETERS = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
]


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "SRS — Single Referral System API",
            "version": "1",
            "description": "Clients, screenings and referrals of the single window. Errors are "
            "application/problem+json; lists are paginated; updates carry the version they read.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": dict(sorted(_PATHS.items())),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": dict(sorted(_SCHEMAS.items())),
        },
    }


@bp.route("/openapi.json")
@public
def openapi_json():  # type: ignore[no-untyped-def]
    return jsonify(document())


add_paths(
    {
        "/auth/token": {
            "post": {
                "summary": "Exchange a username and password for a bearer token",
                "security": [],
                "requestBody": json_request(
                    {
                        "type": "object",
                        "required": ["username", "password"],
                        "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
                    }
                ),
                "responses": {
                    "201": json_response("A new token", ref("Token")),
                    **problem_responses(400, 401, 422, 429),
                },
            },
            "delete": {
                "summary": "Revoke the token in use",
                "responses": {"204": {"description": "Revoked"}, **problem_responses(401)},
            },
        },
        "/me": {
            "get": {
                "summary": "The caller",
                "responses": {"200": json_response("The caller", ref("User")), **problem_responses(401)},
            }
        },
        "/regions": {
            "get": {
                "summary": "Regions below a parent (without one, the top level)",
                "parameters": [
                    {"name": "parent", "in": "query", "schema": {"type": "string"}},
                    {"name": "country", "in": "query", "schema": {"type": "string", "enum": ["ID", "VN"]}},
                ],
                "responses": {
                    "200": json_response("Regions", page_of(ref("Region"))),
                    **problem_responses(401, 404),
                },
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "security": [],
                "responses": {"200": {"description": "OpenAPI"}},
            }
        },
    },
    {
        "Problem": {
            "type": "object",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "errors": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
        "User": {
            "type": "object",
            "required": ["id", "username", "role", "regions", "agency"],
            "properties": {
                "id": {"type": "integer"},
                "username": {"type": "string"},
                "full_name": {"type": "string"},
                "role": {"type": "string", "enum": ["officer", "agency_staff", "supervisor", "admin"]},
                "regions": {"type": "array", "items": {"type": "string"}},
                "agency": {"type": ["string", "null"]},
            },
        },
        "Token": {
            "type": "object",
            "required": ["token", "expires_at", "user"],
            "properties": {
                "token": {"type": "string"},
                "expires_at": {"type": "string", "format": "date-time"},
                "user": ref("User"),
            },
        },
        "Region": {
            "type": "object",
            "required": ["code", "name", "level", "parent_code", "country"],
            "properties": {
                "code": {"type": "string"},
                "name": {"type": "string"},
                "level": {"type": "string"},
                "parent_code": {"type": ["string", "null"]},
                "country": {"type": "string"},
            },
        },
    },
)

"""The OpenAPI 3.1 description at /api/v1/openapi.json; each feature adds its paths and schemas."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from srs.accounts.models import ROLES
from srs.api import bp
from srs.core.access import public
from srs.core.idempotency import KEY_PATTERN as IDEMPOTENCY_KEY_PATTERN
from srs.core.pagination import MAX_PAGE
from srs.regions.services import COUNTRIES

_PATHS: dict[str, dict[str, Any]] = {}
# A schema, or a function that makes it when the document is asked for (one read from a table that
# may change, like the client's fields).
_SCHEMAS: dict[str, dict[str, Any] | Callable[[], dict[str, Any]]] = {}
_WEBHOOKS: dict[str, dict[str, Any]] = {}


def add_paths(
    paths: dict[str, dict[str, Any]],
    schemas: Mapping[str, dict[str, Any] | Callable[[], dict[str, Any]]] | None = None,
) -> None:
    """Describe more endpoints (called by each feature's API module at import)."""
    for path, operations in paths.items():
        _PATHS.setdefault(path, {}).update(operations)
    _SCHEMAS.update(schemas or {})


def add_webhooks(webhooks: dict[str, dict[str, Any]]) -> None:
    """Describe what SRS sends to others' systems (OpenAPI 3.1 ``webhooks``)."""
    _WEBHOOKS.update(webhooks)


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


# An operation's rules that JSON Schema cannot state (one field against another, or against stored
# records): a request the schema admits may still be a 422 for one of them. Listed, each in words, under
# this key, so a client knows why and the conformance test (tests/api/test_openapi_conformance.py)
# accepts a 422 there, and only there, for a schema-valid request.
RULES_BEYOND_SCHEMA = "x-srs-rules-beyond-schema"


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


IDEMPOTENCY_KEY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "A key the caller makes for this one request (an offline device sends a UUID). "
    "A later request by the same user with the same key and the same body gets the first answer again "
    "(same status and body, header Idempotent-Replayed: true) and creates nothing; the same key with "
    "another body is 422 with errors['Idempotency-Key']. Kept at least 30 days.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": IDEMPOTENCY_KEY_PATTERN},
}
_REPLAYED_HEADER = {
    "Idempotent-Replayed": {
        "description": "Present on an answer replayed for a repeated Idempotency-Key",
        "schema": {"type": "string", "enum": ["true"]},
    }
}


def idempotent_operation(operation: dict[str, Any]) -> dict[str, Any]:
    """``operation`` documented as honouring ``Idempotency-Key`` (for endpoints with ``@idempotent``)."""
    responses = dict(operation.get("responses", {}))
    for code, response in list(responses.items()):
        # 2xx, 409 and 422 answers are kept and replayed; others are not (srs/core/idempotency.py).
        if code.startswith("2") or code in ("409", "422"):
            responses[code] = {**response, "headers": {**response.get("headers", {}), **_REPLAYED_HEADER}}
    if "409" in responses:
        responses["409"] = {
            **responses["409"],
            "description": responses["409"]["description"]
            + "; or a request with the same Idempotency-Key still in progress "
            "(send it again to get its answer)",
        }
    if "422" in responses:
        responses["422"] = {
            **responses["422"],
            "description": responses["422"]["description"]
            + "; an Idempotency-Key that is malformed or was used with another body "
            "(errors['Idempotency-Key'])",
        }
    return {
        **operation,
        "parameters": [*operation.get("parameters", []), IDEMPOTENCY_KEY_PARAMETER],
        "responses": responses,
    }


PAGE_PARAMETERS = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}},
    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
]


def _with_auth_refusals(paths: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every operation that needs a token may answer 401 (none, or a bad one) and 403 (a role it refuses).

    Said once here rather than in each feature's paths: a route added tomorrow refuses a partner's
    or an agency's token like the others, and its description says so without anyone remembering to.
    """
    described: dict[str, dict[str, Any]] = {}
    for path, operations in paths.items():
        described[path] = {}
        for method, operation in operations.items():
            if operation.get("security") == []:
                described[path][method] = operation
                continue
            answers = operation["responses"]
            refusals = {code: r for code, r in problem_responses(401, 403).items() if code not in answers}
            described[path][method] = {**operation, "responses": {**operation["responses"], **refusals}}
    return described


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
        "paths": _with_auth_refusals(dict(sorted(_PATHS.items()))),
        "webhooks": {name: dict(item) for name, item in sorted(_WEBHOOKS.items())},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                name: schema() if callable(schema) else schema for name, schema in sorted(_SCHEMAS.items())
            },
        },
    }


@bp.route("/openapi.json")
@public
def openapi_json() -> ResponseReturnValue:
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
                        "properties": {
                            "username": {"type": "string", "minLength": 1},
                            "password": {"type": "string", "minLength": 1},
                        },
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
                    {"name": "country", "in": "query", "schema": {"type": "string", "enum": list(COUNTRIES)}},
                ],
                "responses": {
                    "200": json_response("Regions", page_of(ref("Region"))),
                    **problem_responses(401, 404, 422),
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
                "role": {"type": "string", "enum": list(ROLES)},
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

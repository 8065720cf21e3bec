"""/api/v1/clients: register, search, read and update clients (thin views over the registry)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from srs.api import bp
from srs.api.helpers import json_body
from srs.api.openapi import (
    PAGE_PARAMETERS,
    RULES_BEYOND_SCHEMA,
    add_paths,
    idempotent_operation,
    json_request,
    json_response,
    page_of,
    problem_responses,
    ref,
)
from srs.core import audit
from srs.core.access import roles_required
from srs.core.audit import mask_id_number
from srs.core.errors import ValidationFailed, problem
from srs.core.idempotency import idempotent
from srs.core.iso import iso
from srs.core.pagination import MAX_PAGE, page_args
from srs.core.replica import reads_from_replica
from srs.core.transaction import attempt
from srs.extensions import db
from srs.privacy import requests as ledger
from srs.registry import consent, duplicates, fields, search, services
from srs.registry.duplicates import DuplicateId
from srs.registry.models import Client
from srs.registry.services import StaleVersion


def _needs_review(client: Client, flagged: set[int] | None) -> bool:
    """The "possible duplicate" flag as the caller may see it (never about a record outside their area)."""
    if flagged is None:
        flagged = duplicates.review_flags([client], current_user)
    return client.id in flagged


def client_summary(client: Client, flagged: set[int] | None = None) -> dict[str, Any]:
    """A list entry: the ID number masked but its last four digits.

    ``flagged``: ``duplicates.review_flags`` of the page, computed once for a list.
    """
    return {
        "id": client.id,
        "full_name": client.full_name or None,  # "" once erased (srs.privacy)
        "sex": client.sex,
        "date_of_birth": None if client.anonymised_at else iso(client.date_of_birth),
        "id_type": client.id_type,
        "id_number": mask_id_number(client.id_number),
        "phone": client.phone,
        "region_code": client.region.code,
        "needs_review": _needs_review(client, flagged),
        "needs_id_followup": client.needs_id_followup,
        "version": client.version,
    }


def _related_rows(table_name: str, client_id: int) -> list[dict[str, Any]]:
    """Rows of another feature's table that point at the client (empty when the feature is absent)."""
    table = db.metadata.tables.get(table_name)
    if table is None or "client_id" not in table.c:
        return []
    order = table.c.id if "id" in table.c else table.c.client_id
    rows = db.session.execute(select(table).where(table.c.client_id == client_id).order_by(order))
    return [
        {key: iso(v) if hasattr(v, "isoformat") else v for key, v in row._mapping.items()} for row in rows
    ]


def anonymised_detail(client: Client) -> dict[str, Any]:
    """An erased record as the API reads it: the statistics kept, every identifier null (srs.privacy)."""
    return {
        "id": client.id,
        "anonymised": True,
        "anonymised_at": iso(client.anonymised_at),
        "birth_year": client.date_of_birth.year,
        "sex": client.sex,
        "region_code": client.region.code,
        "full_name": None,
        "id_type": None,
        "id_number": None,
        "phone": None,
        "address": None,
        "date_of_birth": None,
        "version": client.version,
        "created_at": iso(client.created_at),
        "household": None,
        "screenings": _related_rows("screenings", client.id),
        "referrals": _related_rows("referrals", client.id),
    }


def client_detail(
    client: Client, *, registered_now: bool = False, consent_state: consent.ConsentState | None = None
) -> dict[str, Any]:
    """The full record (full ID number: reading it is audited by the caller).

    ``registered_now``: the client was registered by this request (``register_client`` creates no
    screening and no referral), so those lists are empty without a query each. ``consent_state``:
    the consent as the caller already knows it (the registration's own record), else it is read."""
    if client.anonymised_at is not None:
        return anonymised_detail(client)
    household = None
    if client.household is not None:
        household = {
            "id": client.household.id,
            "address": client.household.address,
            "members": [
                {
                    "id": m.id,
                    "full_name": m.full_name,
                    "relationship_to_head": m.relationship_to_head,
                    "sex": m.sex,
                    "date_of_birth": iso(m.date_of_birth),
                    "disability": m.disability,
                    "in_education": m.in_education,
                    "pregnant": m.pregnant,
                    "client_id": m.client_id,
                }
                for m in client.household.members
            ],
        }
    if consent_state is None:
        consent_state = consent.state(client)  # read once for both shapes below
    stored = services.client_input(client, consent_state)
    # The consent as its records say (API.md: given, date, scope, withdrawn_at), not the edit's base.
    stored["consent"] = {**consent.view(client, consent_state), "recorded_by": client.consent_recorded_by_id}
    return {
        "id": client.id,
        "version": client.version,
        **stored,
        "needs_id_followup": client.needs_id_followup,
        "needs_review": _needs_review(client, None),
        "anonymised": False,
        "restricted": client.restricted_at is not None,
        "created_at": iso(client.created_at),
        "updated_at": iso(client.updated_at),
        "household": household,
        "screenings": [] if registered_now else _related_rows("screenings", client.id),
        "referrals": [] if registered_now else _related_rows("referrals", client.id),
    }


def _duplicate_conflict(exc: DuplicateId) -> Any:
    extra = {"existing_client_id": exc.existing_id} if exc.existing_id else {}
    return problem(409, str(exc.title), exc.detail, exc.errors, **extra)


@bp.route("/clients", methods=["POST"])
@roles_required("officer", "admin")
@idempotent
def create_client() -> ResponseReturnValue:
    body = json_body()
    try:
        with attempt():
            registered = services.register_client(body, current_user, source="api")
    except DuplicateId as exc:
        return _duplicate_conflict(exc)
    client = registered.client
    payload = client_detail(client, registered_now=True, consent_state=registered.consent_state)
    # Only the matches the caller may see; the pair goes to the queue of whoever covers both.
    shown = duplicates.visible_duplicates(registered.possible_duplicates, current_user)
    flagged = duplicates.review_flags([d.client for d in shown], current_user)
    payload["possible_duplicates"] = [
        {**client_summary(d.client, flagged), "reason": d.reason} for d in shown
    ]
    response = jsonify(payload)
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_client", client_id=client.id)
    return response


def _search(source: Mapping[str, Any]) -> ResponseReturnValue:
    """One search for both forms of the request: the query string or a JSON body."""
    errors: dict[str, list[str]] = {}
    for name in ("q", "region"):
        if source.get(name) is not None and not isinstance(source.get(name), str):
            errors[name] = [_("Must be text.")]
    if errors:
        raise ValidationFailed(_("The search is not valid."), errors)
    page, per_page = page_args(strict=True, source=source)
    result = search.search_clients(
        source.get("q"),
        current_user,
        region_code=source.get("region") or None,
        page=page,
        per_page=per_page,
    )
    q = (source.get("q") or "").strip()  # from the query string or the posted body, as searched
    audit.record_list(
        "client.search" if q else "client.list",
        "client",
        [c.id for c in result.items],
        query={"q": q, "region": source.get("region")},
        page=result.page,
        total=result.total,
        channel="api",
    )
    flagged = duplicates.review_flags(result.items, current_user)
    return jsonify(result.as_dict(lambda c: client_summary(c, flagged)))


@bp.route("/clients")
@roles_required("officer", "supervisor", "admin")
@reads_from_replica
def list_clients() -> ResponseReturnValue:
    return _search(request.args)


@bp.route("/clients/search", methods=["POST"])
@roles_required("officer", "supervisor", "admin")
@reads_from_replica
def search_clients() -> ResponseReturnValue:
    """The same search with the query in the body: an ID number never sits in a URL or access log."""
    return _search(json_body())


@bp.route("/clients/<int:client_id>")
@roles_required("officer", "supervisor", "admin")
def get_client(client_id: int) -> ResponseReturnValue:
    client = services.load_client(client_id, current_user)
    services.read_profile(client, current_user)
    response = jsonify(client_detail(client))
    response.headers["ETag"] = f'"{client.version}"'
    return response


@bp.route("/clients/<int:client_id>", methods=["PATCH"])
@roles_required("officer", "admin")
def patch_client(client_id: int) -> ResponseReturnValue:
    client = services.load_client(client_id, current_user)
    body = json_body()
    version = body.get("version", request.headers.get("If-Match"))
    # A correction the person asked for: the same edit, linked to their request, agencies told.
    correction = None
    if body.get("request_id") is not None:
        correction = ledger.correction_request(body.pop("request_id"), client, current_user)
    try:
        with attempt():
            if correction is not None:
                ledger.correct(correction, body, current_user, version)
            else:
                services.update_client(client, body, current_user, version, channel="api")
    except StaleVersion as exc:
        changed = [{"field": c["field"], "by": c["by"], "value": c["value"]} for c in exc.changes]
        return problem(409, str(exc.title), exc.detail, current_version=exc.current_version, changed=changed)
    except DuplicateId as exc:
        return _duplicate_conflict(exc)
    response = jsonify(client_detail(client))
    response.headers["ETag"] = f'"{client.version}"'
    return response


@bp.route("/clients/<int:client_id>/consents")
@roles_required("officer", "supervisor", "admin")
def list_consents(client_id: int) -> ResponseReturnValue:
    """The client's consent records, newest first (the reading audited)."""
    client = services.load_client(client_id, current_user)
    records = consent.read_history(client, current_user, channel="api")
    return jsonify({"consent": consent.view(client), "items": [consent.record_dict(r) for r in records]})


@bp.route("/clients/<int:client_id>/consents", methods=["POST"])
@roles_required("officer", "admin")
def record_consent(client_id: int) -> ResponseReturnValue:
    """Record a consent (it becomes the one in force); withdrawing is PATCH consent.given=false."""
    client = services.load_client(client_id, current_user)
    data = consent.input_from(json_body())
    record = consent.record_consent(client, data, current_user, source="api")
    response = jsonify(consent.record_dict(record))
    response.status_code = 201
    return response


_NULLABLE_STRING = {"type": ["string", "null"]}
_HOUSEHOLD_INPUT: dict[str, Any] = {
    "type": "object",
    "description": "Join a household (household_id + relationship_to_head) or start one "
    "(new: true and/or members; this client becomes the head).",
    "properties": {
        "new": {"type": "boolean"},
        "household_id": {"type": "integer"},
        "relationship_to_head": {"type": "string"},
        "members": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["full_name", "relationship_to_head"],
                "properties": {
                    "full_name": {"type": "string"},
                    "relationship_to_head": {"type": "string"},
                    "sex": {"type": "string", "enum": ["female", "male"]},
                    "date_of_birth": {"type": "string", "format": "date"},
                    "disability": {"type": "boolean"},
                    "in_education": {"type": "boolean"},
                    "pregnant": {"type": "boolean"},
                },
            },
        },
    },
}


def _client_input() -> dict[str, Any]:
    """A registration: the table's fields (srs/registry/fields.py) and an optional household."""
    schema = fields.input_schema()
    return {**schema, "properties": {**schema["properties"], "household": _HOUSEHOLD_INPUT}}


def _client_patch() -> dict[str, Any]:
    """An edit: any of the table's fields, and the version read."""
    return {
        "type": "object",
        "required": ["version"],
        "properties": {
            "version": {"type": "integer"},
            "request_id": {
                "type": "integer",
                "description": "The open correction request this change serves (linked; each agency "
                "that received a changed field gets client.corrected)",
            },
            **fields.input_schema()["properties"],
        },
    }


def _client_output() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            **_client_input()["properties"],
            "id": {"type": "integer"},
            "version": {"type": "integer"},
            "needs_review": {"type": "boolean"},
            "needs_id_followup": {"type": "boolean"},
            "household": {"type": ["object", "null"]},
            "screenings": {"type": "array", "items": {"type": "object"}},
            "referrals": {"type": "array", "items": {"type": "object"}},
        },
    }


_CLIENT_RULES = [
    "id_number matches id_type's structure, and a NIK or CCCD agrees with date_of_birth and sex "
    "(GET /fields/clients: id_rules)",
    "phone is a valid number in the country of region_code",
    "fields with depends_on or only_for_sex are sent only where they apply (GET /fields/clients)",
    "household.household_id names a household in the caller's area; relationship_to_head fits it",
    "region_code names a region in the caller's scope",
]

_CLIENT_ID = [{"name": "client_id", "in": "path", "required": True, "schema": {"type": "integer"}}]

add_paths(
    {
        "/clients": {
            "post": idempotent_operation(
                {
                    "summary": "Register a client (probable duplicates are listed, not refused)",
                    "requestBody": json_request(ref("ClientInput")),
                    RULES_BEYOND_SCHEMA: _CLIENT_RULES,
                    "responses": {
                        "201": {
                            "description": "Registered; Location names the new client",
                            "headers": {"Location": {"schema": {"type": "string"}}},
                            "content": {"application/json": {"schema": ref("ClientCreated")}},
                        },
                        **problem_responses(400, 401, 403, 409, 422),
                    },
                }
            ),
            "get": {
                "summary": "Search clients by ID number, phone or name (typo-tolerant), within scope; "
                "searching by ID number, prefer POST /clients/search (the query stays out of URLs)",
                "parameters": [
                    {"name": "q", "in": "query", "schema": {"type": "string"}},
                    {"name": "region", "in": "query", "schema": {"type": "string"}},
                    *PAGE_PARAMETERS,
                ],
                "responses": {
                    "200": json_response("Clients, ID numbers masked", page_of(ref("ClientSummary"))),
                    **problem_responses(401, 403, 404, 422),
                },
            },
        },
        "/clients/search": {
            "post": {
                "summary": "The same search with the query in the body, so that an ID number or a "
                "phone never appears in a URL, a proxy's log or the browser's history",
                "requestBody": json_request(
                    {
                        "type": "object",
                        "properties": {
                            "q": {"type": ["string", "null"], "description": "ID number, phone or name"},
                            "region": {"type": ["string", "null"], "description": "A region code in scope"},
                            # null (or leaving it out) is the first page / the default page size.
                            "page": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_PAGE},
                            "per_page": {"type": ["integer", "null"], "minimum": 1, "maximum": 200},
                        },
                    }
                ),
                "responses": {
                    "200": json_response("Clients, ID numbers masked", page_of(ref("ClientSummary"))),
                    **problem_responses(400, 401, 403, 404, 422),
                },
            }
        },
        "/clients/{client_id}/consents": {
            "get": {
                "summary": "The client's consent in force and its records, newest first (audited)",
                "parameters": _CLIENT_ID,
                "responses": {
                    "200": json_response(
                        "Consent records",
                        {
                            "type": "object",
                            "properties": {
                                "consent": {"type": "object"},
                                "items": {"type": "array", "items": ref("ConsentRecord")},
                            },
                        },
                    ),
                    **problem_responses(401, 403, 404),
                },
            },
            "post": {
                "summary": "Record a consent (officer, admin): date, scope, purposes, agencies",
                "parameters": _CLIENT_ID,
                "requestBody": json_request(
                    {
                        "type": "object",
                        "required": ["date", "scope"],
                        "properties": {
                            "date": {"type": "string", "format": "date"},
                            "scope": {"type": "string", "maxLength": 300},
                            "purposes": {"type": "array", "items": {"type": "string"}},
                            "agencies": {"description": "all, or a list of agency codes"},
                        },
                    }
                ),
                "responses": {
                    "201": json_response("The new record", ref("ConsentRecord")),
                    **problem_responses(400, 401, 403, 404, 422),
                },
            },
        },
        "/clients/{client_id}": {
            "get": {
                "summary": "One client with version, household, screenings and referrals (audited)",
                "parameters": _CLIENT_ID,
                "responses": {
                    "200": json_response("The client", ref("Client")),
                    **problem_responses(401, 403, 404),
                },
            },
            "patch": {
                "summary": "Change some fields; send the version read (body `version` or If-Match)",
                "parameters": _CLIENT_ID,
                "requestBody": json_request(ref("ClientPatch")),
                RULES_BEYOND_SCHEMA: _CLIENT_RULES,
                "responses": {
                    "200": json_response("The updated client", ref("Client")),
                    **problem_responses(400, 401, 403, 404, 409, 422),
                },
            },
        },
    },
    {
        "ConsentRecord": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "client_id": {"type": "integer"},
                "recorded_at": {"type": "string", "format": "date-time"},
                "recorded_by": {"type": ["integer", "null"]},
                "date": {"type": ["string", "null"], "format": "date"},
                "scope": _NULLABLE_STRING,
                "purposes": {"type": "array", "items": {"type": "string"}},
                "agencies": {"description": "all, or the agency codes"},
                "source": {"type": "string"},
                "evidence": {"type": ["object", "null"]},
                "withdrawn_at": {"type": ["string", "null"], "format": "date-time"},
                "withdrawn_by": {"type": ["integer", "null"]},
                "withdrawal_reason": _NULLABLE_STRING,
            },
        },
        "ClientSummary": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "full_name": {"type": "string"},
                "sex": {"type": "string"},
                "date_of_birth": {"type": "string", "format": "date"},
                "id_type": {"type": "string"},
                "id_number": {"type": ["string", "null"], "description": "Masked but the last 4 digits"},
                "phone": _NULLABLE_STRING,
                "region_code": {"type": "string"},
                "needs_review": {"type": "boolean"},
                "needs_id_followup": {"type": "boolean"},
                "version": {"type": "integer"},
            },
        },
        "Client": _client_output,
        "ClientInput": _client_input,
        "ClientPatch": _client_patch,
        "ClientCreated": {
            "allOf": [
                ref("Client"),
                {
                    "type": "object",
                    "properties": {"possible_duplicates": {"type": "array", "items": ref("ClientSummary")}},
                },
            ]
        },
    },
)

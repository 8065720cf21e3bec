"""GET /api/v1/fields/clients: the client's fields as data, for forms that check input themselves.

The offline form validates from this before it stores or sends anything: labels come in the
request's language, with each field's type, choices, limits, the other fields its checks read and,
for ID numbers, the structure of each ID type's number. Read-only, and not personal: any signed-in
role may read it (``editable`` says what the caller's role may change).
"""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_login import current_user

from srs.api import bp
from srs.api.openapi import add_paths, json_response, problem_responses, ref
from srs.core.access import login_required
from srs.registry import fields


@bp.route("/fields/clients")
@login_required
def client_fields() -> ResponseReturnValue:
    role = getattr(current_user, "role", None)
    return jsonify(
        {
            "locale": str(get_locale()),
            "items": [fields.describe(f, role) for f in fields.client_fields()],
        }
    )


_ID_PART = {
    "type": "object",
    "required": ["name", "digits"],
    "properties": {
        "name": {"type": "string"},
        "digits": {
            "type": "array",
            "items": {"type": "integer"},
            "description": "First and last digit of the part, counted from 1",
        },
        "allowed": {"type": "array", "items": {"type": "integer"}},
        "not": {"type": "array", "items": {"type": "string"}},
        "range": {"type": "array", "items": {"type": "integer"}},
        "ranges": {"type": "object"},
        "female_offset": {"type": "integer"},
        "century_base": {"type": "integer"},
        "encodes": {"type": "string"},
        "matches": {"type": "string", "description": "What the part must agree with"},
    },
}

add_paths(
    {
        "/fields/clients": {
            "get": {
                "summary": "The client's fields: labels in the request's language, types, choices, "
                "limits and ID-number structure rules (what a form needs to check input offline)",
                "responses": {
                    "200": json_response(
                        "The fields, in the order files and the API list them",
                        {
                            "type": "object",
                            "required": ["locale", "items"],
                            "properties": {
                                "locale": {"type": "string"},
                                "items": {"type": "array", "items": ref("ClientField")},
                            },
                        },
                    ),
                    **problem_responses(401),
                },
            }
        }
    },
    {
        "ClientField": {
            "type": "object",
            "required": ["name", "label", "type", "required", "editable", "choices"],
            "properties": {
                "name": {"type": "string"},
                "label": {"type": "string"},
                "type": {
                    "type": "string",
                    "enum": [
                        "text",
                        "name",
                        "choice",
                        "boolean",
                        "integer",
                        "date",
                        "birth_date",
                        "id_type",
                        "id_number",
                        "phone",
                        "region",
                        "codes",
                        "consent",
                    ],
                },
                "required": {"type": "boolean"},
                "editable": {"type": "boolean", "description": "The caller's role may change it"},
                "choices": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"value": {"type": "string"}, "label": {"type": "string"}},
                    },
                },
                "default": {},
                "max_length": {"type": ["integer", "null"]},
                "min": {"type": ["integer", "null"]},
                "max": {"type": ["integer", "null"], "description": "For codes: most items"},
                "pattern": {"type": ["string", "null"]},
                "depends_on": {"type": "array", "items": {"type": "string"}},
                "only_for_sex": {"type": ["string", "null"]},
                "description": {"type": ["string", "null"]},
                "personal": {"type": "boolean"},
                "shareable": {"type": "boolean"},
                "import_columns": {"type": "array", "items": {"type": "string"}},
                "report_dimension": {"type": "boolean"},
                "max_age": {"type": "integer"},
                "id_rules": {
                    "type": "object",
                    "description": "Per ID type (nik, vn_pid): the number's structure",
                    "additionalProperties": {
                        "type": "object",
                        "properties": {
                            "label": {"type": "string"},
                            "country": {"type": "string"},
                            "length": {"type": "integer"},
                            "pattern": {"type": "string"},
                            "separators": {"type": "string"},
                            "parts": {"type": "array", "items": _ID_PART},
                            "sex": {"type": "object"},
                        },
                    },
                },
            },
        }
    },
)

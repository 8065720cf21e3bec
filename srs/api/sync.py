"""POST /api/v1/sync: a device's batch of keyed operations, each answered on its own.

The same runner as the offline app's ``/offline/sync`` (srs/offline/sync.py), for devices that sign
in with a bearer token.
"""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_login import current_user

from srs.api import bp
from srs.api.helpers import json_body
from srs.api.openapi import add_paths, json_request, json_response, problem_responses, ref
from srs.core.access import roles_required
from srs.extensions import db
from srs.offline.services import MAX_BATCH, OPERATIONS
from srs.offline.sync import run_batch


@bp.route("/sync", methods=["POST"])
@roles_required("officer", "admin")
def sync() -> ResponseReturnValue:
    results = run_batch(json_body(), current_user)
    db.session.commit()  # each item committed itself; nothing is left open
    response = jsonify({"results": results})
    response.headers["Cache-Control"] = "no-store"
    return response


_OUTCOMES = ["created", "probable_duplicate", "refused", "id_taken", "in_progress", "conflict", "error"]

add_paths(
    {
        "/sync": {
            "post": {
                "summary": "Send what a device recorded offline: a batch of keyed operations, each run "
                "once and answered on its own",
                "description": (
                    "Each operation carries `key`, a UUID the device made when the person was recorded; "
                    "it is the operation's Idempotency-Key (see `POST /clients`). Operations run in order, "
                    "each claimed and committed on its own: a batch cut halfway keeps what was done, and "
                    "sending the batch again answers those from their keys (`replayed: true`) and runs the "
                    "rest. A key used before with another body is refused on that item (422, "
                    "`errors.key`). Outcomes: `created` (with `link`), `probable_duplicate` (created, "
                    "flagged for the review queue), `refused` (field errors in `errors`; the device keeps "
                    "the record to fix and resend), `id_taken` (the ID number was registered meanwhile: "
                    "`existing_link` when the caller may see that record; a question for the officer, "
                    "nothing lost), `in_progress` (the same key is being run right now: send it again). "
                    "`created_at` is the server's time; the device's `recorded_at` is kept as "
                    "`recorded_on_device` (and in the audit log), whatever the device's clock said."
                ),
                "requestBody": json_request(ref("SyncBatch")),
                "responses": {
                    "200": json_response("One answer per operation, in order", ref("SyncAnswer")),
                    **problem_responses(400, 401, 403, 422),
                },
            }
        }
    },
    {
        "SyncBatch": {
            "type": "object",
            "required": ["operations"],
            "properties": {
                "operations": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": MAX_BATCH,
                    # Each item is answered on its own: one that is not an operation (not even an
                    # object) does not refuse the batch, it gets outcome "refused", status 422, in its
                    # place in the results. The first form is what a client sends.
                    "items": {
                        "anyOf": [
                            {
                                "type": "object",
                                "required": ["key", "op", "body"],
                                "properties": {
                                    "key": {"type": "string", "minLength": 1, "maxLength": 200},
                                    "op": {"type": "string", "enum": list(OPERATIONS)},
                                    "recorded_at": {"type": ["string", "null"], "format": "date-time"},
                                    "body": ref("ClientInput"),
                                },
                            },
                            {"description": "Anything else: answered refused (422) in its place"},
                        ]
                    },
                }
            },
        },
        "SyncAnswer": {
            "type": "object",
            "required": ["results"],
            "properties": {
                "results": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["key", "status", "outcome"],
                        "properties": {
                            "key": {"type": ["string", "null"]},
                            "status": {"type": "integer"},
                            "outcome": {"type": "string", "enum": _OUTCOMES},
                            "replayed": {"type": "boolean"},
                            "client_id": {"type": "integer"},
                            "link": {"type": "string"},
                            "possible_duplicates": {"type": "array", "items": {"type": "integer"}},
                            "created_at": {"type": "string", "format": "date-time"},
                            "recorded_on_device": {"type": ["string", "null"]},
                            "existing_client_id": {"type": ["integer", "null"]},
                            "existing_link": {"type": ["string", "null"]},
                            "detail": {"type": "string"},
                            "errors": {"type": "object"},
                        },
                    },
                }
            },
        },
    },
)

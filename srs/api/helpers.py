"""Reading JSON bodies and answering JSON, for every API view."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext as _

from srs.core.errors import ServiceError


class MalformedJSON(ServiceError):
    status = 400


def json_body() -> dict[str, Any]:
    """The request's JSON object; 400 problem+json when it is not one."""
    if not request.data:
        raise MalformedJSON(_("The request needs a JSON body."))
    try:
        body = request.get_json(force=True, silent=False)
    except Exception as exc:  # werkzeug raises BadRequest with varied causes
        raise MalformedJSON(_("The request body is not valid JSON.")) from exc
    if not isinstance(body, dict):
        raise MalformedJSON(_("The request body must be a JSON object."))
    return body

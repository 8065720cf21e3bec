"""Reading JSON bodies and answering JSON, for every API view."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import request
from flask_babel import gettext as _

from srs.core.errors import ServiceError, ValidationFailed


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


def query_choice(name: str, choices: Sequence[str]) -> str | None:
    """Query parameter ``name``, one of ``choices``, or None when it is not sent.

    A value outside the choices, or the parameter sent more than once, is a 422 naming it: a client
    that asks for ``country=XX`` learns its mistake instead of getting an empty list.
    """
    values = request.args.getlist(name)
    if not values:
        return None
    if len(values) > 1 or values[0] not in choices:
        raise ValidationFailed(
            _("The query parameters are not valid."),
            {name: [_("Must be one of: %(choices)s.", choices=", ".join(choices))]},
        )
    return values[0]

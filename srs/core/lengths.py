"""Text lengths come from the model's columns, checked before the database sees them.

PostgreSQL refuses a value longer than its ``String(n)`` column with an error (a 500, and a log line
quoting the value); SQLite stores it silently. So every text a person types is checked against its
column, with the same message everywhere:

* ``column_length(Model.attr)``: the ``n`` of the column;
* ``ColumnLength(Model.attr)``: the WTForms validator (and the field's ``maxlength`` attribute);
  ``MaxLength(n)`` the same for a Text column's agreed limit;
* ``check_length(value, Model.attr, field, errors)``: for services and API validators, which collect
  field errors in a dict;
* ``install_length_guard()``: a last line before every flush that refuses any over-long value on any
  model (422 with the attribute's name), for the field nobody thought of.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response
from flask_babel import gettext as _
from sqlalchemy import String, event, inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import InstrumentedAttribute
from wtforms import Field
from wtforms.validators import ValidationError

from srs.core.errors import ValidationFailed, error_response
from srs.extensions import db


def column_length(attribute: InstrumentedAttribute[Any]) -> int:
    """The declared length of a ``String(n)`` column attribute (``Client.full_name`` -> 200)."""
    column_type = attribute.property.columns[0].type
    length = getattr(column_type, "length", None)
    if not isinstance(column_type, String) or not length:
        raise TypeError(f"{attribute} is not a String(n) column")
    return int(length)


def too_long_message(limit: int, length: int) -> str:
    return _("At most %(n)d characters (this has %(len)d).", n=limit, len=length)


def check_length(
    value: Any, attribute: InstrumentedAttribute[Any], field: str, errors: dict[str, list[str]]
) -> bool:
    """True when ``value`` fits its column; else adds the message to ``errors[field]``."""
    if not isinstance(value, str):
        return True
    limit = column_length(attribute)
    if len(value) > limit:
        errors.setdefault(field, []).append(too_long_message(limit, len(value)))
        return False
    return True


# Text columns have no length in the database; what a person types into one (a note, a reason, a
# description) is still bounded, so a pasted document cannot fill the disk or the page.
LONG_TEXT = 5000


def check_long_text(value: Any, field: str, errors: dict[str, list[str]], limit: int = LONG_TEXT) -> bool:
    """True when ``value`` (for a Text column) has at most ``limit`` characters; else a message."""
    if isinstance(value, str) and len(value) > limit:
        errors.setdefault(field, []).append(too_long_message(limit, len(value)))
        return False
    return True


class MaxLength:
    """WTForms validator: at most ``limit`` characters, with the message every field uses."""

    def __init__(self, limit: int) -> None:
        self.max = limit
        self.field_flags = {"maxlength": self.max}

    def __call__(self, form: Any, field: Field) -> None:
        data = field.data
        if isinstance(data, str) and len(data) > self.max:
            raise ValidationError(too_long_message(self.max, len(data)))


class ColumnLength(MaxLength):
    """WTForms validator: at most as many characters as the model's column holds."""

    def __init__(self, attribute: InstrumentedAttribute[Any]) -> None:
        super().__init__(column_length(attribute))


def _string_limits(mapper: Any) -> list[tuple[str, int]]:
    limits = []
    for prop in mapper.column_attrs:
        column_type = prop.columns[0].type
        if isinstance(column_type, String) and column_type.length:
            limits.append((prop.key, column_type.length))
    return limits


_LIMITS: dict[Any, list[tuple[str, int]]] = {}


def over_long_values(session: Session) -> dict[str, list[str]]:
    """Every new or changed value in ``session`` longer than its column, as field errors."""
    errors: dict[str, list[str]] = {}
    for obj in [*session.new, *session.dirty]:
        state = inspect(obj)
        limits = _LIMITS.get(state.mapper)
        if limits is None:
            limits = _LIMITS[state.mapper] = _string_limits(state.mapper)
        for key, limit in limits:
            value = state.dict.get(key)  # what is loaded or set; never loads an expired attribute
            if isinstance(value, str) and len(value) > limit:
                errors.setdefault(key, []).append(too_long_message(limit, len(value)))
    return errors


def _before_flush(session: Session, _flush_context: Any, _instances: Any) -> None:
    errors = over_long_values(session)
    if errors:
        raise ValidationFailed(_("Some fields are too long."), errors)


def install_length_guard() -> None:
    """Check every flush of every session (once per process)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)


def register_length_guard(app: Flask) -> None:
    """The guard on every flush, and a flush before the request's commit so it answers 422 too.

    A view that leaves its changes unflushed would otherwise meet the guard only in the commit at
    the edge, after the response is made; flushing first turns the refusal into the answer.
    """
    install_length_guard()

    @app.after_request
    def flush_before_commit(response: Response) -> Response:
        if response.status_code >= 400:
            return response
        try:
            db.session.flush()
        except ValidationFailed as exc:
            return error_response(exc)
        return response

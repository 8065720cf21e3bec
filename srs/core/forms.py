"""Helpers that put a service's field errors next to the form's fields."""

from __future__ import annotations

from flask import flash
from flask_wtf import FlaskForm

from srs.core.errors import ServiceError


def apply_errors(form: FlaskForm, exc: ServiceError, field_map: dict[str, str] | None = None) -> None:
    """Attach ``exc.errors`` to the matching form fields; others become a flashed message."""
    mapping = field_map or {}
    unplaced: list[str] = []
    for name, messages in exc.errors.items():
        field = getattr(form, mapping.get(name, name), None)
        if field is not None and hasattr(field, "errors"):
            errors = list(field.errors) if isinstance(field.errors, (list, tuple)) else []
            errors.extend(str(m) for m in messages)
            field.errors = errors
        else:
            unplaced.extend(str(m) for m in messages)
    flash(exc.detail, "error")
    for message in unplaced:
        flash(message, "error")

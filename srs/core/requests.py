"""The request class: text input reaches views without NUL characters.

PostgreSQL cannot store U+0000 in a text column, or even compare one in a WHERE clause: a NUL in
any form field, query parameter or JSON string used to end in a DataError (a 500) wherever it met
the database. No person types one and it carries no meaning, so it is dropped as the request is
parsed, once for every view, form and service, instead of each guarding every text field.
"""

from __future__ import annotations

from typing import Any

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict

NUL = "\x00"


def without_nul(value: Any) -> Any:
    """``value`` with NUL removed from every string in it (keys of dicts too, lists walked)."""
    if isinstance(value, str):
        return value.replace(NUL, "") if NUL in value else value
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    return value


class NulFreeMultiDict(ImmutableMultiDict[str, str]):
    """Query string and form fields, built from (name, value) pairs, without NUL characters."""

    def __init__(self, mapping: Any = None) -> None:
        if isinstance(mapping, list):
            mapping = [(without_nul(key), without_nul(value)) for key, value in mapping]
        super().__init__(mapping)


class SrsRequest(Request):
    parameter_storage_class = NulFreeMultiDict

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        return without_nul(super().get_json(force=force, silent=silent, cache=cache))

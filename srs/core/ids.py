"""Record ids that arrive as text (forms, query strings, JSON): parsed once, within the columns' range.

Every id column is a 32-bit INTEGER on PostgreSQL, and SQLite refuses to bind a Python int past 64
bits (OverflowError, a 500). A number past ``MAX_ID`` can name no record, so it is treated like any
other id that names none: unknown, and the caller shows its usual "no such ..." message or a 404.
"""

from __future__ import annotations

from typing import Any

from werkzeug.routing import IntegerConverter

# The largest value of a PostgreSQL INTEGER column (and of the SERIAL ids it holds).
MAX_ID = 2**31 - 1


def parse_id(raw: Any) -> int | None:
    """``raw`` as a record id (a whole number from 1 to MAX_ID, as int or digits), else None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str):
        text = raw.strip()
        # Length first: int() of thousands of digits is slow, and refused past 4300.
        if len(text) > len(str(MAX_ID)) or not text.isascii() or not text.isdigit():
            return None
        raw = int(text)
    if not isinstance(raw, int) or not 1 <= raw <= MAX_ID:
        return None
    return raw


class IdConverter(IntegerConverter):
    """The ``<int:...>`` URL converter: an id past every column's range names no record, so a 404.

    It is read as 0 (no record has it; the loader answers 404) rather than refused here: werkzeug,
    refusing a converted value, has already matched the path, so a POST next to a GET-only rule
    answered 405 Method Not Allowed for ``/clients/99999999999/consents`` instead of 404.
    """

    def to_python(self, value: str) -> int:
        return parse_id(value) or 0

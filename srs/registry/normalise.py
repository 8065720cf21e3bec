"""Folding names and phone numbers so that the same person matches however they were typed."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

_NON_WORD = re.compile(r"[^0-9a-z]+")
# Letters that Unicode does not decompose into a base letter plus a mark.
_SPECIAL = str.maketrans({"đ": "d", "Đ": "d", "ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "ß": "ss"})


def fold_name(name: str) -> str:
    """Lower case, no diacritics (Vietnamese đ included), punctuation as spaces, single spaces.

    "  Nguyễn  Thị HƯƠNG " and "nguyen thi huong" fold to the same key.
    """
    text = (name or "").translate(_SPECIAL)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return " ".join(_NON_WORD.sub(" ", text).split())


def clean_spaces(text: str) -> str:
    """A display name with single spaces and no leading or trailing ones."""
    return " ".join((text or "").split())


def parse_phone(raw: str, country: str) -> str | None:
    """The number in E.164 (``+6281234567890``) when it is a valid number, else None.

    ``country`` (ID, VN) is used for numbers typed the national way (``0812...``); a number typed
    with its ``+`` prefix is read as written.
    """
    try:
        number = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_candidates(text: str) -> list[str]:
    """E.164 forms a search text may stand for (a national number could be Indonesian or Vietnamese)."""
    found = []
    for country in ("ID", "VN"):
        e164 = parse_phone(text, country)
        if e164 and e164 not in found:
            found.append(e164)
    return found

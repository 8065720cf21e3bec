"""Structure checks of identity numbers, against the birth date and sex the officer typed.

Indonesia's NIK (Dukcapil): 16 digits = province (2) regency/city (2) sub-district (2), birth date
DDMMYY with 40 added to the day for women, serial (4, from 0001).
Viet Nam's personal identification number (Decree 137/2015 art. 13, Circular 07/2016): 12 digits =
province of birth registration (3), century-and-sex digit (1), year of birth (2), random (6).

Each check returns the messages a person can act on: which part of the number is wrong, and why.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

# Province codes in use (Kemendagri); the newer Papua provinces are 92-96.
NIK_PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53, 61, 62, 63, 64, 65}
    | {71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96}
)

# The 63 provincial codes of Circular 07/2016 (birth registration province; they stay valid for
# people registered before the 2025 merger of provinces).
VN_PROVINCES = frozenset(
    {1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27, 30, 31, 33, 34, 35, 36, 37, 38}
    | {40, 42, 44, 45, 46, 48, 49, 51, 52, 54, 56, 58, 60, 62, 64, 66, 67, 68, 70, 72, 74, 75, 77, 79}
    | {80, 82, 83, 84, 86, 87, 89, 91, 92, 93, 94, 95, 96}
)

_SEPARATORS = re.compile(r"[\s.\-/]")


def normalise_number(raw: str) -> str:
    """Drop the spaces, dots, dashes and slashes people type between groups of digits."""
    return _SEPARATORS.sub("", raw or "")


def check_nik(number: str, birth_date: date | None, sex: str | None) -> list[str]:
    """Problems with a NIK, each naming the part that is wrong; an empty list means it fits."""
    if not number.isdigit() or len(number) != 16:
        return [_("A NIK has exactly 16 digits; this one has %(n)d characters.", n=len(number))]
    problems: list[str] = []
    province = int(number[0:2])
    if province not in NIK_PROVINCES:
        problems.append(
            _(
                "Digits 1-2 (province) are %(code)s, which is not an Indonesian province code.",
                code=number[:2],
            )
        )
    if number[2:4] == "00":
        problems.append(_("Digits 3-4 (regency or city) cannot be 00."))
    if number[4:6] == "00":
        problems.append(_("Digits 5-6 (sub-district) cannot be 00."))
    raw_day, month, year2 = int(number[6:8]), int(number[8:10]), int(number[10:12])
    female = raw_day > 40
    day = raw_day - 40 if female else raw_day
    if not (1 <= day <= 31):
        problems.append(
            _(
                "Digits 7-8 (day of birth) are %(dd)s: a man's day is 01-31 and a woman's is 41-71 "
                "(40 is added for women).",
                dd=number[6:8],
            )
        )
    if not (1 <= month <= 12):
        problems.append(_("Digits 9-10 (month of birth) are %(mm)s, which is not a month.", mm=number[8:10]))
    if number[12:16] == "0000":
        problems.append(_("Digits 13-16 (serial number) cannot be 0000; serials start at 0001."))
    if problems:
        return problems
    if birth_date is not None:
        if (day, month, year2) != (birth_date.day, birth_date.month, birth_date.year % 100):
            # Formatted outside the gettext call: pybabel cannot extract a call holding an f-string.
            nik_date = f"{day:02d}-{month:02d}-{year2:02d}"
            problems.append(
                _(
                    "Digits 7-12 (birth date) say %(nik_date)s, but the birth date typed is %(typed)s.",
                    nik_date=nik_date,
                    typed=birth_date.strftime("%d-%m-%y"),
                )
            )
    else:
        try:
            # Any century will do: the day and month must exist together (29 February aside).
            date(2000, month, day)
        except ValueError:
            problems.append(_("Digits 7-10 (day and month of birth) are not a real date."))
    if sex in ("female", "male") and (sex == "female") != female:
        if female:
            problems.append(
                _(
                    "Digits 7-8 are %(dd)s: 40 was added to the day, so this NIK belongs to a woman, "
                    "but the sex typed is male.",
                    dd=number[6:8],
                )
            )
        else:
            problems.append(
                _(
                    "Digits 7-8 are %(dd)s: a woman's NIK has 40 added to the day (41-71), so this NIK "
                    "belongs to a man, but the sex typed is female.",
                    dd=number[6:8],
                )
            )
    return problems


def vn_century_sex_digit(birth_year: int, sex: str) -> int:
    """The 4th digit of a Vietnamese personal ID for a birth year and sex (even male, odd female)."""
    return (birth_year // 100 - 19) * 2 + (1 if sex == "female" else 0)


def check_vn_pid(number: str, birth_date: date | None, sex: str | None) -> list[str]:
    """Problems with a Vietnamese personal identification number; empty when it fits."""
    if not number.isdigit() or len(number) != 12:
        return [
            _(
                "A Vietnamese personal ID number has exactly 12 digits; this one has %(n)d characters.",
                n=len(number),
            )
        ]
    problems: list[str] = []
    if int(number[0:3]) not in VN_PROVINCES:
        problems.append(
            _("Digits 1-3 (province) are %(code)s, which is not a Vietnamese province code.", code=number[:3])
        )
    code = int(number[3])
    century = 1900 + (code // 2) * 100
    female = code % 2 == 1
    year = century + int(number[4:6])
    if birth_date is not None and year != birth_date.year:
        problems.append(
            _(
                "Digits 4-6 (century and year of birth) say %(year)d, but the birth date typed is "
                "in %(typed)d.",
                year=year,
                typed=birth_date.year,
            )
        )
    if sex in ("female", "male") and (sex == "female") != female:
        problems.append(
            _(
                "Digit 4 (century and sex) is %(digit)d, which means %(meaning)s, but the sex typed is "
                "%(typed)s.",
                digit=code,
                meaning=_("female") if female else _("male"),
                typed=_("female") if sex == "female" else _("male"),
            )
        )
    return problems


def check_id_number(id_type: str, number: str, birth_date: date | None, sex: str | None) -> list[str]:
    """Dispatch on the ID type; ``none`` has no number to check."""
    if id_type == "nik":
        return check_nik(number, birth_date, sex)
    if id_type == "vn_pid":
        return check_vn_pid(number, birth_date, sex)
    return []


def make_nik(region_digits: str, birth_date: date, sex: str, serial: int) -> str:
    """A NIK for demo and test data: six region digits, birth date (+40 for women), serial."""
    day = birth_date.day + (40 if sex == "female" else 0)
    return f"{region_digits[:6]}{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}{serial:04d}"


def make_vn_pid(province: int, birth_date: date, sex: str, random_part: int) -> str:
    """A Vietnamese personal ID for demo and test data."""
    digit = vn_century_sex_digit(birth_date.year, sex)
    return f"{province:03d}{digit}{birth_date.year % 100:02d}{random_part:06d}"


# The same structure as data, for clients that check a number before it is sent (the offline form,
# through GET /api/v1/fields/clients). Digits are counted from 1, both ends included; a test checks
# these rules against check_nik and check_vn_pid on many numbers.
ID_NUMBER_RULES: dict[str, dict[str, Any]] = {
    "nik": {
        "label": _l("NIK (Indonesia)"),
        "country": "ID",
        "length": 16,
        "pattern": r"^\d{16}$",
        "separators": r"[\s.\-/]",
        "parts": [
            {"name": "province", "digits": [1, 2], "allowed": sorted(NIK_PROVINCES)},
            {"name": "regency", "digits": [3, 4], "not": ["00"]},
            {"name": "sub_district", "digits": [5, 6], "not": ["00"]},
            {
                "name": "birth_day",
                "digits": [7, 8],
                "encodes": "day of birth, plus female_offset for a woman",
                "female_offset": 40,
                "ranges": {"male": [1, 31], "female": [41, 71]},
                "matches": "date_of_birth.day",
            },
            {"name": "birth_month", "digits": [9, 10], "range": [1, 12], "matches": "date_of_birth.month"},
            {"name": "birth_year", "digits": [11, 12], "matches": "date_of_birth.year % 100"},
            {"name": "serial", "digits": [13, 16], "not": ["0000"]},
        ],
        "sex": {"part": "birth_day", "female_if_over": 40},
    },
    "vn_pid": {
        "label": _l("Personal ID number (Viet Nam)"),
        "country": "VN",
        "length": 12,
        "pattern": r"^\d{12}$",
        "separators": r"[\s.\-/]",
        "parts": [
            {"name": "province", "digits": [1, 3], "allowed": sorted(VN_PROVINCES)},
            {
                "name": "century_sex",
                "digits": [4, 4],
                "encodes": "(century - 20) * 2, plus 1 for a woman: 1900s male 0 female 1, "
                "2000s male 2 female 3, 2100s male 4 female 5",
                "century_base": 1900,
                "matches": "(date_of_birth.year // 100 - 19) * 2 + (1 if female else 0)",
            },
            {"name": "birth_year", "digits": [5, 6], "matches": "date_of_birth.year % 100"},
            {"name": "random", "digits": [7, 12]},
        ],
        "sex": {"part": "century_sex", "female_if_odd": True},
    },
}

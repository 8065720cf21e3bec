"""One validation of a client's data, shared by the form, the API and the bulk import.

Input is a mapping with the API's field names (``region_code``, ``consent: {given, date, scope}``);
any JSON value may arrive in any field, and every problem becomes a message on that field.
Output is a dict of model attributes ready to store.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from srs.accounts.models import User
from srs.core import clock
from srs.core.errors import ValidationFailed
from srs.regions.models import Region
from srs.regions.scope import region_in_scope
from srs.registry.idnumbers import check_id_number, normalise_number
from srs.registry.models import ID_TYPES, POVERTY_STATUSES, RELATIONSHIPS, SEXES, WORK_STATUSES
from srs.registry.normalise import clean_spaces, fold_name, parse_phone

MAX_AGE = 120
MAX_INCOME = 10**13  # far above any monthly income in IDR or VND; keeps the number in a BIGINT
MAX_HOUSEHOLD = 50
_ENROLMENT_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,39}$")
_GROUPED_DIGITS = re.compile(r"^\d{1,3}([., ]\d{3})+$")
_TRUE = {"true", "yes", "y", "1", "ya", "có", "co"}
_FALSE = {"false", "no", "n", "0", "tidak", "không", "khong"}

RegionLookup = Callable[[str], Region | None]

# The fields of a client, with the API's names, in the order forms and files list them.
INPUT_FIELDS = (
    "id_type",
    "id_number",
    "full_name",
    "sex",
    "date_of_birth",
    "phone",
    "region_code",
    "address",
    "occupation",
    "work_status",
    "monthly_income",
    "household_size",
    "disability",
    "in_education",
    "pregnant",
    "poverty_status",
    "welfare_decile",
    "welfare_source",
    "welfare_date",
    "enrolments",
    "consent",
)


class _Errors:
    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.by_field.setdefault(field, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.by_field)


def _text(value: Any, field: str, errors: _Errors, max_len: int, required: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.add(field, _("This field is required."))
        return None
    if not isinstance(value, str):
        errors.add(field, _("Must be text."))
        return None
    cleaned = clean_spaces(value)
    if len(cleaned) > max_len:
        errors.add(field, _("At most %(n)d characters (this has %(len)d).", n=max_len, len=len(cleaned)))
        return None
    if any(ord(ch) < 32 for ch in cleaned):
        errors.add(field, _("Contains control characters."))
        return None
    return cleaned


def _choice(value: Any, field: str, errors: _Errors, choices: tuple[str, ...], required: bool) -> str | None:
    if value is None or value == "":
        if required:
            errors.add(field, _("This field is required."))
        return None
    if not isinstance(value, str) or value not in choices:
        errors.add(field, _("Choose one of: %(choices)s.", choices=", ".join(choices)))
        return None
    return value


def parse_date(value: Any, field: str, errors: _Errors, required: bool = False) -> date | None:
    """A real calendar date written YYYY-MM-DD, not in the future."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.add(field, _("This field is required."))
        return None
    if isinstance(value, date):
        parsed = value
    elif isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            parsed = clock.parse_date(value)
        except ValueError:
            errors.add(field, _("%(value)s is not a real date.", value=value.strip()))
            return None
    else:
        errors.add(field, _("Write the date as YYYY-MM-DD, for example 1985-03-21."))
        return None
    if parsed > clock.today():
        errors.add(field, _("The date cannot be in the future."))
        return None
    return parsed


def _integer(
    value: Any, field: str, errors: _Errors, minimum: int, maximum: int, message: Any = None
) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            number = int(text)
        elif _GROUPED_DIGITS.match(text):
            number = int(re.sub(r"[., ]", "", text))
    if number is None or not (minimum <= number <= maximum):
        errors.add(
            field,
            str(message)
            if message is not None
            else _("Must be a whole number from %(min)d to %(max)d.", min=minimum, max=maximum),
        )
        return None
    return number


def parse_bool(value: Any, field: str, errors: _Errors) -> bool | None:
    """true/false, or yes/no (also in Indonesian and Vietnamese); empty means unknown."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().casefold()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        if not word:
            return None
    errors.add(field, _("Answer yes or no (or leave empty when unknown)."))
    return None


def _enrolments(value: Any, errors: _Errors) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = [part for part in re.split(r"[;,]", value) if part.strip()]
    if not isinstance(value, list) or len(value) > 50:
        errors.add("enrolments", _("Give a list of programme codes."))
        return []
    codes: list[str] = []
    for item in value:
        if not isinstance(item, str) or not _ENROLMENT_CODE.match(item.strip()):
            errors.add("enrolments", _("%(item)s is not a programme code.", item=str(item)[:40]))
            continue
        code = item.strip().upper()
        if code not in codes:
            codes.append(code)
    return codes


def validate_client(
    data: Mapping[str, Any],
    *,
    user: User,
    lookup_region: RegionLookup,
    current_region: Region | None = None,
    in_scope: Callable[[Region], bool] | None = None,
) -> dict[str, Any]:
    """Check every field and return model attributes; raise ValidationFailed with all problems.

    ``current_region`` is the client's region before an edit: keeping it is always allowed, while a
    new region must lie inside the user's scope (``in_scope`` may supply a cached check for imports).
    """
    if not isinstance(data, Mapping):
        raise ValidationFailed(_("The client data must be an object."), {})
    errors = _Errors()
    out: dict[str, Any] = {}

    full_name = _text(data.get("full_name"), "full_name", errors, 200, required=True)
    name_key = fold_name(full_name) if full_name is not None else None
    if full_name is not None and not name_key:
        errors.add("full_name", _("A name needs at least one letter."))
        full_name = name_key = None
    out["full_name"] = full_name
    out["name_key"] = name_key
    sex = _choice(data.get("sex"), "sex", errors, SEXES, required=True)
    out["sex"] = sex

    birth = parse_date(data.get("date_of_birth"), "date_of_birth", errors, required=True)
    if birth is not None:
        today = clock.today()
        age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
        if age > MAX_AGE:
            errors.add("date_of_birth", _("That makes the person %(age)d years old; at most 120.", age=age))
            birth = None
    out["date_of_birth"] = birth

    region: Region | None = None
    region_code = data.get("region_code")
    if region_code is None or region_code == "":
        errors.add("region_code", _("This field is required."))
    elif not isinstance(region_code, str) or len(region_code) > 32:
        errors.add("region_code", _("Must be a region code such as 35.16.08.2003."))
    else:
        region = lookup_region(region_code.strip())
        allowed = region is not None and (
            (in_scope(region) if in_scope else region_in_scope(region, user))
            or (current_region is not None and region.id == current_region.id)
        )
        if not allowed:
            errors.add(
                "region_code",
                _("No region in your area has the code %(code)s.", code=region_code.strip()[:32]),
            )
            region = None
    out["region"] = region
    out["region_id"] = region.id if region else None

    id_type = data.get("id_type")
    raw_number = data.get("id_number")
    if id_type in (None, "") and raw_number in (None, ""):
        id_type = "none"
    id_type = _choice(id_type, "id_type", errors, ID_TYPES, required=True)
    number: str | None = None
    if raw_number not in (None, "") and not isinstance(raw_number, str):
        errors.add("id_number", _("Must be text."))
    elif id_type in ("nik", "vn_pid"):
        number = normalise_number(raw_number or "")
        if not number:
            errors.add("id_number", _("Type the ID number, or choose 'no ID' as the ID type."))
            number = None
        else:
            problems = check_id_number(id_type, number, birth, sex)
            for problem in problems:
                errors.add("id_number", problem)
            if problems:
                number = None
            elif region is not None and {"nik": "ID", "vn_pid": "VN"}[id_type] != region.country:
                errors.add(
                    "id_type",
                    _("This ID type is not issued in the country of the region %(code)s.", code=region.code),
                )
    elif id_type == "none" and raw_number and normalise_number(raw_number):  # a str: checked above
        errors.add("id_number", _("Choose the ID type of this number, or leave the number empty."))
    out["id_type"] = id_type
    out["id_number"] = number if id_type != "none" else None
    out["needs_id_followup"] = id_type == "none"

    phone_raw = data.get("phone")
    out["phone"] = None
    if phone_raw not in (None, ""):
        if not isinstance(phone_raw, str) or len(phone_raw) > 40:
            errors.add("phone", _("Must be a phone number such as 0812 3456 7890."))
        elif phone_raw.strip():
            country = region.country if region is not None else "ID"
            e164 = parse_phone(phone_raw, country)
            if e164 is None:
                errors.add(
                    "phone",
                    _(
                        "%(phone)s is not a valid phone number in %(country)s.",
                        phone=phone_raw,
                        country=country,
                    ),
                )
            out["phone"] = e164

    out["address"] = _text(data.get("address"), "address", errors, 300)
    out["occupation"] = _text(data.get("occupation"), "occupation", errors, 120)
    out["work_status"] = _choice(data.get("work_status"), "work_status", errors, WORK_STATUSES, False)
    out["monthly_income"] = _integer(
        data.get("monthly_income"),
        "monthly_income",
        errors,
        0,
        MAX_INCOME,
        _l("Must be a whole number of 0 or more, in the country's currency unit (no decimals)."),
    )
    out["household_size"] = _integer(data.get("household_size"), "household_size", errors, 1, MAX_HOUSEHOLD)
    for flag in ("disability", "in_education", "pregnant"):
        out[flag] = parse_bool(data.get(flag), flag, errors)
    if out["pregnant"] and sex == "male":
        errors.add("pregnant", _("Only a woman can be recorded as pregnant."))
    out["poverty_status"] = (
        _choice(data.get("poverty_status"), "poverty_status", errors, POVERTY_STATUSES, False) or "unknown"
    )
    out["welfare_decile"] = _integer(data.get("welfare_decile"), "welfare_decile", errors, 1, 10)
    out["welfare_source"] = _text(data.get("welfare_source"), "welfare_source", errors, 80)
    out["welfare_date"] = parse_date(data.get("welfare_date"), "welfare_date", errors)
    out["enrolments"] = _enrolments(data.get("enrolments"), errors)

    consent = data.get("consent")
    out["consent_given"] = False
    out["consent_date"] = None
    out["consent_scope"] = None
    if consent is None:
        errors.add("consent", _("Record whether the person gave consent."))
    elif not isinstance(consent, Mapping):
        errors.add("consent", _("Must be an object with given, date and scope."))
    else:
        given = consent.get("given")
        if not isinstance(given, bool):
            given = parse_bool(given, "consent.given", errors)
            if given is None and "consent.given" not in errors.by_field:
                errors.add("consent.given", _("Answer yes or no."))
        out["consent_given"] = bool(given)
        consent_date = parse_date(consent.get("date"), "consent.date", errors, required=bool(given))
        scope = _text(consent.get("scope"), "consent.scope", errors, 300, required=bool(given))
        if birth is not None and consent_date is not None and consent_date < birth:
            errors.add("consent.date", _("Consent cannot be given before the person was born."))
        out["consent_date"] = consent_date
        out["consent_scope"] = scope

    if errors:
        raise ValidationFailed(_("Some fields need attention."), errors.by_field)
    return out


def validate_member(member: Mapping[str, Any], prefix: str, errors: _Errors) -> dict[str, Any]:
    """A household member's own facts (not a registered client), each problem on ``prefix.field``."""
    name = member.get("full_name")
    if not isinstance(name, str) or not fold_name(name) or len(name.strip()) > 200:
        errors.add(f"{prefix}.full_name", _("A name of 1 to 200 characters with at least one letter."))
        name = None
    relationship = member.get("relationship_to_head")
    if relationship not in RELATIONSHIPS or relationship == "head":
        errors.add(
            f"{prefix}.relationship_to_head",
            _("Choose one of: %(choices)s.", choices=", ".join(r for r in RELATIONSHIPS if r != "head")),
        )
    sex = member.get("sex")
    if sex not in (None, "", "female", "male"):
        errors.add(f"{prefix}.sex", _("Choose one of: %(choices)s.", choices="female, male"))
        sex = None
    birth = parse_date(member.get("date_of_birth"), f"{prefix}.date_of_birth", errors)
    return {
        "full_name": " ".join(name.split()) if isinstance(name, str) else None,
        "relationship_to_head": relationship,
        "sex": sex or None,
        "date_of_birth": birth,
        "disability": parse_bool(member.get("disability"), f"{prefix}.disability", errors),
        "in_education": parse_bool(member.get("in_education"), f"{prefix}.in_education", errors),
        "pregnant": parse_pregnant(member, sex, prefix, errors),
    }


def parse_pregnant(member: Mapping[str, Any], sex: str | None, prefix: str, errors: _Errors) -> bool | None:
    """``pregnant`` as a yes/no/unknown; a man is never recorded as pregnant."""
    pregnant = parse_bool(member.get("pregnant"), f"{prefix}.pregnant", errors)
    if pregnant and sex == "male":
        errors.add(f"{prefix}.pregnant", _("Only a woman can be recorded as pregnant."))
    return pregnant

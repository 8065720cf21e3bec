"""One validation of a client's data, shared by the form, the API and the bulk import.

Input is a mapping with the API's field names (``region_code``, ``consent: {given, date, scope}``);
any JSON value may arrive in any field, and every problem becomes a message on that field.
Output is a dict of model attributes ready to store.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date
from typing import Any

from flask_babel import gettext as _

from srs.accounts.models import User
from srs.core import clock
from srs.core.errors import ValidationFailed
from srs.regions.models import Region
from srs.regions.scope import region_in_scope
from srs.registry.fields import MAX_AGE, ClientField, client_fields, get_field, input_names
from srs.registry.idnumbers import ID_NUMBER_RULES, check_id_number, normalise_number
from srs.registry.models import CONSENT_PURPOSES, RELATIONSHIPS
from srs.registry.normalise import clean_spaces, fold_name, parse_phone

MAX_INCOME = get_field("monthly_income").maximum or 10**13
_ENROLMENT_CODE = re.compile(get_field("enrolments").pattern or "")
_GROUPED_DIGITS = re.compile(r"^\d{1,3}([., ]\d{3})+$")
_TRUE = {"true", "yes", "y", "1", "ya", "có", "co"}
_FALSE = {"false", "no", "n", "0", "tidak", "không", "khong"}

RegionLookup = Callable[[str], Region | None]

# The fields of a client, with the API's names, in the order forms and files list them (the table's).
INPUT_FIELDS = input_names()


# What a consent covers when the form or the API names no purposes.
DEFAULT_CONSENT_PURPOSES = ("screening", "referral")


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


def _enrolments(value: Any, errors: _Errors, field: str = "enrolments", most: int = 50) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = [part for part in re.split(r"[;,]", value) if part.strip()]
    if not isinstance(value, list) or len(value) > most:
        errors.add(field, _("Give a list of programme codes."))
        return []
    codes: list[str] = []
    for item in value:
        if not isinstance(item, str) or not _ENROLMENT_CODE.match(item.strip()):
            errors.add(field, _("%(item)s is not a programme code.", item=str(item)[:40]))
            continue
        code = item.strip().upper()
        if code not in codes:
            codes.append(code)
    return codes


@dataclass
class _Context:
    """One client's validation: the input, what is parsed so far, and how regions are looked up."""

    data: Mapping[str, Any]
    errors: _Errors
    user: User
    lookup_region: RegionLookup
    current_region: Region | None
    in_scope: Callable[[Region], bool] | None
    out: dict[str, Any] = dataclass_field(default_factory=dict)
    # Parsed values by field name (what later fields' checks read: sex, birth date, region).
    values: dict[str, Any] = dataclass_field(default_factory=dict)
    extra: dict[str, Any] = dataclass_field(default_factory=dict)

    def store(self, f: ClientField, value: Any) -> None:
        self.values[f.name] = value
        if f.stored_as is None:
            self.extra[f.name] = value
        else:
            self.out[f.stored_as] = value


def _parse_text(f: ClientField, ctx: _Context) -> None:
    ctx.store(f, _text(ctx.data.get(f.name), f.name, ctx.errors, f.length_limit or 5000, f.required))


def _parse_name(f: ClientField, ctx: _Context) -> None:
    full_name = _text(ctx.data.get(f.name), f.name, ctx.errors, f.length_limit or 200, required=f.required)
    name_key = fold_name(full_name) if full_name is not None else None
    if full_name is not None and not name_key:
        ctx.errors.add(f.name, _("A name needs at least one letter."))
        full_name = name_key = None
    ctx.store(f, full_name)
    ctx.out["name_key"] = name_key


def _parse_choice(f: ClientField, ctx: _Context) -> None:
    value = _choice(ctx.data.get(f.name), f.name, ctx.errors, f.choice_values(), f.required)
    ctx.store(f, value if value is not None else f.default)


def _parse_birth_date(f: ClientField, ctx: _Context) -> None:
    birth = parse_date(ctx.data.get(f.name), f.name, ctx.errors, required=f.required)
    if birth is not None:
        today = clock.today()
        age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
        if age > MAX_AGE:
            ctx.errors.add(f.name, _("That makes the person %(age)d years old; at most 120.", age=age))
            birth = None
    ctx.store(f, birth)


def _parse_date(f: ClientField, ctx: _Context) -> None:
    ctx.store(f, parse_date(ctx.data.get(f.name), f.name, ctx.errors, required=f.required))


def _parse_integer(f: ClientField, ctx: _Context) -> None:
    low = f.minimum if f.minimum is not None else 0
    high = f.maximum if f.maximum is not None else MAX_INCOME
    ctx.store(f, _integer(ctx.data.get(f.name), f.name, ctx.errors, low, high, f.message))


def _parse_boolean(f: ClientField, ctx: _Context) -> None:
    value = parse_bool(ctx.data.get(f.name), f.name, ctx.errors)
    if value and f.only_for_sex and ctx.values.get("sex") not in (None, f.only_for_sex):
        ctx.errors.add(f.name, _("Only a woman can be recorded as pregnant."))
    ctx.store(f, value)


def _parse_region(f: ClientField, ctx: _Context) -> None:
    region: Region | None = None
    region_code = ctx.data.get(f.name)
    limit = f.length_limit or 32
    if region_code is None or region_code == "":
        ctx.errors.add(f.name, _("This field is required."))
    elif not isinstance(region_code, str) or len(region_code) > limit:
        ctx.errors.add(f.name, _("Must be a region code such as 35.16.08.2003."))
    else:
        region = ctx.lookup_region(region_code.strip())
        allowed = region is not None and (
            (ctx.in_scope(region) if ctx.in_scope else region_in_scope(region, ctx.user))
            or (ctx.current_region is not None and region.id == ctx.current_region.id)
        )
        if not allowed:
            ctx.errors.add(
                f.name, _("No region in your area has the code %(code)s.", code=region_code.strip()[:limit])
            )
            region = None
    ctx.values[f.name] = region
    ctx.out["region"] = region
    ctx.out[f.stored_as or "region_id"] = region.id if region else None


def _parse_id_type(f: ClientField, ctx: _Context) -> None:
    """Read with the number (``_parse_id_number``): which checks apply depends on both."""


def _parse_id_number(f: ClientField, ctx: _Context) -> None:
    """The ID type and number together: the number's structure, its birth date and sex, its country."""
    type_field = get_field("id_type")
    errors, data = ctx.errors, ctx.data
    birth, sex, region = ctx.values.get("date_of_birth"), ctx.values.get("sex"), ctx.values.get("region_code")
    id_type = data.get(type_field.name)
    raw_number = data.get(f.name)
    if id_type in (None, "") and raw_number in (None, ""):
        id_type = type_field.default
    id_type = _choice(id_type, type_field.name, errors, type_field.choice_values(), required=True)
    number: str | None = None
    if raw_number not in (None, "") and not isinstance(raw_number, str):
        errors.add(f.name, _("Must be text."))
    elif id_type in ID_NUMBER_RULES:
        number = normalise_number(raw_number or "")
        if not number:
            errors.add(f.name, _("Type the ID number, or choose 'no ID' as the ID type."))
            number = None
        else:
            problems = check_id_number(id_type, number, birth, sex)
            for problem in problems:
                errors.add(f.name, problem)
            if problems:
                number = None
            elif region is not None and ID_NUMBER_RULES[id_type]["country"] != region.country:
                errors.add(
                    type_field.name,
                    _("This ID type is not issued in the country of the region %(code)s.", code=region.code),
                )
    elif id_type == "none" and isinstance(raw_number, str) and raw_number and normalise_number(raw_number):
        errors.add(f.name, _("Choose the ID type of this number, or leave the number empty."))
    ctx.store(type_field, id_type)
    ctx.store(f, number if id_type != "none" else None)
    ctx.out["needs_id_followup"] = id_type == "none"


def _parse_phone(f: ClientField, ctx: _Context) -> None:
    phone_raw = ctx.data.get(f.name)
    ctx.store(f, None)
    if phone_raw in (None, ""):
        return
    if not isinstance(phone_raw, str) or len(phone_raw) > (f.length_limit or 40):
        ctx.errors.add(f.name, _("Must be a phone number such as 0812 3456 7890."))
    elif phone_raw.strip():
        region = ctx.values.get("region_code")
        country = region.country if region is not None else "ID"
        e164 = parse_phone(phone_raw, country)
        if e164 is None:
            ctx.errors.add(
                f.name,
                _("%(phone)s is not a valid phone number in %(country)s.", phone=phone_raw, country=country),
            )
        ctx.store(f, e164)


def _parse_codes(f: ClientField, ctx: _Context) -> None:
    ctx.store(f, _enrolments(ctx.data.get(f.name), ctx.errors, f.name, f.maximum or 50))


def _parse_consent(f: ClientField, ctx: _Context) -> None:
    errors = ctx.errors
    birth = ctx.values.get("date_of_birth")
    consent = ctx.data.get(f.name)
    ctx.out["consent_given"] = False
    ctx.out["consent_date"] = None
    ctx.out["consent_scope"] = None
    ctx.out["consent_purposes"] = list(DEFAULT_CONSENT_PURPOSES)
    ctx.out["consent_agencies"] = None
    if consent is None:
        errors.add(f.name, _("Record whether the person gave consent."))
    elif not isinstance(consent, Mapping):
        errors.add(f.name, _("Must be an object with given, date and scope."))
    else:
        given = consent.get("given")
        if not isinstance(given, bool):
            given = parse_bool(given, "consent.given", errors)
            if given is None and "consent.given" not in errors.by_field:
                errors.add("consent.given", _("Answer yes or no."))
        ctx.out["consent_given"] = bool(given)
        consent_date = parse_date(consent.get("date"), "consent.date", errors, required=bool(given))
        scope = _text(
            consent.get("scope"), "consent.scope", errors, f.length_limit or 300, required=bool(given)
        )
        if birth is not None and consent_date is not None and consent_date < birth:
            errors.add("consent.date", _("Consent cannot be given before the person was born."))
        ctx.out["consent_date"] = consent_date
        ctx.out["consent_scope"] = scope
        ctx.out["consent_purposes"] = _consent_purposes(consent.get("purposes"), errors)
        ctx.out["consent_agencies"] = _consent_agencies(consent.get("agencies"), errors)
    ctx.values[f.name] = ctx.out["consent_given"]


# How each type of field (srs/registry/fields.py) is read.
PARSERS: dict[str, Callable[[ClientField, _Context], None]] = {
    "text": _parse_text,
    "name": _parse_name,
    "choice": _parse_choice,
    "boolean": _parse_boolean,
    "integer": _parse_integer,
    "date": _parse_date,
    "birth_date": _parse_birth_date,
    "id_type": _parse_id_type,
    "id_number": _parse_id_number,
    "phone": _parse_phone,
    "region": _parse_region,
    "codes": _parse_codes,
    "consent": _parse_consent,
}


def _in_check_order(table: tuple[ClientField, ...]) -> list[ClientField]:
    """The table's order, each field after the fields it ``depends_on`` (a region before the phone)."""
    by_name = {f.name: f for f in table}
    ordered: list[ClientField] = []
    seen: set[str] = set()

    def visit(f: ClientField) -> None:
        if f.name in seen:
            return
        seen.add(f.name)
        for name in f.depends_on:
            if name in by_name and by_name[name].type != "id_type":
                visit(by_name[name])
        ordered.append(f)

    for f in table:
        if f.type == "id_type":
            continue  # read with the number, after what the number is checked against
        visit(f)
    ordered.extend(f for f in table if f.type == "id_type")
    return ordered


def validate_client(
    data: Mapping[str, Any],
    *,
    user: User,
    lookup_region: RegionLookup,
    current_region: Region | None = None,
    in_scope: Callable[[Region], bool] | None = None,
) -> dict[str, Any]:
    """Check every field of the table and return model attributes; raise ValidationFailed with all problems.

    ``current_region`` is the client's region before an edit: keeping it is always allowed, while a
    new region must lie inside the user's scope (``in_scope`` may supply a cached check for imports).
    Fields kept in ``Client.extra`` come back as ``extra`` (only theirs: the caller merges).
    """
    if not isinstance(data, Mapping):
        raise ValidationFailed(_("The client data must be an object."), {})
    ctx = _Context(data, _Errors(), user, lookup_region, current_region, in_scope)
    for f in _in_check_order(client_fields()):
        PARSERS[f.type](f, ctx)
    if ctx.errors:
        raise ValidationFailed(_("Some fields need attention."), ctx.errors.by_field)
    if ctx.extra:
        ctx.out["extra"] = ctx.extra
    return ctx.out


def _consent_purposes(value: Any, errors: _Errors) -> list[str]:
    """The purposes a consent covers: codes of CONSENT_PURPOSES; none given means screening and referral."""
    if value is None or value == [] or value == "":
        return list(DEFAULT_CONSENT_PURPOSES)
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.add("consent.purposes", _("Give a list of purposes."))
        return list(DEFAULT_CONSENT_PURPOSES)
    unknown = [v for v in value if v not in CONSENT_PURPOSES]
    if unknown:
        errors.add("consent.purposes", _("Choose from: %(choices)s.", choices=", ".join(CONSENT_PURPOSES)))
    return [p for p in CONSENT_PURPOSES if p in value]


def _consent_agencies(value: Any, errors: _Errors) -> list[str] | None:
    """The agencies a consent covers: ``"all"`` or null for every agency, else a list of agency codes.

    Whether each code names an agency is checked when the consent is recorded (it needs the database).
    """
    if value is None or value == "all" or value == "":
        return None
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if (
        not isinstance(value, list)
        or not value
        or len(value) > 50
        or not all(isinstance(v, str) and 0 < len(v.strip()) <= 40 for v in value)
    ):
        errors.add("consent.agencies", _('Give "all" or a list of agency codes.'))
        return None
    return sorted({v.strip() for v in value})


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

"""What a partner may name in a DCI request: identifier types, query attributes and record fields.

Query attributes map onto keys of the eligibility rules' field catalogue (srs.programmes.fields), so
a DCI predicate is compiled by the same SQL compiler as a programme's rule, never to raw SQL.
Sensitive attributes (disability, income) are never in a partner's profile unless an administrator
ticks them: one query at a time they would let a partner learn who has a disability.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class IdType:
    """An identifier type of the DCI vocabulary and where SRS keeps it."""

    code: str
    label: Any
    client_id_types: tuple[str, ...] = ()  # values of Client.id_type it matches
    column: str = "id_number"  # id_number | phone | household


ID_TYPES: dict[str, IdType] = {
    t.code: t
    for t in [
        # The spec's "unique identification number": Indonesia's NIK or Viet Nam's personal ID number.
        IdType("UIN", _l("National ID number (NIK or Vietnamese personal ID)"), ("nik", "vn_pid")),
        IdType("NIK", _l("Indonesian NIK"), ("nik",)),
        IdType("VN_PID", _l("Vietnamese personal ID number"), ("vn_pid",)),
        IdType("MOBILE", _l("Mobile phone number"), column="phone"),
        IdType("HOUSEHOLD_ID", _l("SRS household number"), column="household"),
    ]
}

# The identifier type a record's own number is shown with.
RECORD_ID_TYPE = {"nik": "NIK", "vn_pid": "VN_PID"}


@dataclass(frozen=True)
class Attribute:
    """A query attribute: the catalogue field it reads and whether it is sensitive."""

    name: str
    field: str
    label: Any
    sensitive: bool = False


ATTRIBUTES: dict[str, Attribute] = {
    a.name: a
    for a in [
        Attribute("age", "age", _l("age")),
        Attribute("gender", "sex", _l("sex")),
        Attribute("sex", "sex", _l("sex")),
        # SRS keeps the welfare decile (1 poorest .. 10); it is the poverty score DCI asks about.
        Attribute("poverty_score", "welfare_decile", _l("poverty score (welfare decile)")),
        Attribute("welfare_decile", "welfare_decile", _l("welfare decile")),
        Attribute("poverty_status", "poverty_status", _l("poverty status")),
        Attribute("location", "region", _l("location (region code)")),
        Attribute("district", "region", _l("district (region code)")),
        Attribute("group_size", "household_size", _l("household size")),
        Attribute("work_status", "work_status", _l("work status")),
        Attribute("disability", "disability", _l("disability"), sensitive=True),
        Attribute("is_disabled", "disability", _l("disability"), sensitive=True),
        Attribute("income", "monthly_income", _l("monthly income"), sensitive=True),
    ]
}

# Attribute names a search may sort by (the rest are not columns a sort can use cheaply).
SORTABLE = {"age", "poverty_score", "welfare_decile", "group_size", "registration_date"}


@dataclass(frozen=True)
class RecordField:
    code: str
    label: Any
    sensitive: bool = False


RECORD_FIELDS: dict[str, RecordField] = {
    f.code: f
    for f in [
        RecordField("identifiers", _l("ID numbers")),
        RecordField("name", _l("name")),
        RecordField("sex", _l("sex")),
        RecordField("birth_date", _l("date of birth")),
        RecordField("address", _l("address and region")),
        RecordField("phone_number", _l("phone number")),
        RecordField("poverty", _l("poverty status and welfare decile")),
        RecordField("employment", _l("work status and occupation")),
        RecordField("household", _l("household members")),
        RecordField("enrolments", _l("programmes held")),
        RecordField("is_disabled", _l("disability"), sensitive=True),
        RecordField("income", _l("monthly income"), sensitive=True),
    ]
}


EVENT_TYPES = ("REGISTER", "UPDATE", "DELETE", "LINK", "UNLINK")
RECORD_TYPES = ("Member", "Group")

# ISO 639-3 (what DCI's locale carries) to the languages SRS speaks.
LOCALES = {"eng": "en", "ind": "id", "vie": "vi"}

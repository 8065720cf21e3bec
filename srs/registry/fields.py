"""The client's fields, defined once: every part of the app that lists, checks or shows them reads this.

One row per field of the API's input (``region_code``, ``consent`` as one object), in the order
files and the API list them. A row says what the field is (label, type, required, choices,
limits, the other fields its checks read), who may change it, whether an agency may be shown it
(and under which label), whether it is personal (masked in the audit log), how a merge treats it,
the file columns the importer reads it from and whether the dashboard filters by it.

Read by: the registration and edit form (``forms.client_form``), the validator
(``validation.validate_client``), the stored values and edits (``services.client_input``,
``services.update_client``), the importer's columns, the merge, the agencies' choices and labels
(programmes, referrals), the dashboard's filters, ``GET /api/v1/fields/clients`` and the OpenAPI
schema. Adding a field is one row here; a field without a model column (``attribute=None``) is kept
in ``Client.extra`` and needs no migration.

Everything reads the table through ``client_fields()`` at call time, so a test may replace
``CLIENT_FIELDS`` and watch every consumer follow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import phonenumbers
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import String

from srs.core.lengths import column_length
from srs.registry import policies
from srs.registry.idnumbers import ID_NUMBER_RULES
from srs.registry.models import Client

WRITERS = frozenset(policies.WRITERS)
MAX_AGE = 120  # a birth date further back is a typing mistake
PHONE_COUNTRIES = ("ID", "VN")  # the countries whose regions SRS holds

# Merge rules: what the kept record takes from the duplicate.
KEEP = "keep"  # nothing: the kept record's value stands (name, sex, birth date, region)
FILL = "fill"  # the duplicate's value when the kept record has none (or only the field's default)
UNION = "union"  # a list: the duplicate's items the kept record lacks are added
ID = "id"  # the duplicate's ID number moves over when the kept record has none
CONSENT = "consent"  # the duplicate's consent (date, scope, who recorded it) when the kept has none


@dataclass(frozen=True)
class ReportDimension:
    """How the dashboard filters by a field: its label there, shorter labels for its values, the
    message for a value it does not know. A birth date is filtered by age group (the reports' groups)."""

    label: Any
    values: tuple[tuple[str, Any], ...] = ()
    error: Any = None


@dataclass(frozen=True, eq=False)
class ClientField:
    """One field of a client. ``type`` picks the parser (validation) and the widget (form):

    text, name (text folded for matching), choice, boolean (yes / no / unknown), integer, date,
    birth_date (a date at most MAX_AGE years back), id_type, id_number (checked against its type's
    structure rules), phone, region (a region code in the user's scope), codes (programme codes),
    consent (an object: given, date, scope).
    """

    name: str
    label: Any
    type: str
    required: bool = False
    # (value, label) pairs; ``blank`` is the label of the form's empty option (None: no empty option).
    choices: tuple[tuple[str, Any], ...] = ()
    blank: Any = None
    # The value stored when the field is left empty (poverty status: "unknown").
    default: Any = None
    # The model attribute; None keeps the value in ``Client.extra[name]``.
    attribute: str | None = ""
    # Text: at most this many characters (default: the model column's length).
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    pattern: str | None = None
    # A message for a bad value instead of the type's own (an integer out of range, say).
    message: Any = None
    description: Any = None
    # Other fields this one is checked against; the validator reads those first.
    depends_on: tuple[str, ...] = ()
    # A yes that only a person of this sex may have (pregnant: female).
    only_for_sex: str | None = None
    edit_roles: frozenset[str] = WRITERS
    # The name in a programme's ``shared_fields`` (None: never shown to an agency), its label there,
    # and whether an administrator may offer it (some keep a label for older catalogues only).
    share_key: str | None = None
    share_label: Any = None
    shareable: bool = True
    # Personal: masked in the audit log's record of changes.
    personal: bool = False
    merge: str = FILL
    # The file columns the importer reads it from (None: the field's name; (): not imported).
    import_columns: tuple[str, ...] | None = None
    # The dashboard filters and counts by it (its values are copied into the facts, reports/models.py).
    report: ReportDimension | None = None
    # The form's section: identity, contact, situation or consent.
    section: str = "situation"
    # Within its section the form shows fields by this number, then in the table's order (the ID
    # after name, sex and birth date, while files and the API list it first).
    form_order: int = 0
    render_kw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def stored_as(self) -> str | None:
        """The model attribute holding the value (None: ``Client.extra``)."""
        if self.attribute == "":
            return self.name
        return self.attribute

    @property
    def length_limit(self) -> int | None:
        """The most characters a text may have: given, or the model column's (srs/core/lengths.py)."""
        if self.max_length is not None:
            return self.max_length
        attribute = self.stored_as
        if attribute is None or self.type not in ("text", "name"):
            return None
        column = getattr(Client, attribute)
        if not isinstance(column.property.columns[0].type, String):
            return None
        return column_length(column)

    @property
    def columns(self) -> tuple[str, ...]:
        """The importer's columns for this field."""
        if self.import_columns is None:
            return (self.name,)
        return self.import_columns

    def is_empty(self, value: Any) -> bool:
        """No value, for a merge: None, an empty list, or the field's default."""
        return value is None or value == [] or (self.default is not None and value == self.default)

    def read(self, client: Client) -> Any:
        """The stored value (model attribute or ``extra``), as Python keeps it."""
        attribute = self.stored_as
        if attribute is None:
            return (client.extra or {}).get(self.name)
        return getattr(client, attribute)

    def write(self, client: Client, value: Any) -> None:
        attribute = self.stored_as
        if attribute is None:
            # A new dict: the JSON column notices a replaced value, not a changed one.
            client.extra = {**(client.extra or {}), self.name: value}
        else:
            setattr(client, attribute, value)

    @property
    def report_dimension(self) -> bool:
        return self.report is not None

    def choice_values(self) -> tuple[str, ...]:
        return tuple(value for value, _label in self.choices)


YES_NO = (("yes", _l("Yes")), ("no", _l("No")))

CLIENT_FIELDS: tuple[ClientField, ...] = (
    ClientField(
        "id_type",
        _l("ID type"),
        "id_type",
        choices=(
            ("nik", _l("NIK (Indonesia)")),
            ("vn_pid", _l("Personal ID number (Viet Nam)")),
            ("none", _l("No ID with them (follow up later)")),
        ),
        default="none",
        section="identity",
        form_order=1,
        merge=ID,
        share_key="id_type",
        share_label=_l("ID type"),
        shareable=False,
    ),
    ClientField(
        "id_number",
        _l("ID number"),
        "id_number",
        description=_l("NIK: 16 digits. Viet Nam: 12 digits. Checked against birth date and sex."),
        depends_on=("id_type", "date_of_birth", "sex", "region_code"),
        section="identity",
        form_order=1,
        merge=ID,
        personal=True,
        share_key="id_number",
        share_label=_l("ID number"),
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    ),
    ClientField(
        "full_name",
        _l("Full name"),
        "name",
        required=True,
        section="identity",
        merge=KEEP,
        share_key="full_name",
        share_label=_l("Name"),
        render_kw={"autocomplete": "off", "required": True},
    ),
    ClientField(
        "sex",
        _l("Sex"),
        "choice",
        required=True,
        choices=(("female", _l("Female")), ("male", _l("Male"))),
        blank=_l("Choose…"),
        section="identity",
        merge=KEEP,
        share_key="sex",
        share_label=_l("Sex"),
        report=ReportDimension(_l("Sex"), error=_l("Choose female or male.")),
    ),
    ClientField(
        "date_of_birth",
        _l("Date of birth"),
        "birth_date",
        required=True,
        section="identity",
        merge=KEEP,
        share_key="date_of_birth",
        share_label=_l("Date of birth"),
        report=ReportDimension(_l("Age reached this year"), error=_l("Choose one of the age groups.")),
        render_kw={"type": "date", "required": True},
    ),
    ClientField(
        "phone",
        _l("Phone"),
        "phone",
        # What a person types (spaces, a leading 0); stored as E.164 in the 20-character column.
        max_length=40,
        depends_on=("region_code",),
        section="contact",
        personal=True,
        share_key="phone",
        share_label=_l("Phone"),
        render_kw={"type": "tel", "inputmode": "tel"},
    ),
    ClientField(
        "region_code",
        _l("Village / commune"),
        "region",
        required=True,
        attribute="region_id",
        max_length=32,
        section="contact",
        merge=KEEP,
        share_key="region",
        share_label=_l("Region"),
    ),
    ClientField(
        "address",
        _l("Address"),
        "text",
        section="contact",
        share_key="address",
        share_label=_l("Address"),
    ),
    ClientField(
        "occupation",
        _l("Occupation"),
        "text",
        share_key="occupation",
        share_label=_l("Occupation"),
    ),
    ClientField(
        "work_status",
        _l("Work status"),
        "choice",
        choices=(
            ("informal", _l("Informal worker")),
            ("self_employed", _l("Self-employed")),
            ("msme_worker", _l("Works in a micro or small business")),
            ("unemployed", _l("Unemployed")),
            ("formal", _l("Formal employee")),
        ),
        blank=_l("Unknown"),
        share_key="work_status",
        share_label=_l("Work status"),
        report=ReportDimension(
            _l("Work status"),
            values=(
                ("informal", _l("Informal")),
                ("self_employed", _l("Self-employed")),
                ("msme_worker", _l("MSME worker")),
                ("unemployed", _l("Unemployed")),
                ("formal", _l("Formal")),
            ),
            error=_l("Choose one of the work statuses."),
        ),
    ),
    ClientField(
        "monthly_income",
        _l("Monthly income"),
        "integer",
        minimum=0,
        maximum=10**13,  # far above any monthly income in IDR or VND; keeps the number in a BIGINT
        message=_l("Must be a whole number of 0 or more, in the country's currency unit (no decimals)."),
        description=_l("Whole number in the country's currency (IDR, VND)."),
        share_key="monthly_income",
        share_label=_l("Monthly income"),
        render_kw={"inputmode": "numeric"},
    ),
    ClientField(
        "household_size",
        _l("Household size"),
        "integer",
        minimum=1,
        maximum=50,
        share_key="household_size",
        share_label=_l("Household size"),
        render_kw={"inputmode": "numeric"},
    ),
    ClientField(
        "disability",
        _l("Living with a disability"),
        "boolean",
        share_key="disability",
        share_label=_l("Disability"),
        report=ReportDimension(
            _l("Disability"),
            values=(("yes", _l("With a disability")), ("no", _l("Without"))),
            error=_l("Choose yes or no."),
        ),
    ),
    ClientField(
        "in_education",
        _l("In education"),
        "boolean",
        share_key="in_education",
        share_label=_l("In education"),
    ),
    ClientField(
        "pregnant",
        _l("Pregnant"),
        "boolean",
        depends_on=("sex",),
        only_for_sex="female",
        share_key="pregnant",
        share_label=_l("Pregnant"),
        shareable=False,
        # Recorded at the office, never taken from a survey file.
        import_columns=(),
    ),
    ClientField(
        "ethnic_minority",
        _l("Belongs to an ethnic minority"),
        "boolean",
        description=_l(
            "Sensitive: recorded only as the person says, shared only with a programme that needs it "
            "(Viet Nam voluntary social insurance: state support of 30%)."
        ),
        # Special-category data in both laws: masked in the audit log's record of changes, and no
        # agency sees it unless its programme lists it.
        personal=True,
        share_key="ethnic_minority",
        share_label=_l("Ethnic minority"),
    ),
    ClientField(
        "poverty_status",
        _l("Poverty status"),
        "choice",
        choices=(
            ("unknown", _l("Unknown")),
            ("poor", _l("Poor")),
            ("near_poor", _l("Near-poor")),
            ("not_poor", _l("Not poor")),
        ),
        default="unknown",
        share_key="poverty_status",
        share_label=_l("Poverty status"),
    ),
    ClientField(
        "welfare_decile",
        _l("Welfare decile (1-10)"),
        "integer",
        minimum=1,
        maximum=10,
        share_key="welfare_decile",
        share_label=_l("Welfare decile"),
        render_kw={"inputmode": "numeric"},
    ),
    ClientField(
        "welfare_source",
        _l("Source of the poverty status"),
        "text",
        description=_l("For example DTSEN."),
    ),
    ClientField(
        "welfare_date",
        _l("Date of the poverty status"),
        "date",
        render_kw={"type": "date"},
    ),
    ClientField(
        "enrolments",
        _l("Programmes already held"),
        "codes",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,39}$",
        maximum=50,  # codes in the list
        description=_l("Programme codes separated by commas."),
        merge=UNION,
        share_key="enrolments",
        share_label=_l("Enrolments"),
    ),
    ClientField(
        "consent",
        _l("Consent"),
        "consent",
        required=True,
        attribute="consent_given",
        max_length=300,  # the scope's text (consent_scope)
        depends_on=("date_of_birth",),
        section="consent",
        merge=CONSENT,
        import_columns=("consent_given", "consent_date", "consent_scope"),
    ),
)


def client_fields() -> tuple[ClientField, ...]:
    """The table as it is now (read at call time, so a test's replacement is seen everywhere)."""
    return CLIENT_FIELDS


def get_field(name: str) -> ClientField:
    for f in client_fields():
        if f.name == name:
            return f
    raise KeyError(name)


def input_names() -> tuple[str, ...]:
    """The fields of the API's input, in order."""
    return tuple(f.name for f in client_fields())


def import_columns() -> tuple[str, ...]:
    """The importer's file columns, in order."""
    return tuple(column for f in client_fields() for column in f.columns)


def required_import_columns() -> tuple[str, ...]:
    """Columns a file must have: the required fields read from one column of their own."""
    return tuple(
        column for f in client_fields() if f.required and len(f.columns) == 1 for column in f.columns
    )


def shared_field_choices() -> tuple[str, ...]:
    """What a programme may share with its agency (the catalogue's ``shared_fields``)."""
    return tuple(f.share_key for f in client_fields() if f.share_key and f.shareable)


def shared_field_options() -> list[tuple[str, Any]]:
    """(name, label) of what a programme may share, for the catalogue's form."""
    return [(f.share_key, f.share_label) for f in client_fields() if f.share_key and f.shareable]


def share_labels() -> dict[str, Any]:
    """Every sharing name an agency's view can show, with its label."""
    return {f.share_key: f.share_label for f in client_fields() if f.share_key}


def field_by_share_key(key: str) -> ClientField | None:
    return next((f for f in client_fields() if f.share_key == key), None)


def report_dimensions() -> tuple[ClientField, ...]:
    """The fields the dashboard filters by."""
    return tuple(f for f in client_fields() if f.report_dimension)


def personal_fields() -> frozenset[str]:
    return frozenset(f.name for f in client_fields() if f.personal)


def may_edit(f: ClientField, role: str | None) -> bool:
    return policies.role_may_edit_field(role, f)


def iso_or_none(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def api_value(f: ClientField, client: Client) -> Any:
    """The stored value in the API's shape (dates as ISO text, the region by its code)."""
    if f.type == "region":
        return client.region.code if client.region else None
    if f.type == "consent":
        return {
            "given": client.consent_given,
            "date": iso_or_none(client.consent_date),
            "scope": client.consent_scope,
        }
    if f.type == "codes":
        return list(f.read(client) or [])
    return iso_or_none(f.read(client))


def _json_type(f: ClientField) -> dict[str, Any]:
    nullable = not f.required
    if f.type == "integer":
        schema: dict[str, Any] = {"type": ["integer", "null"] if nullable else "integer"}
    elif f.type == "boolean":
        schema = {"type": ["boolean", "null"] if nullable else "boolean"}
    elif f.type in ("date", "birth_date"):
        schema = {"type": ["string", "null"] if nullable else "string", "format": "date"}
    elif f.type == "codes":
        item: dict[str, Any] = {"type": "string"}
        if f.pattern:
            item["pattern"] = f.pattern
        schema = {"type": "array", "items": item}
    else:
        schema = {"type": ["string", "null"] if nullable and not f.choices else "string"}
    return schema


def json_schema(f: ClientField) -> dict[str, Any]:
    """The field as a JSON Schema property (the OpenAPI document's client input)."""
    if f.type == "consent":
        return {
            "type": "object",
            "required": ["given"],
            "properties": {
                "given": {"type": "boolean"},
                "date": {"type": ["string", "null"], "format": "date"},
                "scope": {"type": ["string", "null"], "maxLength": f.length_limit},
            },
        }
    schema = _json_type(f)
    if f.choices:
        values: list[Any] = list(f.choice_values())
        if not f.required and f.default is None:
            schema["type"] = ["string", "null"]
            values.append(None)
        schema["enum"] = values
    if f.length_limit is not None and f.type != "codes":
        schema["maxLength"] = f.length_limit
    if f.required and schema.get("type") == "string" and not f.choices:
        schema["minLength"] = 1  # the validator refuses a required field left empty
    if f.type == "integer":
        if f.minimum is not None:
            schema["minimum"] = f.minimum
        if f.maximum is not None:
            schema["maximum"] = f.maximum
    if f.type == "codes" and f.maximum is not None:
        schema["maxItems"] = f.maximum
    if f.type == "id_number":
        schema["description"] = "Checked against id_type's structure (GET /fields/clients: id_rules)"
    if f.description:
        schema.setdefault("description", str(f.description))
    return schema


def input_schema() -> dict[str, Any]:
    """The client's input object as JSON Schema."""
    return {
        "type": "object",
        "required": [f.name for f in client_fields() if f.required],
        "properties": {f.name: json_schema(f) for f in client_fields()},
    }


def describe(f: ClientField, role: str | None) -> dict[str, Any]:
    """One field for ``GET /api/v1/fields/clients``: labels in the request's language, rules as data."""
    out: dict[str, Any] = {
        "name": f.name,
        "label": str(f.label),
        "type": f.type,
        "required": f.required,
        "editable": may_edit(f, role),
        "choices": [{"value": value, "label": str(label)} for value, label in f.choices],
        "default": f.default,
        "max_length": f.length_limit,
        "min": f.minimum,
        "max": f.maximum,
        "pattern": f.pattern,
        "depends_on": list(f.depends_on),
        "only_for_sex": f.only_for_sex,
        "description": str(f.description) if f.description else None,
        "personal": f.personal,
        "shareable": bool(f.share_key and f.shareable),
        "import_columns": list(f.columns),
        "report_dimension": f.report_dimension,
    }
    if f.type == "boolean":
        out["choices"] = [{"value": value, "label": str(label)} for value, label in YES_NO]
    if f.type == "id_number":
        out["id_rules"] = id_rules()
    if f.type == "birth_date":
        out["max_age"] = MAX_AGE
    if f.type == "phone":
        out["phone_rules"] = phone_rules()
    return out


def describe_all(role: str | None) -> dict[str, Any]:
    """The whole table for a form that checks input itself (the API's and the offline app's)."""
    return {"locale": str(get_locale()), "items": [describe(f, role) for f in client_fields()]}


def phone_rules() -> dict[str, Any]:
    """Per country the phone numbers the server's check (phonenumbers' metadata) can accept.

    Taken from the same metadata ``normalise.parse_phone`` validates with, so an offline form checks
    what the server checks: a number is the national number after the calling code (typed with
    ``+``) or after the national prefix, and must fully match one of the patterns.
    """
    rules: dict[str, Any] = {}
    for country in PHONE_COUNTRIES:
        meta = phonenumbers.PhoneMetadata.metadata_for_region(country)
        if meta is None:
            continue
        kinds = (meta.fixed_line, meta.mobile, meta.toll_free, meta.voip, meta.personal_number, meta.uan)
        rules[country] = {
            "calling_code": str(meta.country_code),
            "national_prefix": meta.national_prefix or "",
            "patterns": [k.national_number_pattern for k in kinds if k and k.national_number_pattern],
            "lengths": sorted({n for k in kinds if k for n in (k.possible_length or ())}),
        }
    return rules


def id_rules() -> dict[str, Any]:
    """The structure of each ID type's number (idnumbers.ID_NUMBER_RULES), labels translated."""
    return {id_type: {**rule, "label": str(rule["label"])} for id_type, rule in ID_NUMBER_RULES.items()}

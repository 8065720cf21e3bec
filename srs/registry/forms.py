"""Forms of the registry. They only carry what was typed: the service validates every field."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.widgets import CheckboxInput, ListWidget

from srs.core.ids import parse_id
from srs.registry import fields
from srs.registry.models import RELATIONSHIPS

YES_NO = [("", _l("Unknown")), *fields.YES_NO]


def _choices(f: fields.ClientField) -> list[tuple[str, Any]]:
    """A choice field's options as the form offers them (the empty one first, when it has one)."""
    return ([("", f.blank)] if f.blank is not None else []) + list(f.choices)


# The table's choices (srs/registry/fields.py), for pages that show a stored value's label.
ID_TYPE_CHOICES = _choices(fields.get_field("id_type"))
SEX_CHOICES = _choices(fields.get_field("sex"))
WORK_CHOICES = _choices(fields.get_field("work_status"))
POVERTY_CHOICES = _choices(fields.get_field("poverty_status"))
RELATIONSHIP_LABELS = {
    "head": _l("Head of household"),
    "spouse": _l("Spouse"),
    "child": _l("Child"),
    "parent": _l("Parent"),
    "sibling": _l("Brother or sister"),
    "grandchild": _l("Grandchild"),
    "other_relative": _l("Other relative"),
    "other": _l("Other"),
}

MEMBER_RELATIONSHIP_CHOICES = [(r, RELATIONSHIP_LABELS[r]) for r in RELATIONSHIPS if r != "head"]


class ClientForm(FlaskForm):
    """Register or edit a client; field names follow the API (consent fields flattened).

    The client's own fields are added from the table by ``client_form``; this class holds what the
    form adds around them (version, consent's three inputs, the household choice).
    """

    if TYPE_CHECKING:
        # The table's fields, added by client_form_class(): to the type checker, any field name.
        def __getattr__(self, name: str) -> Any: ...

    version = HiddenField()
    consent_given = BooleanField(_l("The person consents to their data being used and shared"))
    consent_date = StringField(_l("Date of consent"), render_kw={"type": "date"})
    consent_scope = TextAreaField(
        _l("What the consent covers"),
        default=_l("Screening and referral to social protection and employment programmes"),
    )
    household_choice = SelectField(
        _l("Household"),
        choices=[
            ("", _l("Not recorded now (add it later on the profile)")),
            ("new", _l("Head of a new household")),
            ("join", _l("Member of a registered household")),
        ],
        validate_choice=False,
    )
    household_id = StringField(
        _l("Household number"),
        description=_l("Shown on the profile of any member of that household."),
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    household_relationship = SelectField(
        _l("Relationship to the head"), choices=MEMBER_RELATIONSHIP_CHOICES, validate_choice=False
    )
    confirm_not_duplicate = BooleanField(_l("I checked the records above: this is a different person"))

    def section(self, name: str) -> list[Any]:
        """The bound fields of the table's section ``name``, in the table's order."""
        shown = [f for f in fields.client_fields() if f.section == name and f.type != "consent"]
        return [self[f.name] for f in sorted(shown, key=lambda f: f.form_order)]

    def to_input(self) -> dict[str, Any]:
        """What was typed, in the API's input shape."""
        data: dict[str, Any] = {
            f.name: getattr(self, f.name).data
            for f in fields.client_fields()
            if f.type != "consent"  # a group of three fields on the form, gathered below
        }
        data["consent"] = {
            "given": bool(self.consent_given.data),
            "date": self.consent_date.data,
            "scope": self.consent_scope.data,
        }
        if self.household_choice.data == "new":
            data["household"] = {"new": True}
        elif self.household_choice.data == "join":
            number = (self.household_id.data or "").strip().lstrip("#")
            household_id = parse_id(number)
            data["household"] = {
                # Anything but an id (text, a number past any id) goes on as typed for the service to refuse.
                "household_id": household_id if household_id is not None else number or None,
                "relationship_to_head": self.household_relationship.data,
            }
        return data

    def fill_from(self, values: dict[str, Any]) -> None:
        """Show a client's stored values (the API's input shape) in the form."""
        bools = {True: "yes", False: "no", None: ""}
        booleans = {f.name for f in fields.client_fields() if f.type == "boolean"}
        for name, value in values.items():
            if name == "consent":
                self.consent_given.data = bool(value.get("given"))
                self.consent_date.data = value.get("date") or ""
                self.consent_scope.data = value.get("scope") or ""
            elif name == "enrolments":
                self.enrolments.data = ", ".join(value or [])
            elif name in booleans:
                getattr(self, name).data = bools[value]
            elif hasattr(self, name):
                getattr(self, name).data = "" if value is None else str(value)


def _form_field(f: fields.ClientField) -> Any:
    """The WTForms field of one row of the table (it only carries what was typed)."""
    kw: dict[str, Any] = {"description": f.description or "", "render_kw": dict(f.render_kw)}
    if f.type == "boolean":
        return SelectField(f.label, choices=YES_NO, validate_choice=False, **kw)
    if f.type in ("choice", "id_type"):
        return SelectField(f.label, choices=_choices(f), validate_choice=False, **kw)
    if f.type == "region":
        return SelectField(f.label, choices=[], validate_choice=False, **kw)  # the view fills the regions
    if f.type in ("date", "birth_date"):
        kw["render_kw"].setdefault("type", "date")
    return StringField(f.label, **kw)


_FORM_CLASSES: dict[int, type[ClientForm]] = {}


def client_form_class() -> type[ClientForm]:
    """ClientForm with a field for each row of the table (built once per table)."""
    table = fields.client_fields()
    key = id(table)
    if key not in _FORM_CLASSES:
        attrs = {f.name: _form_field(f) for f in table if f.type != "consent"}
        _FORM_CLASSES.clear()  # one table at a time (a test's replacement, then the real one again)
        _FORM_CLASSES[key] = type("TableClientForm", (ClientForm,), attrs)
    return _FORM_CLASSES[key]


def client_form(**kwargs: Any) -> ClientForm:
    """The registration and edit form of the current table."""
    return client_form_class()(**kwargs)


# Errors the service reports under API names, shown next to the flattened form fields.
FIELD_MAP = {
    "consent.given": "consent_given",
    "consent.date": "consent_date",
    "consent.scope": "consent_scope",
    "household.household_id": "household_id",
    "household.relationship_to_head": "household_relationship",
    "household.members": "household_choice",
    "household.new": "household_choice",
    "household": "household_choice",
}


class MemberForm(FlaskForm):
    """Add or edit a household member: a registered client (by number) or their own facts."""

    member_client_id = StringField(
        _l("Registered client number"),
        description=_l("If the member is already registered, their client number; else fill in below."),
        render_kw={"inputmode": "numeric"},
    )
    full_name = StringField(_l("Full name"))
    relationship_to_head = SelectField(
        _l("Relationship to the head"), choices=MEMBER_RELATIONSHIP_CHOICES, validate_choice=False
    )
    sex = SelectField(_l("Sex"), choices=SEX_CHOICES, validate_choice=False)
    date_of_birth = StringField(_l("Date of birth"), render_kw={"type": "date"})
    disability = SelectField(_l("Living with a disability"), choices=YES_NO, validate_choice=False)
    in_education = SelectField(_l("In education"), choices=YES_NO, validate_choice=False)
    pregnant = SelectField(_l("Pregnant"), choices=YES_NO, validate_choice=False)

    def fill_from(self, values: dict[str, Any]) -> None:
        """Show a member's stored facts (services.member_input) in the form."""
        bools = {True: "yes", False: "no", None: ""}
        for name, value in values.items():
            if name in ("disability", "in_education", "pregnant"):
                getattr(self, name).data = bools[value]
            else:
                getattr(self, name).data = "" if value is None else str(value)


class RemoveMemberForm(FlaskForm):
    """The CSRF token of the remove button."""


class HeadForm(FlaskForm):
    """Make another member the head of the household (choices: the members who may be)."""

    member_id = SelectField(_l("New head of household"), choices=[], validate_choice=False)


class MoveForm(FlaskForm):
    """Move the client into another household (or into one, if they have none)."""

    household_id = StringField(
        _l("Household number"),
        description=_l("Shown on the profile of any member of that household."),
        render_kw={"inputmode": "numeric"},
    )
    relationship_to_head = SelectField(
        _l("Relationship to the head"), choices=MEMBER_RELATIONSHIP_CHOICES, validate_choice=False
    )


class ImportForm(FlaskForm):
    file = FileField(
        _l("CSV or Excel file"),
        validators=[FileRequired()],
        description=_l("UTF-8 CSV or .xlsx with the columns of the sample file."),
    )


class _Checkboxes(SelectMultipleField):
    """Several choices as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ConsentForm(FlaskForm):
    """Record a consent on the profile: date, what it covers, for which agencies, and the evidence."""

    given_on = StringField(_l("Date of consent"), render_kw={"type": "date"})
    scope = TextAreaField(
        _l("What the consent covers"),
        description=_l("In the person's words or the form's: the data, the purposes and who may receive it."),
    )
    purposes = _Checkboxes(_l("Purposes"), choices=[], validate_choice=False)
    all_agencies = RadioField(
        _l("Agencies"),
        choices=[("all", _l("Every agency SRS refers to")), ("listed", _l("Only the agencies ticked below"))],
        default="all",
        validate_choice=False,
    )
    agencies = _Checkboxes(_l("Agencies it covers"), choices=[], validate_choice=False)
    evidence = FileField(
        _l("Signed form (optional)"), description=_l("A scan or photo of the signed form: PDF, PNG or JPEG.")
    )


class WithdrawConsentForm(FlaskForm):
    """Withdraw the current consent (what the person said, why)."""

    reason = TextAreaField(_l("Reason or the person's words (optional)"))

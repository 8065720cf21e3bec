"""Forms for agencies, programmes, catalogue import and rule editing."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Optional

from srs.agencies.models import Agency
from srs.core.lengths import ColumnLength, MaxLength
from srs.programmes.enrolments import FUNCTION_LABELS
from srs.programmes.models import FUNCTIONS, PROGRAMME_KINDS, Programme
from srs.registry.fields import shared_field_options

CHANNEL_CHOICES = [
    ("inbox", _l("In SRS (agency inbox)")),
    ("webhook", _l("Signed webhook")),
    ("email", _l("E-mail")),
]
COUNTRY_CHOICES = [("ID", _l("Indonesia")), ("VN", _l("Viet Nam"))]
KIND_LABELS = {
    "social_insurance": _l("Social insurance"),
    "health_insurance": _l("Health insurance"),
    "social_assistance": _l("Social assistance"),
    "employment_service": _l("Employment service"),
    "training": _l("Training"),
}
KIND_CHOICES = [(k, KIND_LABELS[k]) for k in PROGRAMME_KINDS]


class AgencyForm(FlaskForm):
    code = StringField(
        _l("Code"), validators=[ColumnLength(Agency.code)], description=_l("Capital letters, e.g. BPJSTK")
    )
    name = StringField(_l("Name"), validators=[ColumnLength(Agency.name)])
    country = SelectField(_l("Country"), choices=COUNTRY_CHOICES, validate_choice=False)
    contact_email = StringField(_l("E-mail"), validators=[Optional(), ColumnLength(Agency.contact_email)])
    contact_phone = StringField(_l("Phone"), validators=[Optional(), ColumnLength(Agency.contact_phone)])
    address = StringField(
        _l("Address for the public"),
        validators=[Optional(), ColumnLength(Agency.address)],
        description=_l("Shown on the referral letter the person takes to the agency."),
    )
    public_phone = StringField(
        _l("Phone for the public"), validators=[Optional(), ColumnLength(Agency.public_phone)]
    )
    public_email = StringField(
        _l("E-mail for the public"), validators=[Optional(), ColumnLength(Agency.public_email)]
    )
    opening_hours = StringField(
        _l("Opening hours"),
        validators=[Optional(), ColumnLength(Agency.opening_hours)],
        description=_l("For example: Monday to Friday 08:00-16:00"),
    )
    channel = SelectField(_l("Referrals reach the agency by"), choices=CHANNEL_CHOICES, validate_choice=False)
    webhook_url = StringField(
        _l("Webhook address"), validators=[Optional(), ColumnLength(Agency.webhook_url)]
    )
    webhook_secret = PasswordField(
        _l("Webhook secret"),
        validators=[Optional(), ColumnLength(Agency.webhook_secret)],
        description=_l("Leave empty to keep the stored secret."),
    )
    response_days = IntegerField(_l("Response deadline (working days)"), validators=[Optional()], default=10)
    active = BooleanField(_l("Active"), default=True)


class ProgrammeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[ColumnLength(Programme.code)], description=_l("e.g. ID-PKH"))
    name_en = StringField(_l("Name (English)"), validators=[MaxLength(200)])
    name_id = StringField(_l("Name (Bahasa Indonesia)"), validators=[Optional(), MaxLength(200)])
    name_vi = StringField(_l("Name (Tiếng Việt)"), validators=[Optional(), MaxLength(200)])
    agency = SelectField(_l("Agency"), choices=[], validate_choice=False)
    country = SelectField(_l("Country"), choices=COUNTRY_CHOICES, validate_choice=False)
    kind = SelectField(_l("Kind"), choices=KIND_CHOICES, validate_choice=False)
    description = TextAreaField(_l("Description (English)"), validators=[Optional(), MaxLength(4000)])
    benefit = TextAreaField(_l("Benefit (English)"), validators=[Optional(), MaxLength(4000)])
    required_documents = TextAreaField(
        _l("Required documents"), validators=[Optional()], description=_l("One per line.")
    )
    shared_fields = SelectMultipleField(
        _l("Client fields the agency may see"),
        choices=[],  # the table's shareable fields, set when the form is made
        validate_choice=False,
    )
    active = BooleanField(_l("Active"), default=True)
    active_from = DateField(_l("Active from"), validators=[Optional()])
    active_to = DateField(_l("Active until"), validators=[Optional()])
    functions = SelectMultipleField(
        _l("Social protection functions (ILO)"),
        choices=[(f, FUNCTION_LABELS[f]) for f in FUNCTIONS],
        validate_choice=False,
        description=_l("What the programme covers; the coverage figures count it under each."),
    )
    contributory = BooleanField(
        _l("Contributory"), description=_l("The person pays contributions (social insurance).")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shared_fields.choices = shared_field_options()


class ImportForm(FlaskForm):
    file = FileField(_l("Catalogue file (YAML)"))


class EmptyForm(FlaskForm):
    """Only the CSRF token (buttons that post)."""


class EnrolmentForm(FlaskForm):
    """Recording on the profile that the person is covered by a programme."""

    programme = SelectField(_l("Programme"), choices=[], validate_choice=False)
    start_on = DateField(_l("Covered from"), validators=[Optional()])
    end_on = DateField(_l("Covered until"), validators=[Optional()], description=_l("Leave empty if open."))


class EndEnrolmentForm(FlaskForm):
    end_on = DateField(_l("Last day covered"), validators=[Optional()])


class RateForm(FlaskForm):
    """A draft of a programme's rate table: its scheme, the table as JSON, when and where from."""

    scheme = SelectField(
        _l("Rate scheme"),
        choices=[
            ("bpjstk_bpu", _l("BPJS Ketenagakerjaan BPU (JKK, JKM, JHT)")),
            ("jkn", _l("JKN classes")),
            ("vn_voluntary_si", _l("Viet Nam voluntary social insurance")),
            ("vn_household_hi", _l("Viet Nam household health insurance")),
        ],
    )
    currency = SelectField(_l("Currency"), choices=[("IDR", "IDR"), ("VND", "VND")])
    effective_from = DateField(_l("Takes effect on"), validators=[Optional()])
    source = TextAreaField(_l("Regulation the rates come from"), validators=[MaxLength(2000)])
    params = TextAreaField(_l("Rate table (JSON)"), validators=[MaxLength(20000)])
    note = TextAreaField(_l("Note"), validators=[MaxLength(2000)])

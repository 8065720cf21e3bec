"""Forms of the DCI pages: partners and national registries (admin), registry checks and civil events."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DecimalField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from srs.dci.vocabulary import ATTRIBUTES, ID_TYPES, RECORD_FIELDS


class _Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


SENSITIVE = _l("sensitive")


def _label(text: object, sensitive: bool) -> str:
    return f"{text} ({SENSITIVE})" if sensitive else str(text)


class PartnerForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[Optional(), Length(max=200)])
    name = StringField(_l("Name of the partner system"), validators=[DataRequired(), Length(max=200)])
    sender_id = StringField(
        _l("Sender id"),
        validators=[DataRequired(), Length(max=120)],
        description=_l("What the partner puts in header.sender_id, for example spmis.example.org."),
    )
    id_types = _Checkboxes(_l("Identifier types it may search by"), choices=[], validate_choice=False)
    attributes = _Checkboxes(
        _l("Attributes it may query"),
        choices=[],
        validate_choice=False,
        description=_l("Sensitive attributes let a partner learn, one query at a time, who has them."),
    )
    record_fields = _Checkboxes(_l("Record fields it receives"), choices=[], validate_choice=False)
    callback_bases = TextAreaField(
        _l("Callback base addresses"),
        validators=[Optional(), Length(max=4000)],
        description=_l("One per line, ending with a slash; SRS calls the partner back only under these."),
    )
    public_key = TextAreaField(
        _l("Ed25519 public key (optional)"),
        validators=[Optional(), Length(max=4000)],
        description=_l(
            "PEM, JWK or base64 of the 32 bytes. With a key, every request must be signed with it."
        ),
    )
    active = BooleanField(_l("Active"), default=True)

    def fill_choices(self) -> None:
        self.id_types.choices = [(code, str(t.label)) for code, t in ID_TYPES.items()]
        self.attributes.choices = [
            (name, _label(a.label, a.sensitive) + f" — {name}") for name, a in ATTRIBUTES.items()
        ]
        self.record_fields.choices = [
            (code, _label(f.label, f.sensitive)) for code, f in RECORD_FIELDS.items()
        ]


class RegistryForm(FlaskForm):
    """A national registry SRS asks as a DCI client."""

    kind = SelectField(
        _l("Kind"),
        choices=[
            ("social", _l("Social Registry (welfare database)")),
            ("crvs", _l("Civil registry (births and deaths)")),
        ],
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    country = SelectField(_l("Country"), choices=[("ID", _l("Indonesia")), ("VN", _l("Viet Nam"))])
    base_url = StringField(
        _l("Base URL"),
        validators=[DataRequired(), Length(max=500)],
        description=_l(
            "SRS calls <base URL>/registry/sync/search, /registry/search and /registry/subscribe."
        ),
    )
    receiver_id = StringField(
        _l("Receiver id"), validators=[DataRequired(), Length(max=120)], description=_l("header.receiver_id")
    )
    auth_token = PasswordField(
        _l("Bearer token"),
        validators=[Optional(), Length(max=500)],
        description=_l("Leave empty to keep the saved one."),
    )
    public_key = TextAreaField(
        _l("The registry's public key (Ed25519, optional)"),
        validators=[Optional(), Length(max=2000)],
        description=_l("When given, every answer and callback must carry the registry's signature."),
    )
    timeout_seconds = DecimalField(
        _l("Timeout (seconds)"), places=1, default=Decimal(5), validators=[NumberRange(min=0.5, max=60)]
    )
    answers_async = BooleanField(_l("Answers by callback (asynchronous search)"))
    active = BooleanField(_l("Active"), default=True)


class TakeOverForm(FlaskForm):
    fields = _Checkboxes(_l("Take over"), choices=[], validate_choice=False)


class CivilEventForm(FlaskForm):
    outcome = TextAreaField(_l("What was done"), validators=[DataRequired(), Length(max=500)])

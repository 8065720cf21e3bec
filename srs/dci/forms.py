"""The administrator's form for a DCI partner."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional
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

"""Forms for signing in and for user administration."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

ROLE_CHOICES = [
    ("officer", _l("District officer")),
    ("agency_staff", _l("Agency staff")),
    ("supervisor", _l("Supervisor")),
    ("admin", _l("Administrator")),
    ("partner", _l("Partner system (DCI)")),
]
LOCALE_CHOICES = [
    ("", _l("Browser language")),
    ("en", "English"),
    ("id", "Bahasa Indonesia"),
    ("vi", "Tiếng Việt"),
]


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class UserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    email = StringField(
        _l("E-mail"), validators=[Optional(), Email(check_deliverability=False), Length(max=200)]
    )
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, validate_choice=False)
    regions = SelectMultipleField(
        _l("Regions"),
        choices=[],
        validate_choice=False,
        description=_l("Officers and supervisors see clients in these regions and below."),
    )
    agency = SelectField(
        _l("Agency"), choices=[], validate_choice=False, description=_l("Only for agency staff.")
    )
    locale = SelectField(_l("Language"), choices=LOCALE_CHOICES, validate_choice=False)
    password = PasswordField(_l("Password"), validators=[Optional(), Length(max=200)])
    active = BooleanField(_l("Active"), default=True)


class PasswordResetForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])


class AccountLanguageForm(FlaskForm):
    locale = SelectField(_l("Language"), choices=LOCALE_CHOICES, validate_choice=True)


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    confirm_password = PasswordField(_l("New password again"), validators=[DataRequired(), Length(max=200)])


class LanguageForm(FlaskForm):
    lang = SelectField(_l("Language"), choices=LOCALE_CHOICES[1:])

"""Forms of the referral pages: create from a screening, agency decisions, cancel."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, SelectMultipleField, TextAreaField
from wtforms.validators import DataRequired, Optional

from srs.core.lengths import MaxLength
from srs.referrals.services import DECLINE_REASONS, OUTCOMES


class CreateReferralsForm(FlaskForm):
    client_id = HiddenField(validators=[DataRequired()])
    screening_id = HiddenField()
    programmes = SelectMultipleField(_l("Refer to"), coerce=int, choices=[], validate_choice=False)
    note = TextAreaField(_l("Note for the agency"), validators=[Optional(), MaxLength(2000)])
    consent = BooleanField(_l("The client agreed to share their data with these agencies"))
    consent_override_reason = TextAreaField(
        _l("Supervisor's override: why refer without consent"), validators=[Optional(), MaxLength(1000)]
    )


class _VersionedForm(FlaskForm):
    version = IntegerField(validators=[Optional()])
    note = TextAreaField(_l("Note"), validators=[Optional(), MaxLength(2000)])


class AcceptForm(_VersionedForm):
    pass


class DeclineForm(_VersionedForm):
    reason = SelectField(
        _l("Reason"),
        choices=[("", _l("Choose a reason"))] + list(DECLINE_REASONS.items()),
        validate_choice=False,
    )


class CompleteForm(_VersionedForm):
    outcome = SelectField(
        _l("Outcome"),
        choices=[("", _l("Choose the outcome"))] + list(OUTCOMES.items()),
        validate_choice=False,
    )


class CancelForm(_VersionedForm):
    reason = TextAreaField(_l("Reason for cancelling"), validators=[Optional(), MaxLength(500)])


class PlainForm(FlaskForm):
    """A form with only the CSRF token (retry, requeue)."""

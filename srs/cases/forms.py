"""Forms of the case and complaint pages.

The pages keep their own markup (``templates/cases``), so these forms only read what was posted:
each field holds the submitted text as is (None when it was not sent) and the services check it,
putting their messages by field name next to the inputs. A date that is not a date is reported
here, in the same words, before the service is asked.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import Field

from srs.core import clock


class Posted(Field):
    """The submitted value as text, or None when the field was not sent (the service validates it)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = valuelist[0] if valuelist else None


class CaseForm(FlaskForm):
    """A form of the case pages (the CSRF token is checked app-wide, on every POST)."""

    class Meta:
        csrf = False

    def values(self) -> dict[str, Any]:
        """What was typed, by field name, to show again next to the messages."""
        return {name: field.data for name, field in self._fields.items() if field.data is not None}

    def parsed_date(self, name: str, errors: dict[str, list[str]]) -> date | None:
        """Field ``name`` as a date (None when left empty); a message in ``errors`` when it is none."""
        raw = (self[name].data or "").strip()
        if not raw:
            return None
        try:
            return clock.parse_date(raw)
        except ValueError:
            errors[name] = [_("%(value)s is not a date (use YYYY-MM-DD).", value=raw[:40])]
            return None


class OpenCaseForm(CaseForm):
    officer_id = Posted()


class NoteForm(CaseForm):
    body = Posted()


class TaskForm(CaseForm):
    title = Posted()
    due_on = Posted()
    assignee_id = Posted()


class TaskDoneForm(CaseForm):
    next = Posted()  # "tasks": back to the officer's task list


class GoalForm(CaseForm):
    kind = Posted()
    description = Posted()
    target_on = Posted()


class GoalStatusForm(CaseForm):
    status = Posted()


class HoldForm(CaseForm):
    action = Posted()  # "reopen", or anything else to put the case on hold
    reason = Posted()


class ClosureForm(CaseForm):
    reason = Posted()
    note = Posted()


class ClosureDecisionForm(CaseForm):
    decision = Posted()  # "approve", or anything else to send the case back
    note = Posted()


class ReassignForm(CaseForm):
    officer_id = Posted()


class ComplaintForm(CaseForm):
    client_id = Posted()
    channel = Posted()
    category_id = Posted()
    subject = Posted()
    description = Posted()
    region_id = Posted()
    complainant_name = Posted()
    complainant_phone = Posted()
    received_on = Posted()


class ComplaintStatusForm(CaseForm):
    status = Posted()
    text = Posted()


class FollowupForm(CaseForm):
    kind = Posted()


def category_days_form(category_ids: list[int]) -> CaseForm:
    """The complaint categories' deadlines: one ``days_<id>`` field per category."""

    class CategoryDaysForm(CaseForm):
        pass

    for category_id in category_ids:
        setattr(CategoryDaysForm, f"days_{category_id}", Posted())
    return CategoryDaysForm()

"""Case files: open, note, plan, follow up, hand over and close (with a supervisor's approval).

Services never commit; every change is audited. Scoping: a case lies in its client's region.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, select

from srs.accounts.models import User
from srs.cases import policies
from srs.cases.models import (
    CASE_STATUSES,
    CLOSURE_REASONS,
    GOAL_KINDS,
    GOAL_STATUSES,
    Case,
    CaseNote,
    FollowUpTask,
    PlanGoal,
)
from srs.core import audit, clock
from srs.core.errors import Conflict, NotFound, ValidationFailed
from srs.core.ids import parse_id
from srs.core.lengths import check_length, check_long_text
from srs.extensions import db
from srs.regions.scope import load_in_scope, region_id_condition, region_in_scope
from srs.registry.models import Client


def case_scope(user: User | None = None) -> ColumnElement[bool]:
    """SQL condition: the case lies in the user's regions (by default the current user's)."""
    return region_id_condition(Case.region_id, user)


def load_case(case_id: Any, user: User) -> Case:
    """The case if it lies in ``user``'s scope; NotFound (404) otherwise."""
    return load_in_scope(Case, case_id, user, scope=case_scope(user))


def load_task(case: Case, task_id: Any) -> FollowUpTask:
    """A task of ``case`` (loaded in scope first); NotFound for another case's task."""
    pk = parse_id(task_id)
    task = db.session.get(FollowUpTask, pk) if pk is not None else None
    if task is None or task.case_id != case.id:
        raise NotFound()
    return task


def load_goal(case: Case, goal_id: Any) -> PlanGoal:
    """A goal of ``case``'s plan (loaded in scope first); NotFound for another case's goal."""
    pk = parse_id(goal_id)
    goal = db.session.get(PlanGoal, pk) if pk is not None else None
    if goal is None or goal.case_id != case.id:
        raise NotFound()
    return goal


def case_for_client(client: Client) -> Case | None:
    return db.session.scalar(select(Case).where(Case.client_id == client.id))


def officers_for(case_or_region_id: int) -> list[User]:
    """Active officers whose regions cover the region with id ``case_or_region_id``."""
    from srs.regions.models import Region

    region = db.session.get(Region, case_or_region_id)
    officers = db.session.scalars(
        select(User).where(User.role == "officer", User.active.is_(True)).order_by(User.full_name)
    )
    return [o for o in officers if region is not None and region_in_scope(region, o)]


def _officer(user_id: Any, region_id: int, field: str) -> User:
    pk = parse_id(user_id)
    officer = db.session.get(User, pk) if pk is not None else None
    if officer is None or officer.id not in {o.id for o in officers_for(region_id)}:
        raise ValidationFailed(
            _("Choose an officer who works in the client's region."),
            {field: [_("Choose an officer who works in the client's region.")]},
        )
    return officer


def open_case(client: Client, by: User, officer_id: int | None = None) -> Case:
    """Open the client's case file (one per client), kept by ``officer_id`` or by ``by``."""
    if case_for_client(client) is not None:
        raise Conflict(_("This client already has a case file."))
    officer = _officer(officer_id if officer_id is not None else by.id, client.region_id, "officer_id")
    case = Case(client_id=client.id, region_id=client.region_id, officer_id=officer.id, created_by_id=by.id)
    db.session.add(case)
    db.session.flush()
    audit.record("case.open", "case", case.id, client_id=client.id, officer=officer.username)
    return case


def _text(value: str | None, field: str, limit: int, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(message, {field: [message]})
    errors: dict[str, list[str]] = {}
    if not check_long_text(value, field, errors, limit):
        raise ValidationFailed(errors[field][0], errors)
    return value


def _require_active(case: Case) -> None:
    if case.status == "closed":
        raise Conflict(_("The case is closed."))


def add_note(case: Case, body: str, by: User) -> CaseNote:
    """Add a note to the case file."""
    _require_active(case)
    note = CaseNote(case=case, body=_text(body, "body", 5000, _("Write the note.")), author_id=by.id)
    db.session.add(note)
    db.session.flush()
    audit.record("case.note", "case", case.id, note_id=note.id)
    return note


@dataclass
class TaskInput:
    title: str | None
    due_on: date | None
    assignee_id: int | None


def add_task(case: Case, data: TaskInput, by: User) -> FollowUpTask:
    """Add a follow-up task with a due date and an assignee (an officer of the client's region)."""
    _require_active(case)
    errors: dict[str, list[str]] = {}
    title = (data.title or "").strip()
    if not title:
        errors["title"] = [_("Say what is to be done.")]
    else:
        check_length(title, FollowUpTask.title, "title", errors)
    due_on = data.due_on
    if due_on is None:
        errors["due_on"] = [_("Give a due date.")]
    try:
        assignee = _officer(data.assignee_id, case.region_id, "assignee_id")
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors or due_on is None:  # no due date is one of the errors
        raise ValidationFailed(_("The task is not complete."), errors)
    task = FollowUpTask(case=case, title=title, due_on=due_on, assignee_id=assignee.id, created_by_id=by.id)
    db.session.add(task)
    db.session.flush()
    audit.record("case.task_add", "case", case.id, task_id=task.id, due_on=due_on.isoformat())
    return task


def complete_task(task: FollowUpTask, by: User) -> FollowUpTask:
    """Mark a task done (a second time changes nothing)."""
    if task.done_at is None:
        task.done_at = clock.now()
        audit.record("case.task_done", "case", task.case_id, task_id=task.id)
    return task


def add_goal(
    case: Case, kind: str | None, description: str | None, target_on: date | None, by: User
) -> PlanGoal:
    """Add a goal to the client's personal plan."""
    _require_active(case)
    errors: dict[str, list[str]] = {}
    if kind not in GOAL_KINDS:
        errors["kind"] = [_("Choose the kind of goal.")]
    text = (description or "").strip()
    if not text:
        errors["description"] = [_("Describe the goal.")]
    else:
        check_length(text, PlanGoal.description, "description", errors)
    if errors:
        raise ValidationFailed(_("The goal is not complete."), errors)
    goal = PlanGoal(case=case, kind=kind, description=text, target_on=target_on)
    db.session.add(goal)
    db.session.flush()
    audit.record("case.goal_add", "case", case.id, goal_id=goal.id, kind=kind)
    return goal


def set_goal_status(goal: PlanGoal, status: str | None, by: User) -> PlanGoal:
    """Move a plan goal to ``status`` (planned, in progress, achieved, dropped)."""
    if status not in GOAL_STATUSES:
        raise ValidationFailed(_("Choose a status."), {"status": [_("Choose a status.")]})
    if goal.status != status:
        audit.record("case.goal_status", "case", goal.case_id, goal_id=goal.id, old=goal.status, new=status)
        goal.status = status
    return goal


def set_hold(case: Case, on_hold: bool, reason: str | None, by: User) -> Case:
    """Put an open case on hold (with a reason) or reopen a case that is on hold."""
    _require_active(case)
    if on_hold:
        case.hold_reason = _text(reason, "reason", 1000, _("Say why the case is on hold."))
        case.status = "on_hold"
    else:
        case.hold_reason = None
        case.status = "open"
    audit.record("case.status", "case", case.id, status=case.status)
    return case


def request_closure(case: Case, reason: str | None, note: str | None, by: User) -> Case:
    """The officer asks to close the case with a reason; a supervisor decides."""
    _require_active(case)
    if case.closure_requested_at is not None:
        raise Conflict(_("Closure has already been requested."))
    if reason not in CLOSURE_REASONS:
        raise ValidationFailed(
            _("Choose why the case is closed."), {"reason": [_("Choose why the case is closed.")]}
        )
    errors: dict[str, list[str]] = {}
    closure_note = (note or "").strip() or None
    if not check_long_text(closure_note, "note", errors):
        raise ValidationFailed(errors["note"][0], errors)
    case.closure_reason = reason
    case.closure_note = closure_note
    case.closure_requested_at = clock.now()
    case.closure_requested_by_id = by.id
    audit.record("case.closure_requested", "case", case.id, reason=reason)
    return case


def decide_closure(case: Case, approve: bool, note: str | None, by: User) -> Case:
    """A supervisor approves the requested closure or sends the case back to the officer."""
    if not policies.can_decide_closure(by, case):
        raise Conflict(_("Only a supervisor can approve a closure."))
    if case.closure_requested_at is None or case.status == "closed":
        raise Conflict(_("No closure is waiting for approval."))
    if approve:
        case.status = "closed"
        case.closed_at = clock.now()
        case.closed_by_id = by.id
        audit.record("case.closed", "case", case.id, reason=case.closure_reason)
    else:
        message = _text(note, "note", 1000, _("Say why the case goes back to the officer."))
        db.session.add(
            CaseNote(case=case, body=_("Closure sent back: %(why)s", why=message), author_id=by.id)
        )
        case.closure_requested_at = None
        case.closure_requested_by_id = None
        case.closure_reason = None
        case.closure_note = None
        audit.record("case.closure_sent_back", "case", case.id)
    return case


def reassign(case: Case, officer_id: Any, by: User) -> Case:
    """A supervisor hands the case (and its open tasks of the old officer) to another officer."""
    if not policies.can_reassign_case(by, case):
        raise Conflict(_("Only a supervisor can reassign a case."))
    officer = _officer(officer_id, case.region_id, "officer_id")
    old = case.officer_id
    if old == officer.id:
        return case
    for task in case.tasks:
        if task.done_at is None and task.assignee_id == old:
            task.assignee_id = officer.id
    case.officer_id = officer.id
    audit.record("case.reassigned", "case", case.id, old_officer_id=old, new_officer_id=officer.id)
    return case


def task_list_query(user: User) -> Select[FollowUpTask]:
    """The user's open tasks in their scope, overdue first, then by due date."""
    return (
        select(FollowUpTask)
        .join(Case, Case.id == FollowUpTask.case_id)
        .where(FollowUpTask.assignee_id == user.id, FollowUpTask.done_at.is_(None))
        .where(region_id_condition(Case.region_id, user))
        .order_by(FollowUpTask.due_on, FollowUpTask.id)
    )


def cases_query(status: str | None = None, officer_id: int | None = None) -> Select[Case]:
    """Cases in the current user's scope, those waiting for a closure decision first."""
    stmt = select(Case).where(case_scope())
    if status in CASE_STATUSES:
        stmt = stmt.where(Case.status == status)
    elif status == "closure_requested":
        stmt = stmt.where(Case.closure_requested_at.is_not(None), Case.status != "closed")
    if officer_id:
        stmt = stmt.where(Case.officer_id == officer_id)
    return stmt.order_by(Case.closure_requested_at.is_(None), Case.updated_at.desc(), Case.id.desc())

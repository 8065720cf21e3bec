"""Case files, officers' task lists and complaints (HTML)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from srs.cases import complaints as complaint_service
from srs.cases import queries, services
from srs.cases.forms import (
    CaseForm,
    ClosureDecisionForm,
    ClosureForm,
    ComplaintForm,
    ComplaintStatusForm,
    FollowupForm,
    GoalForm,
    GoalStatusForm,
    HoldForm,
    NoteForm,
    OpenCaseForm,
    ReassignForm,
    TaskDoneForm,
    TaskForm,
    category_days_form,
)
from srs.cases.links import client_edit_url, client_profile_url
from srs.cases.models import (
    CASE_STATUSES,
    CLOSURE_REASONS,
    COMPLAINT_CHANNELS,
    COMPLAINT_STATUSES,
    GOAL_KINDS,
    GOAL_STATUSES,
    Case,
    Complaint,
)
from srs.cases.policies import DECIDERS, STAFF
from srs.core import audit, clock, exports
from srs.core.access import roles_required
from srs.core.errors import Conflict, ValidationFailed
from srs.core.ids import parse_id
from srs.core.pagination import page_args, paginate
from srs.core.transaction import attempt
from srs.extensions import db
from srs.regions.scope import scoped_regions
from srs.registry.models import Client
from srs.registry.services import load_client

bp = Blueprint("cases", __name__, url_prefix="/cases")
complaints_bp = Blueprint("complaints", __name__, url_prefix="/complaints")


def _load_case(case_id: int) -> Case:
    return services.load_case(case_id, current_user)


def _case_page(
    client: Client,
    case: Case | None,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
    form_name: str | None = None,
    form: CaseForm | None = None,
) -> Any:
    officers = services.officers_for(client.region_id)
    complaints = queries.complaints_of(client)
    return (
        render_template(
            "cases/case.html",
            client=client,
            case=case,
            officers=officers,
            complaints=complaints,
            errors=errors or {},
            form_name=form_name,
            values=form.values() if form is not None else {},
            closure_reasons=CLOSURE_REASONS,
            goal_kinds=GOAL_KINDS,
            goal_statuses=GOAL_STATUSES,
            today=clock.today(),
            profile_url=client_profile_url(client.id),
        ),
        status,
    )


@bp.route("/")
@roles_required(*STAFF)
def list_cases() -> ResponseReturnValue:
    status = request.args.get("status") or None
    mine = request.args.get("mine") == "1"
    page, per_page = page_args(strict=False)
    stmt = services.cases_query(status, current_user.id if mine else None)
    result = paginate(stmt, page, per_page)
    audit.record_list(
        "case.list",
        "case",
        [c.id for c in result.items],
        query={"status": status, "mine": mine},
        page=result.page,
        total=result.total,
        client_ids=[c.client_id for c in result.items],
    )
    return render_template("cases/list.html", page=result, status=status, mine=mine, statuses=CASE_STATUSES)


@bp.route("/export.<fmt>")
@roles_required(*STAFF)
def export_cases(fmt: str) -> ResponseReturnValue:
    if fmt not in exports.FORMATS:
        abort(404)
    status = request.args.get("status") or None
    mine = request.args.get("mine") == "1"
    stmt = services.cases_query(status, current_user.id if mine else None)
    headers = [
        _("Case"),
        _("Client"),
        _("Name"),
        _("Region"),
        _("Officer"),
        _("Status"),
        _("Closure requested"),
        _("Opened"),
        _("Closed"),
    ]

    def rows() -> Any:
        for case in db.session.scalars(stmt):
            yield [
                case.id,
                case.client_id,
                case.client.full_name,
                case.region.name,
                case.officer.full_name if case.officer else "",
                case.status,
                case.closure_requested_at,
                case.created_at,
                case.closed_at,
            ]

    return exports.audited_file_response(
        fmt,
        "srs-cases",
        _("Cases"),
        headers,
        rows(),
        action="case.export",
        object_type="case",
        id_column=0,
        client_column=1,
        query={"status": status, "mine": mine},
    )


@bp.route("/tasks")
@roles_required(*STAFF)
def my_tasks() -> ResponseReturnValue:
    page, per_page = page_args(strict=False)
    result = paginate(services.task_list_query(current_user), page, per_page)
    audit.record_list("task.list", "task", [t.id for t in result.items], page=result.page, total=result.total)
    return render_template("cases/tasks.html", page=result, today=clock.today())


@bp.route("/client/<int:client_id>", methods=["GET", "POST"])
@roles_required(*STAFF)
def client_case(client_id: int) -> ResponseReturnValue:
    client = load_client(client_id, current_user)
    case = services.case_for_client(client)
    if request.method == "POST":
        form = OpenCaseForm()
        try:
            with attempt():
                case = services.open_case(client, current_user, parse_id(form.officer_id.data))
        except ValidationFailed as exc:
            return _case_page(client, None, exc.errors, 422, "open", form)
        except Conflict as exc:
            flash(exc.detail, "error")
            return redirect(url_for("cases.client_case", client_id=client.id))
        flash(_("Case file opened."), "success")
        return redirect(url_for("cases.client_case", client_id=client.id))
    audit.record("case.view", "client", client.id, case_id=case.id if case else None)
    return _case_page(client, case)


def _act(case_id: int, form_name: str, form: CaseForm, action: Any, success: str) -> Any:
    """Run one case action; on bad input show the case page again with the messages and the input.

    A refused action is undone before the answer (``attempt``), the page or the redirect alike.
    """
    case = _load_case(case_id)
    try:
        with attempt():
            action(case)
    except ValidationFailed as exc:
        return _case_page(case.client, case, exc.errors, 422, form_name, form)
    except Conflict as exc:
        flash(exc.detail, "error")
        return redirect(url_for("cases.client_case", client_id=case.client_id))
    flash(success, "success")
    return redirect(url_for("cases.client_case", client_id=case.client_id))


@bp.route("/<int:case_id>/notes", methods=["POST"])
@roles_required(*STAFF)
def add_note(case_id: int) -> ResponseReturnValue:
    form = NoteForm()
    return _act(
        case_id,
        "note",
        form,
        lambda c: services.add_note(c, form.body.data, current_user),
        _("Note added."),
    )


@bp.route("/<int:case_id>/tasks", methods=["POST"])
@roles_required(*STAFF)
def add_task(case_id: int) -> ResponseReturnValue:
    form = TaskForm()

    def action(case: Case) -> None:
        errors: dict[str, list[str]] = {}
        due = form.parsed_date("due_on", errors)
        data = services.TaskInput(form.title.data, due, parse_id(form.assignee_id.data))
        try:
            with attempt():
                services.add_task(case, data, current_user)
        except ValidationFailed as exc:
            errors = {**exc.errors, **errors}
        if errors:
            raise ValidationFailed(_("The task is not complete."), errors)

    return _act(case_id, "task", form, action, _("Task added."))


@bp.route("/<int:case_id>/tasks/<int:task_id>/done", methods=["POST"])
@roles_required(*STAFF)
def complete_task(case_id: int, task_id: int) -> ResponseReturnValue:
    case = _load_case(case_id)
    task = services.load_task(case, task_id)
    services.complete_task(task, current_user)
    flash(_("Task done."), "success")
    if TaskDoneForm().next.data == "tasks":
        return redirect(url_for("cases.my_tasks"))
    return redirect(url_for("cases.client_case", client_id=case.client_id))


@bp.route("/<int:case_id>/goals", methods=["POST"])
@roles_required(*STAFF)
def add_goal(case_id: int) -> ResponseReturnValue:
    form = GoalForm()

    def action(case: Case) -> None:
        errors: dict[str, list[str]] = {}
        target = form.parsed_date("target_on", errors)
        try:
            with attempt():
                services.add_goal(case, form.kind.data, form.description.data, target, current_user)
        except ValidationFailed as exc:
            errors = {**exc.errors, **errors}
        if errors:
            raise ValidationFailed(_("The goal is not complete."), errors)

    return _act(case_id, "goal", form, action, _("Goal added to the plan."))


@bp.route("/<int:case_id>/goals/<int:goal_id>", methods=["POST"])
@roles_required(*STAFF)
def goal_status(case_id: int, goal_id: int) -> ResponseReturnValue:
    case = _load_case(case_id)
    goal = services.load_goal(case, goal_id)
    form = GoalStatusForm()
    return _act(
        case_id,
        "goal_status",
        form,
        lambda c: services.set_goal_status(goal, form.status.data, current_user),
        _("Goal updated."),
    )


@bp.route("/<int:case_id>/hold", methods=["POST"])
@roles_required(*STAFF)
def hold(case_id: int) -> ResponseReturnValue:
    form = HoldForm()
    on_hold = form.action.data != "reopen"
    return _act(
        case_id,
        "hold",
        form,
        lambda c: services.set_hold(c, on_hold, form.reason.data, current_user),
        _("Case put on hold.") if on_hold else _("Case reopened."),
    )


@bp.route("/<int:case_id>/closure", methods=["POST"])
@roles_required(*STAFF)
def request_closure(case_id: int) -> ResponseReturnValue:
    form = ClosureForm()
    return _act(
        case_id,
        "closure",
        form,
        lambda c: services.request_closure(c, form.reason.data, form.note.data, current_user),
        _("Closure requested; a supervisor will decide."),
    )


@bp.route("/<int:case_id>/closure/decision", methods=["POST"])
@roles_required(*DECIDERS)
def decide_closure(case_id: int) -> ResponseReturnValue:
    form = ClosureDecisionForm()
    approve = form.decision.data == "approve"
    return _act(
        case_id,
        "decision",
        form,
        lambda c: services.decide_closure(c, approve, form.note.data, current_user),
        _("Case closed.") if approve else _("Closure sent back to the officer."),
    )


@bp.route("/<int:case_id>/reassign", methods=["POST"])
@roles_required(*DECIDERS)
def reassign(case_id: int) -> ResponseReturnValue:
    form = ReassignForm()
    return _act(
        case_id,
        "reassign",
        form,
        lambda c: services.reassign(c, form.officer_id.data, current_user),
        _("Case reassigned."),
    )


# ---------------------------------------------------------------------------------------------
# Complaints


@complaints_bp.route("/")
@roles_required(*STAFF)
def list_complaints() -> ResponseReturnValue:
    q = (request.args.get("q") or "").strip()
    if q:
        found = complaint_service.find_by_tracking(q)
        if found is not None:
            return redirect(url_for("complaints.show", complaint_id=found.id))
        flash(_("No complaint in your regions has the tracking number %(q)s.", q=q[:40]), "warning")
    status = request.args.get("status") or None
    overdue = request.args.get("overdue") == "1"
    page, per_page = page_args(strict=False)
    result = paginate(complaint_service.complaints_query(status, overdue), page, per_page)
    audit.record_list(
        "complaint.list",
        "complaint",
        [c.id for c in result.items],
        query={"q": q, "status": status, "overdue": overdue},
        page=result.page,
        total=result.total,
    )
    return render_template(
        "cases/complaints.html",
        page=result,
        status=status,
        overdue=overdue,
        q=q,
        statuses=COMPLAINT_STATUSES,
        today=clock.today(),
    )


@complaints_bp.route("/export.<fmt>")
@roles_required(*STAFF)
def export_complaints(fmt: str) -> ResponseReturnValue:
    if fmt not in exports.FORMATS:
        abort(404)
    status = request.args.get("status") or None
    overdue = request.args.get("overdue") == "1"
    stmt = complaint_service.complaints_query(status, overdue)
    headers = [
        _("Tracking number"),
        _("Region"),
        _("Category"),
        _("Channel"),
        _("Client"),
        _("Subject"),
        _("Status"),
        _("Received"),
        _("Due"),
        _("Escalated"),
        _("Resolved"),
    ]

    def rows() -> Any:
        for c in db.session.scalars(stmt):
            yield [
                c.tracking_number,
                c.region.name,
                c.category.name,
                c.channel,
                c.client_id or "",
                c.subject,
                c.status,
                c.received_on,
                c.due_on,
                c.escalated_at,
                c.resolved_at,
            ]

    # Complaints are named by their tracking numbers, as on the report lists.
    return exports.audited_file_response(
        fmt,
        "srs-complaints",
        _("Complaints"),
        headers,
        rows(),
        action="complaint.export",
        object_type="complaint",
        id_column=0,
        client_column=4,
        query={"status": status, "overdue": overdue},
    )


@complaints_bp.route("/new", methods=["GET", "POST"])
@roles_required(*STAFF)
def new_complaint() -> ResponseReturnValue:
    complaint_service.ensure_categories()
    form = ComplaintForm()
    client = None
    # The client comes with the link (?client_id=) and the form posts it back.
    client_id = parse_id(request.args.get("client_id") or form.client_id.data)
    if client_id is not None:
        client = load_client(client_id, current_user)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        received = form.parsed_date("received_on", errors)
        data = complaint_service.ComplaintInput(
            channel=form.channel.data,
            category_id=form.category_id.data,
            subject=form.subject.data,
            description=form.description.data,
            client_id=client.id if client else None,
            region_id=form.region_id.data,
            complainant_name=form.complainant_name.data,
            complainant_phone=form.complainant_phone.data,
            received_on=received,
        )
        if not errors:
            try:
                with attempt():
                    complaint = complaint_service.create_complaint(data, current_user)
            except ValidationFailed as exc:
                errors = exc.errors
            else:
                flash(_("Complaint received. Tracking number: %(n)s", n=complaint.tracking_number), "success")
                return redirect(url_for("complaints.show", complaint_id=complaint.id))
    return (
        render_template(
            "cases/complaint_form.html",
            client=client,
            categories=complaint_service.categories(),
            category_label=complaint_service.category_label,
            regions=scoped_regions(),
            channels=COMPLAINT_CHANNELS,
            errors=errors,
            values=form.values(),
            today=clock.today(),
        ),
        422 if errors else 200,
    )


def _load_complaint(complaint_id: int) -> Complaint:
    return complaint_service.load_complaint(complaint_id, current_user)


def _complaint_page(
    complaint: Complaint,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
    form: CaseForm | None = None,
) -> Any:
    return (
        render_template(
            "cases/complaint.html",
            complaint=complaint,
            errors=errors or {},
            values=form.values() if form is not None else {},
            overdue=complaint_service.is_overdue(complaint),
            category_label=complaint_service.category_label,
            profile_url=client_profile_url(complaint.client_id) if complaint.client_id else None,
        ),
        status,
    )


@complaints_bp.route("/<int:complaint_id>")
@roles_required(*STAFF)
def show(complaint_id: int) -> ResponseReturnValue:
    complaint = _load_complaint(complaint_id)
    audit.record("complaint.view", "complaint", complaint.id, client_id=complaint.client_id)
    return _complaint_page(complaint)


@complaints_bp.route("/<int:complaint_id>/status", methods=["POST"])
@roles_required(*STAFF)
def change_status(complaint_id: int) -> ResponseReturnValue:
    complaint = _load_complaint(complaint_id)
    form = ComplaintStatusForm()
    try:
        with attempt():
            complaint_service.change_status(complaint, form.status.data, form.text.data, current_user)
    except ValidationFailed as exc:
        return _complaint_page(complaint, exc.errors, 422, form)
    except Conflict as exc:
        flash(exc.detail, "error")
        return redirect(url_for("complaints.show", complaint_id=complaint.id))
    flash(_("Complaint updated."), "success")
    return redirect(url_for("complaints.show", complaint_id=complaint.id))


@complaints_bp.route("/<int:complaint_id>/followup", methods=["POST"])
@roles_required(*STAFF)
def followup(complaint_id: int) -> ResponseReturnValue:
    complaint = _load_complaint(complaint_id)
    form = FollowupForm()
    kind = form.kind.data
    if complaint.client_id is None:
        flash(_("An anonymous complaint has no client to refer or correct."), "error")
        return redirect(url_for("complaints.show", complaint_id=complaint.id))
    url = (
        client_edit_url(complaint.client_id)
        if kind == "data_correction"
        else client_profile_url(complaint.client_id)
    )
    try:
        with attempt():
            complaint_service.record_followup(complaint, kind, url, current_user)
    except ValidationFailed as exc:
        return _complaint_page(complaint, exc.errors, 422, form)
    return redirect(url)


@complaints_bp.route("/categories", methods=["GET", "POST"])
@roles_required("admin")
def categories() -> ResponseReturnValue:
    complaint_service.ensure_categories()
    cats = complaint_service.categories(active_only=False)
    errors: dict[str, list[str]] = {}
    form = category_days_form([c.id for c in cats])
    if request.method == "POST":
        days = {c.id: form[f"days_{c.id}"].data for c in cats if form[f"days_{c.id}"].data is not None}
        try:
            # All or none: a refused deadline undoes the accepted ones too.
            with attempt():
                complaint_service.set_categories_days(days, current_user)
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            flash(_("Deadlines saved."), "success")
            return redirect(url_for("complaints.categories"))
    return (
        render_template(
            "cases/categories.html",
            categories=cats,
            errors=errors,
            values=form.values(),
            category_label=complaint_service.category_label,
        ),
        422 if errors else 200,
    )

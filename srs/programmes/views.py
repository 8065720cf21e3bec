"""Pages: agencies and programmes (admin), the rule editor, simulation, re-screening and screening."""

from __future__ import annotations

import copy
from typing import Any

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from srs.accounts.models import User
from srs.agencies import services as agencies_services
from srs.agencies.models import Agency
from srs.core import audit
from srs.core.access import roles_required
from srs.core.errors import Conflict, ValidationFailed
from srs.core.forms import apply_errors
from srs.core.transaction import attempt
from srs.extensions import db
from srs.programmes import editor, enrolments, policies, services, versions
from srs.programmes.budget import budget
from srs.programmes.enrolments import FUNCTION_LABELS, SOURCE_LABELS
from srs.programmes.fields import OPERATOR_LABELS
from srs.programmes.forms import (
    KIND_LABELS,
    AgencyForm,
    EmptyForm,
    EndEnrolmentForm,
    EnrolmentForm,
    ImportForm,
    ProgrammeForm,
)
from srs.programmes.models import EligibilityNotice, Enrolment, Programme, RescreenRun, RuleVersion, Screening
from srs.programmes.rates import in_force as in_force_rates
from srs.programmes.rules import describe
from srs.programmes.screening import dismiss_notice as dismiss_eligibility_notice
from srs.programmes.screening import grouped, newly_eligible_for, reason_tree, screen, screenings_of
from srs.programmes.simulation import simulate
from srs.registry.models import Client
from srs.registry.services import load_client

bp = Blueprint("programmes", __name__)


# Agencies ----------------------------------------------------------------------------------------


@bp.route("/admin/agencies")
@roles_required("admin")
def agencies() -> ResponseReturnValue:
    return render_template("programmes/agencies.html", agencies=agencies_services.list_agencies())


def _agency_input(form: AgencyForm) -> agencies_services.AgencyInput:
    return agencies_services.AgencyInput(
        code=form.code.data or "",
        name=form.name.data or "",
        country=form.country.data or "",
        contact_email=(form.contact_email.data or "").strip() or None,
        contact_phone=(form.contact_phone.data or "").strip() or None,
        address=form.address.data,
        public_phone=form.public_phone.data,
        public_email=(form.public_email.data or "").strip() or None,
        opening_hours=form.opening_hours.data,
        channel=form.channel.data or "inbox",
        webhook_url=(form.webhook_url.data or "").strip() or None,
        webhook_secret=form.webhook_secret.data or None,
        response_days=form.response_days.data,
        active=bool(form.active.data),
    )


@bp.route("/admin/agencies/new", methods=["GET", "POST"])
@bp.route("/admin/agencies/<int:agency_id>", methods=["GET", "POST"])
@roles_required("admin")
def agency_form(agency_id: int | None = None) -> ResponseReturnValue:
    agency = db.get_or_404(Agency, agency_id) if agency_id is not None else None
    form = AgencyForm(obj=agency)
    status = 200
    if form.validate_on_submit():
        try:
            with attempt():
                agencies_services.save_agency(_agency_input(form), agency)
        except ValidationFailed as exc:
            apply_errors(form, exc)
            status = 422
        else:
            flash(_("The agency was saved."), "success")
            return redirect(url_for("programmes.agencies"))
    elif request.method == "POST":
        status = 422
    return render_template("programmes/agency_form.html", form=form, agency=agency), status


# Programmes --------------------------------------------------------------------------------------


@bp.route("/admin/programmes")
@roles_required("admin", "supervisor")
def programmes() -> ResponseReturnValue:
    items = services.list_programmes(request.args.get("country") or None)
    return render_template(
        "programmes/programmes.html",
        programmes=items,
        drafts={p.id: versions.draft_of(p) for p in items},
        kinds=KIND_LABELS,
        function_labels=FUNCTION_LABELS,
        form=ImportForm(),
    )


def _programme_input(form: ProgrammeForm, programme: Programme | None) -> services.ProgrammeInput:
    # The form edits the English texts; other languages (from a YAML import) are kept.
    descriptions = dict(programme.descriptions) if programme else {}
    benefit = dict(programme.benefit) if programme else {}
    descriptions["en"] = form.description.data or ""
    benefit["en"] = form.benefit.data or ""
    return services.ProgrammeInput(
        code=form.code.data or "",
        agency_code=form.agency.data or "",
        country=form.country.data or "",
        kind=form.kind.data or "",
        names={"en": form.name_en.data or "", "id": form.name_id.data or "", "vi": form.name_vi.data or ""},
        descriptions=descriptions,
        benefit=benefit,
        required_documents=(form.required_documents.data or "").splitlines(),
        shared_fields=list(form.shared_fields.data or []),
        active=bool(form.active.data),
        active_from=form.active_from.data,
        active_to=form.active_to.data,
        functions=list(form.functions.data or []),
        contributory=bool(form.contributory.data),
    )


@bp.route("/admin/programmes/new", methods=["GET", "POST"])
@bp.route("/admin/programmes/<int:programme_id>", methods=["GET", "POST"])
@roles_required("admin")
def programme_form(programme_id: int | None = None) -> ResponseReturnValue:
    programme = db.get_or_404(Programme, programme_id) if programme_id is not None else None
    form = ProgrammeForm()
    form.agency.choices = [
        (a.code, f"{a.name} ({a.code}, {a.country})") for a in agencies_services.list_agencies()
    ]
    if programme is not None and request.method == "GET":
        form.code.data = programme.code
        form.name_en.data = programme.names.get("en")
        form.name_id.data = programme.names.get("id")
        form.name_vi.data = programme.names.get("vi")
        form.agency.data = programme.agency.code
        form.country.data = programme.country
        form.kind.data = programme.kind
        form.description.data = programme.descriptions.get("en")
        form.benefit.data = programme.benefit.get("en")
        form.required_documents.data = "\n".join(programme.required_documents)
        form.shared_fields.data = list(programme.shared_fields)
        form.active.data = programme.active
        form.active_from.data = programme.active_from
        form.active_to.data = programme.active_to
        form.functions.data = list(programme.functions or [])
        form.contributory.data = programme.contributory
    status = 200
    if form.validate_on_submit():
        try:
            with attempt():
                saved = services.save_programme(_programme_input(form, programme), programme)
        except ValidationFailed as exc:
            apply_errors(form, exc)
            status = 422
        else:
            flash(_("The programme was saved."), "success")
            if programme is None:
                return redirect(url_for("programmes.rule_editor", programme_id=saved.id))
            return redirect(url_for("programmes.programmes"))
    elif request.method == "POST":
        status = 422
    return render_template("programmes/programme_form.html", form=form, programme=programme), status


# Rule editor, simulation, publishing -------------------------------------------------------------


def _editor_page(
    programme: Programme,
    tree: dict[str, Any],
    errors: dict[str, list[str]],
    note: str,
    source: str,
    status: int = 200,
) -> ResponseReturnValue:
    draft = versions.draft_of(programme)
    simulation = simulate(draft, current_user) if draft is not None and not errors else None
    rates = in_force_rates(programme)
    cost = (
        budget(draft, rates, current_user)
        if draft is not None and simulation is not None and rates is not None
        else None
    )
    return (
        render_template(
            "programmes/rule_editor.html",
            programme=programme,
            tree=tree,
            errors=errors,
            note=note,
            source=source,
            draft=draft,
            simulation=simulation,
            budget=cost,
            fields=editor.field_options(),
            field_keys=[f["key"] for f in editor.field_options()],
            operator_labels=OPERATOR_LABELS,
            value_text=editor.value_text,
            form=EmptyForm(),
        ),
        status,
    )


@bp.route("/admin/programmes/<int:programme_id>/rules", methods=["GET", "POST"])
@roles_required("admin", "supervisor")
def rule_editor(programme_id: int) -> ResponseReturnValue:
    programme = db.get_or_404(Programme, programme_id)
    if not policies.can_edit_rules(current_user, programme):
        abort(403)  # a supervisor drafts for the countries they cover only (the history stays readable)
    draft = versions.draft_of(programme)
    source_version = draft or programme.current_version
    if request.method == "GET":
        tree = (
            copy.deepcopy(source_version.criteria) if source_version else {"all": [dict(editor.BLANK_LEAF)]}
        )
        note = (draft.note if draft else "") or ""
        source = (source_version.source if source_version else "") or ""
        return _editor_page(programme, tree, {}, note, source)
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    tree = editor.tree_from_form(request.form)
    note, source = request.form.get("note", ""), request.form.get("source", "")
    action = request.form.get("action", "save")
    if action != "save":
        return _editor_page(programme, editor.apply_action(tree, action), {}, note, source)
    try:
        with attempt():
            versions.save_draft(programme, tree, current_user, note, source)
    except ValidationFailed as exc:
        errors = {key.removeprefix("criteria."): msgs for key, msgs in exc.errors.items()}
        flash(_("The rule has errors; nothing was saved and the version in force stays."), "error")
        return _editor_page(programme, tree, errors, note, source, 422)
    flash(_("Draft saved. Check the simulation below, then publish or discard it."), "success")
    return redirect(url_for("programmes.rule_editor", programme_id=programme.id) + "#simulation")


def _draft_or_404(programme: Programme, version_id: int) -> RuleVersion:
    version = db.session.get(RuleVersion, version_id)
    if version is None or version.programme_id != programme.id:
        abort(404)
    return version


@bp.route("/admin/programmes/<int:programme_id>/versions/<int:version_id>/publish", methods=["POST"])
@roles_required("admin")
def publish(programme_id: int, version_id: int) -> ResponseReturnValue:
    programme = db.get_or_404(Programme, programme_id)
    version = _draft_or_404(programme, version_id)
    try:
        # The hidden field carries the revision whose simulation the admin had on the page.
        with attempt():
            run = versions.publish(version, current_user, request.form.get("revision"))
    except (Conflict, ValidationFailed) as exc:
        flash(exc.detail, "error")
        draft = versions.draft_of(programme)
        tree = copy.deepcopy(draft.criteria) if draft else {"all": [dict(editor.BLANK_LEAF)]}
        note = (draft.note if draft else "") or ""
        source = (draft.source if draft else "") or ""
        return _editor_page(programme, tree, {}, note, source, exc.status)
    flash(_("Version %(n)d is in force. Re-screening has started.", n=version.number), "success")
    return redirect(
        url_for("programmes.rescreen_page", run_id=run.id) if run else url_for("programmes.programmes")
    )


@bp.route("/admin/programmes/<int:programme_id>/versions/<int:version_id>/discard", methods=["POST"])
@roles_required("admin")
def discard(programme_id: int, version_id: int) -> ResponseReturnValue:
    programme = db.get_or_404(Programme, programme_id)
    versions.discard(_draft_or_404(programme, version_id))
    flash(_("The draft was discarded; the version in force stays."), "success")
    return redirect(url_for("programmes.rule_editor", programme_id=programme.id))


@bp.route("/admin/programmes/<int:programme_id>/history")
@roles_required("admin", "supervisor")
def history(programme_id: int) -> ResponseReturnValue:
    programme = db.get_or_404(Programme, programme_id)
    return render_template("programmes/history.html", programme=programme, rows=versions.history(programme))


RESCREEN_STATUS_LABELS = {
    "queued": _l("waiting in the queue"),
    "running": _l("running"),
    "done": _l("done"),
    "failed": _l("failed"),
}


@bp.route("/admin/rescreens/<int:run_id>")
@roles_required("admin", "supervisor")
def rescreen_page(run_id: int) -> ResponseReturnValue:
    run = db.get_or_404(RescreenRun, run_id)
    status_label = RESCREEN_STATUS_LABELS.get(run.status, run.status)
    return render_template("programmes/rescreen.html", run=run, status_label=status_label)


@bp.route("/admin/rescreens/<int:run_id>/status")
@roles_required("admin", "supervisor")
def rescreen_status(run_id: int) -> ResponseReturnValue:
    run = db.get_or_404(RescreenRun, run_id)
    return jsonify(
        {
            "id": run.id,
            "status": run.status,
            "status_label": str(RESCREEN_STATUS_LABELS.get(run.status, run.status)),
            "total": run.total,
            "done": run.done,
            "newly_eligible": run.newly_eligible,
        }
    )


# Catalogue ---------------------------------------------------------------------------------------


@bp.route("/admin/catalogue.yaml")
@roles_required("admin")
def export_catalogue() -> ResponseReturnValue:
    return Response(
        services.export_yaml(),
        mimetype="application/yaml",
        headers={"Content-Disposition": "attachment; filename=srs-catalogue.yaml"},
    )


@bp.route("/admin/catalogue/import", methods=["POST"])
@roles_required("admin")
def import_catalogue() -> ResponseReturnValue:
    form = ImportForm()
    if not form.validate_on_submit() or not form.file.data:
        flash(_("Choose a YAML file to import."), "error")
        return redirect(url_for("programmes.programmes"))
    try:
        text = form.file.data.read().decode("utf-8")
    except UnicodeDecodeError:
        flash(_("The file is not UTF-8 text."), "error")
        return redirect(url_for("programmes.programmes"))
    report = services.import_yaml(text, current_user)
    if report.errors:
        return render_template("programmes/import_errors.html", errors=report.errors), 422
    flash(
        _(
            "Imported %(a)d agencies and %(p)d programmes; %(v)d rules changed.",
            a=report.agencies,
            p=report.programmes,
            v=report.versions,
        ),
        "success",
    )
    return redirect(url_for("programmes.programmes"))


# Screening ---------------------------------------------------------------------------------------


@bp.route("/clients/<int:client_id>/screening")
@roles_required("officer", "supervisor", "admin")
def client_screening(client_id: int) -> ResponseReturnValue:
    client = load_client(client_id, current_user)
    screenings = screenings_of(client)
    audit.record("screening.list", "client", client.id)
    return render_template(
        "programmes/client_screening.html", client=client, screenings=screenings, form=EmptyForm()
    )


@bp.route("/clients/<int:client_id>/screenings", methods=["POST"])
@roles_required("officer", "admin")
def screen_client(client_id: int) -> ResponseReturnValue:
    client = load_client(client_id, current_user)
    if not EmptyForm().validate_on_submit():
        abort(400)
    screening = screen(client, current_user)
    return redirect(url_for("programmes.screening_result", screening_id=screening.id))


@bp.route("/screenings/<int:screening_id>")
@roles_required("officer", "supervisor", "admin")
def screening_result(screening_id: int) -> ResponseReturnValue:
    screening = db.get_or_404(Screening, screening_id)
    client = load_client(screening.client_id, current_user)
    audit.record("screening.read", "client", client.id, screening=screening.id)
    return render_template(
        "programmes/screening_result.html",
        client=client,
        screening=screening,
        groups=grouped(screening),
        describe=describe,
        reason_tree=reason_tree,
    )


@bp.route("/eligibility-notices/<int:notice_id>/dismiss", methods=["POST"])
@roles_required("officer", "admin")
def dismiss_notice(notice_id: int) -> ResponseReturnValue:
    notice = db.get_or_404(EligibilityNotice, notice_id)
    load_client(notice.client_id, current_user)
    dismiss_eligibility_notice(notice)
    return redirect(url_for("accounts.home"))


def newly_eligible_context(user: User) -> dict[str, Any]:
    notices = newly_eligible_for(user)
    clients = {
        c.id: c
        for c in db.session.scalars(select(Client).where(Client.id.in_({n.client_id for n in notices})))
    }
    return {"notices": notices, "clients": clients, "form": EmptyForm()}


# Enrolments (coverage) ---------------------------------------------------------------------------


def coverage_panel_context(client: Client) -> dict[str, Any]:
    """The profile's coverage panel: what covers the person today per function, the gaps, the
    enrolments, and the form to record one (the profile's read is audited by the registry)."""
    form = EnrolmentForm()
    form.programme.choices = [
        (p.code, f"{p.name_in('en')} ({p.code})") for p in services.list_programmes(client.region.country)
    ]
    coverage = enrolments.coverage_of(client)
    return {
        "coverage": coverage,
        "gap_labels": [str(FUNCTION_LABELS[f]) for f in coverage.gaps],
        "function_labels": FUNCTION_LABELS,
        "source_labels": SOURCE_LABELS,
        "enrolment_form": form,
        "end_form": EndEnrolmentForm(),
    }


def _back_to_profile(client_id: int) -> Any:
    return redirect(url_for("registry.profile", client_id=client_id) + "#coverage")


@bp.route("/clients/<int:client_id>/enrolments", methods=["POST"])
@roles_required("officer", "admin")
def record_enrolment(client_id: int) -> ResponseReturnValue:
    client = load_client(client_id, current_user)
    form = EnrolmentForm()
    if not form.validate_on_submit():
        abort(400)
    programme = services.get_programme_by_code(form.programme.data or "")
    try:
        with attempt():
            enrolments.record_enrolment(
                client, programme, form.start_on.data, form.end_on.data, source="profile", user=current_user
            )
    except ValidationFailed as exc:
        for messages in exc.errors.values():
            for message in messages:
                flash(message, "error")
    else:
        flash(_("Coverage recorded."), "success")
    return _back_to_profile(client.id)


@bp.route("/enrolments/<int:enrolment_id>/end", methods=["POST"])
@roles_required("officer", "admin")
def end_enrolment(enrolment_id: int) -> ResponseReturnValue:
    enrolment = db.get_or_404(Enrolment, enrolment_id)
    client = load_client(enrolment.client_id, current_user)
    form = EndEnrolmentForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with attempt():
            enrolments.end_enrolment(enrolment, form.end_on.data, user=current_user)
    except ValidationFailed as exc:
        for messages in exc.errors.values():
            for message in messages:
                flash(message, "error")
    else:
        flash(_("Coverage ended."), "success")
    return _back_to_profile(client.id)

"""Registry pages: search, register, profile, edit, household, review queue, bulk import."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from srs.accounts.models import User
from srs.agencies.models import Agency
from srs.core import audit
from srs.core.access import roles_required
from srs.core.errors import Conflict, NotFound, ValidationFailed
from srs.core.forms import apply_errors
from srs.core.idempotency import idempotent_form
from srs.core.pagination import page_args
from srs.core.queue import enqueue_after_commit
from srs.core.replica import reads_from_replica
from srs.core.slots import timeline_for
from srs.core.transaction import attempt
from srs.extensions import db
from srs.regions.scope import scoped_regions, sees_everything
from srs.registry import consent, duplicates, households, importer, jobs, members, policies, search, services
from srs.registry import merge as merging
from srs.registry.forms import (
    FIELD_MAP,
    POVERTY_CHOICES,
    RELATIONSHIP_LABELS,
    WORK_CHOICES,
    ConsentForm,
    HeadForm,
    ImportForm,
    MemberForm,
    MoveForm,
    RemoveMemberForm,
    WithdrawConsentForm,
    client_form,
)
from srs.registry.models import Client, ImportBatch
from srs.registry.policies import READERS, REVIEWERS, WRITERS
from srs.registry.validation import DEFAULT_CONSENT_PURPOSES

bp = Blueprint("registry", __name__, url_prefix="/clients")


@bp.context_processor
def _labels() -> dict[str, Any]:
    # Stored codes (self_employed, near_poor, spouse) shown as words on the registry's pages.
    return {"labels": {**dict(WORK_CHOICES), **dict(POVERTY_CHOICES), **RELATIONSHIP_LABELS}}


def _region_choices() -> list[tuple[str, str]]:
    choices = [("", _("Choose…"))]
    for region in scoped_regions():
        choices.append((region.code, f"{'· ' * region.depth}{region.name} ({region.code})"))
    return choices


@bp.route("/", methods=["GET", "POST"])
@roles_required(*READERS)
@reads_from_replica
def index() -> ResponseReturnValue:
    # The search form posts its query, so an ID number or phone typed there never sits in a URL (the
    # browser's history, a proxy's or the server's access log). ?q= still works for links.
    source = request.form if request.method == "POST" else request.args
    page, per_page = page_args(strict=False, source=source)
    q = source.get("q", "").strip()
    region = source.get("region", "").strip()
    try:
        with attempt():
            result = search.search_clients(
                q, current_user, region_code=region or None, page=page, per_page=per_page
            )
    except NotFound as exc:
        flash(exc.detail, "error")
        result = search.search_clients(q, current_user, page=page, per_page=per_page)
        region = ""
    audit.record_list(
        "client.search" if q else "client.list",
        "client",
        [c.id for c in result.items],
        query={"q": q, "region": region},
        page=result.page,
        total=result.total,
    )
    return render_template(
        "registry/list.html",
        page=result,
        q=q,
        region=region,
        regions=_region_choices()[1:],
        flagged=duplicates.review_flags(result.items, current_user),
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*WRITERS)
@idempotent_form
def register() -> ResponseReturnValue:
    form = client_form()
    form.region_code.choices = _region_choices()
    if request.method == "GET":
        form.id_type.data = form.id_type.data or "nik"
        return render_template("registry/form.html", form=form, mode="new")
    data = form.to_input()
    existing_id = None
    candidates: list[duplicates.PossibleDuplicate] = []
    try:
        with attempt():
            candidates = services.check_new_client(data, current_user)
            if candidates and not form.confirm_not_duplicate.data:
                flash(_("Possible duplicates found: check them before registering."), "warning")
                page = render_template("registry/form.html", form=form, mode="new", candidates=candidates)
                return page, 200
            registered = services.register_client(data, current_user)
    except duplicates.DuplicateId as exc:
        existing_id = exc.existing_id
        apply_errors(form, exc, FIELD_MAP)
        return render_template("registry/form.html", form=form, mode="new", existing_id=existing_id), 409
    except ValidationFailed as exc:
        apply_errors(form, exc, FIELD_MAP)
        return render_template("registry/form.html", form=form, mode="new"), 422
    client = registered.client
    # Only about matches the officer may see: one outside their area is the review queue's business.
    if duplicates.visible_duplicates(registered.possible_duplicates, current_user):
        flash(_("Registered and sent to the review queue as a possible duplicate."), "warning")
    else:
        flash(_("%(name)s is registered.", name=client.full_name), "success")
    return redirect(url_for("registry.profile", client_id=client.id))


def _head_form(client: Client, form: HeadForm | None = None) -> HeadForm:
    """The change-head form, offering the registered clients among the members (only they may lead)."""
    form = form or HeadForm()
    members = client.household.members if client.household is not None else []
    form.member_id.choices = [("", _("Choose…"))] + [
        (str(m.id), f"{m.full_name} (#{m.client_id})")
        for m in members
        if m.relationship_to_head != "head" and m.client_id is not None
    ]
    return form


def _consent_form(client: Client, form: ConsentForm | None = None) -> ConsentForm:
    """The record-consent form with the purposes and the agencies of the client's country to tick."""
    form = form or ConsentForm(formdata=None, data={"purposes": list(DEFAULT_CONSENT_PURPOSES)})
    form.purposes.choices = list(consent.PURPOSE_LABELS.items())
    form.agencies.choices = [
        (a.code, a.name)
        for a in db.session.scalars(
            select(Agency).where(Agency.country == client.region.country).order_by(Agency.name)
        )
    ]
    return form


def _consent_panel(client: Client, forms: dict[str, Any]) -> dict[str, Any]:
    """What the consent panel shows: the current consent, its history (the reading audited), forms."""
    records = consent.read_history(client, current_user)
    users = {
        u.id: u.username
        for u in db.session.scalars(
            select(User).where(
                User.id.in_({r.recorded_by_id for r in records} | {r.withdrawn_by_id for r in records})
            )
        )
    }
    return {
        "consent_state": consent.state(client),
        "consent_records": records,
        "consent_users": users,
        "consent_form": _consent_form(client, forms.get("consent_form")),
        "withdraw_form": forms.get("withdraw_form") or WithdrawConsentForm(formdata=None),
        "purpose_labels": consent.PURPOSE_LABELS,
        "can_record_consent": policies.can_record_consent(current_user),
        "can_withdraw_consent": policies.can_withdraw_consent(current_user),
    }


def _profile_page(client: Client, status: int = 200, **forms: Any) -> ResponseReturnValue:
    """The profile with its household and consent forms (those given carry the input and errors)."""
    services.read_profile(client, current_user)
    return render_template(
        "registry/profile.html",
        **_consent_panel(client, forms),
        client=client,
        timeline=timeline_for(client),
        member_form=forms.get("member_form") or MemberForm(),
        remove_form=RemoveMemberForm(),
        head_form=_head_form(client, forms.get("head_form")),
        move_form=forms.get("move_form") or MoveForm(prefix="move"),
        open_pairs=merging.open_pairs_of(client, current_user),
        needs_review=client.id in duplicates.review_flags([client], current_user),
        can_edit=policies.can_edit_client(current_user, client),
    ), status


@bp.route("/<int:client_id>")
@roles_required(*READERS)
def profile(client_id: int) -> ResponseReturnValue:
    survivor = services.surviving_client_id(client_id, current_user)
    if survivor is not None:
        flash(_("This record was merged into another one; here is the record that was kept."), "info")
        return redirect(url_for("registry.profile", client_id=survivor))
    return _profile_page(services.load_client(client_id, current_user))


# Who records a consent (those who register people) and who may withdraw it (a supervisor too: a
# person may tell whoever they reach).
CONSENT_FIELDS = {
    "consent.date": "given_on",
    "consent.scope": "scope",
    "consent.purposes": "purposes",
    "consent.agencies": "agencies",
}


@bp.route("/<int:client_id>/consent", methods=["POST"])
@roles_required(*policies.CONSENT_RECORDERS)
def record_consent(client_id: int) -> ResponseReturnValue:
    client = services.load_client(client_id, current_user)
    form = _consent_form(client, ConsentForm())
    if not form.validate_on_submit():
        flash(_("Please correct the marked fields."), "error")
        return _profile_page(client, 422, consent_form=form)
    upload = form.evidence.data
    try:
        with attempt():
            data = consent.input_from(
                {
                    "date": form.given_on.data,
                    "scope": form.scope.data,
                    "purposes": list(form.purposes.data or []),
                    "agencies": "all"
                    if form.all_agencies.data != "listed"
                    else list(form.agencies.data or []),
                }
            )
            if upload is not None and getattr(upload, "filename", None):
                data.evidence = consent.check_evidence(upload.filename, upload.read())
            consent.record_consent(client, data, current_user, source="form")
    except ValidationFailed as exc:
        if "consent.agencies" in exc.errors and form.all_agencies.data != "listed":
            exc.errors["all_agencies"] = exc.errors.pop("consent.agencies")
        apply_errors(form, exc, CONSENT_FIELDS)
        return _profile_page(client, 422, consent_form=form)
    flash(_("Consent recorded."), "success")
    return redirect(url_for("registry.profile", client_id=client.id, _anchor="consent"))


@bp.route("/<int:client_id>/consent/withdraw", methods=["POST"])
@roles_required(*policies.CONSENT_WITHDRAWERS)
def withdraw_consent(client_id: int) -> ResponseReturnValue:
    client = services.load_client(client_id, current_user)
    form = WithdrawConsentForm()
    if not form.validate_on_submit():
        flash(_("Please correct the marked fields."), "error")
        return _profile_page(client, 422, withdraw_form=form)
    try:
        with attempt():
            consent.withdraw(client, current_user, form.reason.data, source="form")
    except (Conflict, ValidationFailed) as exc:
        apply_errors(form, exc)
        return _profile_page(client, exc.status, withdraw_form=form)
    flash(
        _(
            "Consent withdrawn. From now on no agency sees this person's data: open referrals are "
            "cancelled and each agency is told."
        ),
        "success",
    )
    return redirect(url_for("registry.profile", client_id=client.id, _anchor="consent"))


@bp.route("/<int:client_id>/consent/<int:record_id>/evidence")
@roles_required(*READERS)
def consent_evidence(client_id: int, record_id: int) -> ResponseReturnValue:
    client = services.load_client(client_id, current_user)
    record = consent.get_record(client, record_id)
    found = consent.read_evidence(record, current_user) if record is not None else None
    if record is None or found is None:
        raise NotFound()
    _filename, content_type, content = found
    response = Response(content, mimetype=content_type)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="consent-{record.id}{_suffix(content_type)}"'
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _suffix(content_type: str) -> str:
    return {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}.get(content_type, "")


@bp.route("/<int:client_id>/edit", methods=["GET", "POST"])
@roles_required(*WRITERS)
def edit(client_id: int) -> ResponseReturnValue:
    client = services.load_client(client_id, current_user)
    form = client_form()
    form.region_code.choices = _region_choices()
    if request.method == "GET":
        form.fill_from(services.client_input(client))
        form.version.data = str(client.version)
        services.read_profile(client, current_user, page="edit")  # the form shows the full ID number
        return render_template("registry/form.html", form=form, mode="edit", client=client)
    typed = form.to_input()
    try:
        with attempt():
            services.update_client(client, typed, current_user, form.version.data)
    except services.StaleVersion as exc:
        form.version.data = str(exc.current_version)
        conflicts = [{**change, "yours": _typed_value(typed, change["field"])} for change in exc.changes]
        flash(exc.detail, "error")
        return (
            render_template("registry/form.html", form=form, mode="edit", client=client, conflicts=conflicts),
            409,
        )
    except duplicates.DuplicateId as exc:
        apply_errors(form, exc, FIELD_MAP)
        return render_template(
            "registry/form.html", form=form, mode="edit", client=client, existing_id=exc.existing_id
        ), 409
    except ValidationFailed as exc:
        apply_errors(form, exc, FIELD_MAP)
        return render_template("registry/form.html", form=form, mode="edit", client=client), 422
    flash(_("Changes saved."), "success")
    return redirect(url_for("registry.profile", client_id=client.id))


def _typed_value(typed: dict[str, Any], name: str) -> Any:
    if name.startswith("consent_"):
        return typed["consent"].get(name.removeprefix("consent_"))
    return typed.get(name)


@bp.route("/<int:client_id>/members", methods=["POST"])
@roles_required(*WRITERS)
def add_member(client_id: int) -> ResponseReturnValue:
    client = services.load_client(client_id, current_user)
    form = MemberForm()
    try:
        with attempt():
            member = members.add_household_member(client, form.data, current_user)
    except ValidationFailed as exc:
        apply_errors(form, exc)
        return _profile_page(client, 422, member_form=form)
    flash(_("%(name)s added to the household.", name=member.full_name), "success")
    return redirect(url_for("registry.profile", client_id=client.id) + "#household")


@bp.route("/<int:client_id>/members/<int:member_id>/edit", methods=["GET", "POST"])
@roles_required(*WRITERS)
def edit_member(client_id: int, member_id: int) -> ResponseReturnValue:
    client = services.load_client(client_id, current_user)
    member = members.get_member(client, member_id)
    form = MemberForm()
    if request.method == "GET":
        form.fill_from(members.member_input(member))
        return render_template("registry/member_form.html", form=form, client=client, member=member)
    try:
        with attempt():
            members.update_household_member(client, member, form.data, current_user)
    except ValidationFailed as exc:
        apply_errors(form, exc)
        return render_template("registry/member_form.html", form=form, client=client, member=member), 422
    flash(_("Household member %(name)s saved.", name=member.full_name), "success")
    return redirect(url_for("registry.profile", client_id=client.id) + "#household")


@bp.route("/<int:client_id>/members/<int:member_id>/remove", methods=["POST"])
@roles_required(*WRITERS)
def remove_member(client_id: int, member_id: int) -> ResponseReturnValue:
    client = services.load_client(client_id, current_user)
    member = members.get_member(client, member_id)
    name = member.full_name
    try:
        with attempt():
            members.remove_household_member(client, member, current_user)
    except ValidationFailed as exc:
        flash(exc.detail, "error")
        for messages in exc.errors.values():
            for message in messages:
                flash(message, "error")
        return redirect(url_for("registry.profile", client_id=client.id) + "#household")
    flash(_("%(name)s removed from the household.", name=name), "success")
    return redirect(url_for("registry.profile", client_id=client.id) + "#household")


@bp.route("/<int:client_id>/household/head", methods=["POST"])
@roles_required(*WRITERS)
def change_head(client_id: int) -> ResponseReturnValue:
    client = services.load_client(client_id, current_user)
    form = HeadForm()
    try:
        with attempt():
            change = households.change_head(client, form.member_id.data, current_user)
    except ValidationFailed as exc:
        apply_errors(form, exc)
        return _profile_page(client, 422, head_form=form)
    flash(_("%(name)s is now the head of the household.", name=change.new_head.full_name), "success")
    if change.to_review:
        flash(
            _(
                "These relationships could not be worked out and are now “Other”: check them: %(names)s.",
                names=", ".join(change.to_review),
            ),
            "warning",
        )
    return redirect(url_for("registry.profile", client_id=client.id) + "#household")


@bp.route("/<int:client_id>/household/move", methods=["POST"])
@roles_required(*WRITERS)
def move_household(client_id: int) -> ResponseReturnValue:
    client = services.load_client(client_id, current_user)
    form = MoveForm(prefix="move")
    try:
        with attempt():
            household = households.move_client(client, form.data, current_user)
    except ValidationFailed as exc:
        apply_errors(form, exc)
        return _profile_page(client, 422, move_form=form)
    flash(
        _("%(name)s is now in household %(id)d.", name=client.full_name, id=household.id),
        "success",
    )
    return redirect(url_for("registry.profile", client_id=client.id) + "#household")


@bp.route("/review")
@roles_required(*REVIEWERS)
def review() -> ResponseReturnValue:
    page, per_page = page_args(strict=False)
    result = merging.review_queue(current_user, page, per_page)
    # The pairs are already scoped: the previews read only these records' households.
    previews = households.merge_previews(result.items)
    audit.record_list(
        "duplicate.list",
        "client",
        [cid for pair in result.items for cid in (pair.client_id, pair.other_client_id)],
        page=result.page,
        total=result.total,
    )
    return render_template("registry/review.html", page=result, previews=previews)


@bp.route("/review/<int:candidate_id>/distinct", methods=["POST"])
@roles_required(*REVIEWERS)
def mark_distinct(candidate_id: int) -> ResponseReturnValue:
    candidate = merging.get_candidate(candidate_id, current_user)
    merging.mark_distinct(candidate, current_user)
    flash(_("Marked as two different people."), "success")
    return redirect(url_for("registry.review"))


@bp.route("/review/<int:candidate_id>/merge", methods=["POST"])
@roles_required(*REVIEWERS)
def merge(candidate_id: int) -> ResponseReturnValue:
    candidate = merging.get_candidate(candidate_id, current_user)
    if candidate.status != "open":
        flash(_("This pair was already decided."), "error")
        return redirect(url_for("registry.review"))
    keep_id = request.form.get("keep", "")
    pair = {
        str(candidate.client_id): candidate.client,
        str(candidate.other_client_id): candidate.other_client,
    }
    if keep_id not in pair:
        flash(_("Choose which record to keep."), "error")
        return redirect(url_for("registry.review"))
    keep = pair.pop(keep_id)
    duplicate = next(iter(pair.values()))
    try:
        # A redirect commits: the attempt undoes whatever the merge had begun before it was refused.
        with attempt():
            merged = merging.merge_clients(keep, duplicate, current_user)
    except Conflict as exc:
        flash(exc.detail, "error")
        return redirect(url_for("registry.review"))
    message = _("Merged: record #%(dup)d now lives on in #%(keep)d.", dup=duplicate.id, keep=keep.id)
    if merged.households:
        message += " " + households.describe_merge(merged.households)
    flash(message, "success")
    return redirect(url_for("registry.review"))


# --- bulk import ---------------------------------------------------------------------------------


def _batch_or_404(batch_id: int) -> ImportBatch:
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None or (batch.uploaded_by_id != current_user.id and not sees_everything()):
        raise NotFound()
    return batch


@bp.route("/import", methods=["GET", "POST"])
@roles_required(*WRITERS)
def import_page() -> ResponseReturnValue:
    form = ImportForm()
    recent = db.session.scalars(
        select(ImportBatch)
        .where(ImportBatch.uploaded_by_id == current_user.id)
        .order_by(ImportBatch.id.desc())
        .limit(10)
    )
    if request.method == "GET":
        return render_template("registry/import.html", form=form, recent=list(recent))
    if not form.validate_on_submit():
        return render_template("registry/import.html", form=form, recent=list(recent)), 422
    upload = form.file.data
    filename = (upload.filename or "upload.csv")[-200:]
    content = upload.read()
    try:
        total = importer.count_rows(filename, content)
    except importer.ImportFileError as exc:
        form.file.errors = [str(exc)]
        return render_template("registry/import.html", form=form, recent=list(recent)), 422
    batch = services.start_import(filename, content, total, current_user)
    enqueue_after_commit(jobs.import_clients, batch.id, job_timeout=1800)
    return redirect(url_for("registry.import_status_page", batch_id=batch.id))


@bp.route("/import/<int:batch_id>")
@roles_required(*WRITERS)
def import_status_page(batch_id: int) -> ResponseReturnValue:
    return render_template("registry/import_status.html", batch=_batch_or_404(batch_id))


@bp.route("/import/<int:batch_id>/status")
@roles_required(*WRITERS)
def import_status(batch_id: int) -> ResponseReturnValue:
    batch = _batch_or_404(batch_id)
    return jsonify(
        {
            "status": batch.status,
            "total": batch.total_rows,
            "processed": batch.processed_rows,
            "imported": batch.imported,
            "already_registered": batch.already_registered,
            "skipped": len(batch.errors or []),
            "done": batch.status in ("done", "failed"),
        }
    )


@bp.route("/import/<int:batch_id>/report.csv")
@roles_required(*WRITERS)
def import_report(batch_id: int) -> ResponseReturnValue:
    batch = _batch_or_404(batch_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([_("row"), _("reason")])
    writer.writerows(batch.errors or [])
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=import-{batch.id}-skipped-rows.csv"},
    )


@bp.route("/import/sample.csv")
@roles_required(*WRITERS)
def import_sample() -> ResponseReturnValue:
    return Response(
        importer.sample_csv(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=clients-sample.csv"},
    )


@bp.route("/import/sample.xlsx")
@roles_required(*WRITERS)
def import_sample_xlsx() -> ResponseReturnValue:
    return Response(
        importer.sample_xlsx(),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": "attachment; filename=clients-sample.xlsx"},
    )


def home_context(user: User) -> dict[str, Any]:
    review_count = 0
    if policies.can_review_duplicates(user):
        review_count = merging.review_queue(user, 1, 1).total
    return {"can_register": policies.can_register_client(user), "review_count": review_count}

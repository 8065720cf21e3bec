"""Referral pages: create from a screening, lists, the agency inbox, a referral, decisions, admin."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from redis.exceptions import RedisError
from rq import Worker
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

from srs.core import audit
from srs.core.access import login_required, roles_required
from srs.core.errors import ServiceError
from srs.core.forms import apply_errors
from srs.core.idempotency import idempotent_form
from srs.core.ids import parse_id
from srs.core.pagination import page_args, paginate
from srs.core.queue import get_queue
from srs.core.redis import get_redis
from srs.core.transaction import attempt
from srs.extensions import db
from srs.programmes.models import Screening
from srs.referrals import channels, notice_inbox, policies, queries
from srs.referrals import overdue as overdue_measures
from srs.referrals import services as svc
from srs.referrals.forms import (
    AcceptForm,
    CancelForm,
    CompleteForm,
    CreateReferralsForm,
    DeclineForm,
    PlainForm,
)
from srs.referrals.models import Referral
from srs.registry import consent
from srs.registry import services as registry_services

bp = Blueprint("referrals", __name__, url_prefix="/referrals")
admin_bp = Blueprint("referrals_admin", __name__, url_prefix="/admin")


@bp.route("/new", methods=["GET", "POST"])
@roles_required("officer", "supervisor")
@idempotent_form
def new() -> ResponseReturnValue:
    """The referral form on its own page (the screening result shows the same form in its slot)."""
    form = CreateReferralsForm()
    client = registry_services.load_client(request.values.get("client_id"), current_user)
    screening = None
    raw_screening = request.values.get("screening_id")
    if raw_screening:
        screening_pk = parse_id(raw_screening)
        screening = db.session.get(Screening, screening_pk) if screening_pk is not None else None
        if screening is None or screening.client_id != client.id:
            abort(404)
    options = queries.programme_options(client, screening, str(get_locale()))
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                with attempt():
                    referrals = svc.create_referrals(
                        svc.NewReferrals(
                            client=client,
                            programme_ids=list(form.programmes.data or []),
                            note=form.note.data,
                            screening_id=screening.id if screening else None,
                            consent_confirmed=bool(form.consent.data),
                            consent_override_reason=form.consent_override_reason.data,
                        ),
                        current_user,
                    )
            except ServiceError as exc:
                apply_errors(form, exc)
                return render_template(
                    "referrals/new.html", form=form, client=client, screening=screening, options=options
                ), exc.status
            flash(
                _(
                    "%(count)d referral(s) saved; they are being delivered to the agencies.",
                    count=len(referrals),
                ),
                "success",
            )
            return redirect(url_for("referrals.index", client_id=client.id))
        flash(_("Please correct the marked fields."), "error")
        return render_template(
            "referrals/new.html", form=form, client=client, screening=screening, options=options
        ), 422
    audit.record("client.view", "client", client.id, page="referral_form")
    return render_template(
        "referrals/new.html", form=form, client=client, screening=screening, options=options
    )


@bp.route("/")
@roles_required("officer", "supervisor", "admin")
def index() -> ResponseReturnValue:
    page, per_page = page_args(strict=False)
    status = request.args.get("status") or None
    if status not in svc.STATUS_LABELS:
        status = None
    programme = request.args.get("programme") or None
    attention = request.args.get("attention") == "1"
    overdue = overdue_measures.parse_filter(request.args.get("overdue"))
    stmt = svc.list_query(current_user, status, programme, attention, overdue)
    if request.args.get("client_id"):
        # A client id that names no record (0, text, too large) lists nothing rather than everything.
        stmt = stmt.where(Referral.client_id == (parse_id(request.args["client_id"]) or 0))
    result = paginate(stmt, page, per_page)
    _audit_list(
        "referral.list", result, status=status, programme=programme, attention=attention, overdue=overdue
    )
    return render_template(
        "referrals/index.html",
        page=result,
        rows=queries.rows(result.items, current_user),
        filters={
            "status": status or "",
            "programme": programme or "",
            "attention": attention,
            "overdue": request.args.get("overdue") if overdue else "",
        },
        programmes=queries.programme_choices(current_user),
    )


@bp.route("/inbox")
@roles_required("agency_staff")
def inbox() -> ResponseReturnValue:
    page, per_page = page_args(strict=False)
    status = request.args.get("status", "delivered")
    if status not in svc.STATUS_LABELS and status != "all":
        status = "delivered"
    programme = request.args.get("programme") or None
    overdue = overdue_measures.parse_filter(request.args.get("overdue"))
    stmt = svc.list_query(current_user, None if status == "all" else status, programme, overdue=overdue)
    result = paginate(stmt, page, per_page)
    _audit_list("referral.inbox", result, status=status, programme=programme, overdue=overdue)
    return render_template(
        "referrals/inbox.html",
        page=result,
        rows=queries.rows(result.items, current_user),
        counts=queries.inbox_counts(current_user),
        unread_notices=notice_inbox.unread_count(current_user),
        filters={
            "status": status,
            "programme": programme or "",
            "overdue": request.args.get("overdue") if overdue else "",
        },
        programmes=queries.programme_choices(current_user),
    )


@bp.route("/notices")
@roles_required("agency_staff")
def notices() -> ResponseReturnValue:
    """Corrections and erasure requests about clients the agency received, newest first."""
    page, per_page = page_args(strict=False)
    result = paginate(notice_inbox.notices_query(current_user), page, per_page)
    audit.record_list("referral.notices", "referral", [m.referral_id for m in result.items], page=result.page)
    return render_template(
        "referrals/notices.html",
        page=result,
        notices=[notice_inbox.describe(m) for m in result.items],
        unread=notice_inbox.unread_count(current_user),
    )


@bp.route("/notices/<notice_id>")
@roles_required("agency_staff")
def notice(notice_id: str) -> ResponseReturnValue:
    """One notice; opening it marks it read for the agency."""
    shown = notice_inbox.open_notice(notice_id, current_user)
    return render_template("referrals/notice.html", notice=shown)


@bp.route("/overdue")
@roles_required("supervisor", "admin")
def overdue() -> ResponseReturnValue:
    """Overdue referrals in scope, both measures or one (``?kind=``), most overdue first."""
    page, per_page = page_args(strict=False)
    kind = request.args.get("kind")
    if kind not in overdue_measures.KINDS:
        kind = None
    stmt = svc.list_query(current_user, overdue=kind or "any")
    # Most overdue first; the id keeps pages stable between equal due times.
    stmt = stmt.order_by(None).order_by(Referral.due_at, Referral.id)
    result = paginate(stmt, page, per_page)
    _audit_list("referral.list", result, overdue=kind or "any")
    return render_template(
        "referrals/overdue.html",
        page=result,
        rows=queries.rows(result.items, current_user),
        kind=kind,
        counts=queries.overdue_counts(current_user),
    )


def _audit_list(action: str, result: Any, **query: Any) -> None:
    if request.args.get("client_id"):
        query["client_id"] = request.args["client_id"]
    audit.record_list(
        action,
        "referral",
        [r.id for r in result.items],
        query=query,
        page=result.page,
        total=result.total,
        client_ids=sorted({r.client_id for r in result.items}),
    )


@bp.route("/<int:referral_id>")
@login_required
def detail(referral_id: int) -> ResponseReturnValue:
    referral = svc.load_referral(referral_id, current_user)
    audit.record("referral.view", "referral", referral.id, client_id=referral.client_id)
    return _render_detail(referral)


def _render_detail(
    referral: Referral, forms: dict[str, Any] | None = None, status: int = 200
) -> ResponseReturnValue:
    forms = forms or {}
    allowed = svc.allowed_actions(referral, current_user)
    defaults = {"version": referral.version}
    all_forms = {
        "accept": forms.get("accept") or AcceptForm(formdata=None, data=defaults),
        "decline": forms.get("decline") or DeclineForm(formdata=None, data=defaults),
        "complete": forms.get("complete") or CompleteForm(formdata=None, data=defaults),
        "cancel": forms.get("cancel") or CancelForm(formdata=None, data=defaults),
    }
    programme = svc.referral_programme(referral)
    client = queries.client_of(referral)
    agency_view = policies.works_for_agency(current_user)
    withheld = not svc.shares_client_data(referral)
    failed = queries.failed_messages(referral)
    return render_template(
        "referrals/detail.html",
        referral=referral,
        programme=programme,
        client=None if agency_view and withheld else client,
        agency_view=agency_view,
        withheld=withheld,
        consent_state=None if agency_view else consent.state(client),
        shared_fields=[] if withheld else svc.shared_client_fields(referral),
        history=svc.history(referral, withhold_notes=agency_view and withheld),
        allowed=allowed,
        forms=all_forms,
        failed=failed,
        overdue=svc.overdue_kind(referral),
        retry_form=PlainForm(),
    ), status


def _act(referral_id: int, name: str, form_class: type) -> Any:
    referral = svc.load_referral(referral_id, current_user)
    form = form_class()
    if not form.validate_on_submit():
        flash(_("Please correct the marked fields."), "error")
        return _render_detail(referral, {name: form}, 422)
    action = svc.Action(
        name=name,
        note=form.note.data,
        reason=getattr(form, "reason", None) and form.reason.data,
        outcome=getattr(form, "outcome", None) and form.outcome.data,
        version=form.version.data,
    )
    try:
        with attempt():
            svc.apply_action(referral, action, current_user)
    except ServiceError as exc:
        apply_errors(form, exc)
        form.version.data = referral.version if exc.status == 409 else form.version.data
        return _render_detail(referral, {name: form}, exc.status)
    messages = {
        "accept": _("Referral accepted."),
        "decline": _("Referral declined."),
        "complete": _("Referral completed."),
        "cancel": _("Referral cancelled."),
    }
    flash(messages[name], "success")
    return redirect(url_for("referrals.detail", referral_id=referral_id))


@bp.route("/<int:referral_id>/accept", methods=["POST"])
@roles_required("agency_staff")
def accept(referral_id: int) -> ResponseReturnValue:
    return _act(referral_id, "accept", AcceptForm)


@bp.route("/<int:referral_id>/decline", methods=["POST"])
@roles_required("agency_staff")
def decline(referral_id: int) -> ResponseReturnValue:
    return _act(referral_id, "decline", DeclineForm)


@bp.route("/<int:referral_id>/complete", methods=["POST"])
@roles_required("agency_staff")
def complete(referral_id: int) -> ResponseReturnValue:
    return _act(referral_id, "complete", CompleteForm)


@bp.route("/<int:referral_id>/cancel", methods=["POST"])
@roles_required("officer", "supervisor")
def cancel(referral_id: int) -> ResponseReturnValue:
    return _act(referral_id, "cancel", CancelForm)


@bp.route("/<int:referral_id>/retry", methods=["POST"])
@roles_required("officer", "supervisor", "admin")
def retry(referral_id: int) -> ResponseReturnValue:
    referral = svc.load_referral(referral_id, current_user)
    form = PlainForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with attempt():
            count = svc.retry_delivery(referral, current_user)
    except ServiceError as exc:
        flash(exc.detail, "error")
        return redirect(url_for("referrals.detail", referral_id=referral_id))
    flash(_("Delivery retried (%(count)d message(s)).", count=count), "success")
    return redirect(url_for("referrals.detail", referral_id=referral_id))


# ---------------------------------------------------------------- admin: queues and mail


@admin_bp.route("/queues")
@roles_required("admin")
def queues() -> ResponseReturnValue:
    queue_rows: list[dict[str, Any]] = []
    failed_jobs: list[dict[str, Any]] = []
    redis_ok = True
    try:
        connection = get_redis()
        for name in _queue_names():
            queue = get_queue(name)
            registry = FailedJobRegistry(queue=queue)
            queue_rows.append(
                {
                    "name": name,
                    "queued": queue.count,
                    "started": queue.started_job_registry.count,
                    "failed": registry.count,
                    "workers": len(Worker.all(queue=queue)),
                }
            )
            for job_id in registry.get_job_ids(0, 49):
                try:
                    job = Job.fetch(job_id, connection=connection, serializer=JSONSerializer)
                except Exception:  # a job whose data expired: show the id only
                    failed_jobs.append({"id": job_id, "queue": name, "func": "?", "error": ""})
                    continue
                result = job.latest_result()
                error = ((result.exc_string if result is not None else "") or "").strip().splitlines()
                failed_jobs.append(
                    {
                        "id": job.id,
                        "queue": name,
                        "func": job.func_name,
                        "args": job.args,
                        "error": error[-1] if error else "",
                    }
                )
    except RedisError:
        redis_ok = False
    backlog = queries.outbox_backlog()
    failed_messages = queries.problem_messages(50)
    return render_template(
        "referrals/admin_queues.html",
        queues=queue_rows,
        failed_jobs=failed_jobs,
        redis_ok=redis_ok,
        backlog=backlog,
        messages=failed_messages,
        form=PlainForm(),
    )


def _queue_names() -> list[str]:
    from flask import current_app

    return list(current_app.config["QUEUE_NAMES"])


@admin_bp.route("/queues/failed/<job_id>/requeue", methods=["POST"])
@roles_required("admin")
def requeue(job_id: str) -> ResponseReturnValue:
    form = PlainForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        for name in _queue_names():
            registry = FailedJobRegistry(queue=get_queue(name))
            if job_id in registry.get_job_ids():
                registry.requeue(job_id)
                audit.record("queue.requeue", "job", job_id)
                flash(_("Job requeued."), "success")
                return redirect(url_for("referrals_admin.queues"))
    except RedisError:
        flash(_("The queue server is not answering; try again later."), "error")
        return redirect(url_for("referrals_admin.queues"))
    abort(404)


@admin_bp.route("/mail")
@roles_required("admin")
def mail_list() -> ResponseReturnValue:
    return render_template("referrals/admin_mail.html", mails=channels.list_mails())


@admin_bp.route("/mail/<name>")
@roles_required("admin")
def mail_view(name: str) -> ResponseReturnValue:
    mail = channels.read_mail(name)
    if mail is None:
        abort(404)
    return render_template("referrals/admin_mail_view.html", mail=mail)

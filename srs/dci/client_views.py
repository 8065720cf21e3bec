"""Pages of SRS as a DCI client: national registries (admin), the registry check on a client's
profile, civil-registry events (officers), and the inbound endpoints registries call back.

Views are thin: load in scope, check the form, call one service, answer.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from srs.accounts.models import User
from srs.core import audit
from srs.core.access import public, roles_required
from srs.core.errors import ServiceError, ValidationFailed
from srs.core.forms import apply_errors
from srs.core.pagination import page_args, paginate
from srs.core.transaction import attempt
from srs.dci import crvs, lookup
from srs.dci import envelope as env
from srs.dci import registries as registry_service
from srs.dci.forms import CivilEventForm, RegistryForm, TakeOverForm
from srs.dci.models import CivilEvent, NationalRegistry, RegistryCheck
from srs.dci.policies import CORRECTORS
from srs.extensions import db
from srs.regions.scope import load_in_scope
from srs.registry import policies as registry_policies
from srs.registry import services as registry_services
from srs.registry.models import Client

bp = Blueprint("dci_client", __name__)
admin_bp = Blueprint("dci_registries", __name__, url_prefix="/admin/dci/registries")
inbound_bp = Blueprint("dci_inbound", __name__, url_prefix="/dci/inbound")

STAFF = ("officer", "supervisor", "admin")
TAKE_LABELS = {
    "poverty_status": _l("Poverty status"),
    "welfare_decile": _l("Welfare decile (1-10)"),
    "household_size": _l("Household size"),
}


# ---------------------------------------------------------------- the check on a client's profile


def registry_panel(client: Any) -> dict[str, Any]:
    """What the national-registry panel on the profile shows (the profile page calls the slot)."""
    if not registry_policies.can_read_clients(current_user):
        return {"visible": False}
    target = lookup.registry_for(client)
    checks = lookup.checks_of(client)
    return {
        "visible": target is not None or bool(checks),
        "registry": target,
        "checks": checks[:5],
        "latest": checks[0] if checks else None,
        "can_check": target is not None and client.id_type in ("nik", "vn_pid") and bool(client.id_number),
        "labels": {k: str(v) for k, v in TAKE_LABELS.items()},
    }


@bp.route("/clients/<client_id>/national-registry", methods=["POST"])
@roles_required(*STAFF)
def check(client_id: str) -> ResponseReturnValue:
    client = registry_services.load_client(client_id, current_user)
    try:
        with attempt():
            result = lookup.start_check(client, current_user)
    except ValidationFailed as exc:
        flash(exc.detail, "error")
        return redirect(url_for("registry.profile", client_id=client.id), 303)
    if result.status == "found":
        flash(_("The national registry holds this person; compare and take over what is right."), "success")
    elif result.status == "not_found":
        flash(_("The national registry holds no one with this ID number."), "info")
    elif result.status == "pending":
        flash(_("The national registry will answer shortly; its answer appears here."), "info")
    else:
        flash(
            _(
                "The national registry did not answer (%(reason)s). Nothing is lost; retry later.",
                reason=result.error,
            ),
            "error",
        )
    return redirect(url_for("registry.profile", client_id=client.id, _anchor="national-registry"), 303)


@bp.route("/clients/<client_id>/national-registry/<int:check_id>/take-over", methods=["POST"])
@roles_required(*CORRECTORS)
def take_over(client_id: str, check_id: int) -> ResponseReturnValue:
    client = registry_services.load_client(client_id, current_user)
    found = db.session.scalar(
        select(RegistryCheck).where(RegistryCheck.id == check_id, RegistryCheck.client_id == client.id)
    )
    if found is None:
        abort(404)
    form = TakeOverForm()
    if not form.validate_on_submit():
        flash(_("The form expired; please try again."), "error")
    else:
        try:
            with attempt():
                lookup.take_over(found, list(form.fields.data or []), current_user)
        except ServiceError as exc:
            # The record is validated whole: say which of its fields stand in the way.
            reasons = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in exc.errors.items())
            flash(f"{exc.detail} {reasons}".strip(), "error")
        else:
            flash(_("Taken over from %(name)s.", name=found.source.name), "success")
    return redirect(url_for("registry.profile", client_id=client.id, _anchor="national-registry"), 303)


# ---------------------------------------------------------------- civil-registry events


@bp.route("/civil-events")
@roles_required(*STAFF)
def civil_events() -> ResponseReturnValue:
    stmt = crvs.open_events_query(current_user)
    if request.args.get("show") == "done":
        stmt = crvs.done_events_query(current_user)
    number, per_page = page_args(strict=False)
    page = paginate(stmt, number, per_page)
    audit.record_list("dci.civil_events", "client", [e.client_id for e in page.items], user=current_user)
    return render_template("dci/civil_events.html", page=page, show=request.args.get("show"))


def _event_in_scope(event_id: int) -> CivilEvent:
    event = db.session.scalar(crvs.in_scope(current_user).where(CivilEvent.id == event_id))
    if event is None:
        abort(404)
    return event


@bp.route("/civil-events/<int:event_id>", methods=["GET", "POST"])
@roles_required(*STAFF)
def civil_event(event_id: int) -> ResponseReturnValue:
    event = _event_in_scope(event_id)
    # The event names the record the civil registry matched, even one merged away since.
    client = load_in_scope(Client, event.client_id, current_user)
    form = CivilEventForm()
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                with attempt():
                    crvs.settle(event, form.outcome.data or "", current_user)
            except ServiceError as exc:
                flash(exc.detail, "error")
            else:
                flash(_("Task done."), "success")
                return redirect(url_for("dci_client.civil_events"), 303)
        return render_template("dci/civil_event.html", event=event, client=client, form=form), 422
    audit.record("client.read", "client", client.id, user=current_user, page="civil_event")
    return render_template("dci/civil_event.html", event=event, client=client, form=form)


def home_civil_events(user: User) -> dict[str, Any]:
    """The officer's home section: open births and deaths from the civil registry in their area."""
    events = list(db.session.scalars(crvs.open_events_query(user).limit(5)))
    return {"events": events, "total": crvs.open_count(user) if events else 0}


# ---------------------------------------------------------------- administrators: the registries


@admin_bp.route("/")
@roles_required("admin")
def registries() -> ResponseReturnValue:
    return render_template(
        "dci/registries.html",
        registries=registry_service.list_registries(),
        callback_base=lookup.callback_base,
    )


def _input(form: RegistryForm) -> registry_service.RegistryInput:
    return registry_service.RegistryInput(
        kind=form.kind.data or "social",
        name=(form.name.data or "").strip(),
        country=form.country.data or "ID",
        base_url=(form.base_url.data or "").strip(),
        receiver_id=(form.receiver_id.data or "").strip(),
        auth_token=form.auth_token.data or None,
        public_key=(form.public_key.data or "").strip() or None,
        timeout_seconds=float(form.timeout_seconds.data or 5),
        answers_async=bool(form.answers_async.data),
        active=bool(form.active.data),
    )


@admin_bp.route("/new", methods=["GET", "POST"], defaults={"registry_id": None})
@admin_bp.route("/<int:registry_id>", methods=["GET", "POST"])
@roles_required("admin")
def edit_registry(registry_id: int | None) -> ResponseReturnValue:
    row = db.get_or_404(NationalRegistry, registry_id) if registry_id is not None else None
    form = RegistryForm(obj=row) if request.method == "GET" and row is not None else RegistryForm()
    if request.method == "GET" and row is not None:
        form.auth_token.data = ""
    if form.validate_on_submit():
        try:
            with attempt():
                row = registry_service.save_registry(row, _input(form), current_user)
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            flash(_("Registry %(name)s saved.", name=row.name), "success")
            return redirect(url_for("dci_registries.registries"), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("dci/registry_form.html", form=form, registry=row), status


@admin_bp.route("/<int:registry_id>/subscribe", methods=["POST"])
@roles_required("admin")
def subscribe(registry_id: int) -> ResponseReturnValue:
    row = db.get_or_404(NationalRegistry, registry_id)
    try:
        with attempt():
            crvs.subscribe(row, current_user)
    except ValidationFailed as exc:
        flash(exc.detail, "error")
    else:
        if row.subscription_status == "requested":
            flash(_("Subscription requested; the civil registry confirms it by callback."), "success")
        else:
            flash(
                _("The civil registry did not take the subscription; check its address and retry."), "error"
            )
    return redirect(url_for("dci_registries.registries"), 303)


# ---------------------------------------------------------------- registries calling SRS back


def _ack(action: str, body: Any, error: str | None = None, status: int = 200) -> Any:
    message = body.get("message") if isinstance(body, dict) else None
    correlation = (message or {}).get("correlation_id") if isinstance(message, dict) else None
    answer = env.ack(
        action,
        str(correlation or env.new_id()),
        error_code="err.request.bad" if error else None,
        error_message=error,
    )
    response = jsonify(answer)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _registry_by_token(token: str) -> NationalRegistry:
    row = db.session.scalar(
        select(NationalRegistry).where(
            NationalRegistry.inbound_token == token, NationalRegistry.active.is_(True)
        )
    )
    if row is None:
        abort(404)
    return row


@inbound_bp.route("/<token>/", methods=["POST"])
@public
def base(token: str) -> ResponseReturnValue:
    """The callback base a registry is given; only the actions below it are answered."""
    abort(404)


@inbound_bp.route("/<token>/<action>", methods=["POST"])
@public
def receive(token: str, action: str) -> ResponseReturnValue:
    registry = _registry_by_token(token)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _ack(action, None, "The body must be a JSON envelope.", 400)
    problem = lookup.verify_signature(registry, body)
    if problem:
        return _ack(action, body, f"The message's {problem}.", 401)
    try:
        with attempt():
            if action == "on-search" and registry.kind == "social":
                lookup.receive_on_search(registry, body)
            elif action == "on-subscribe" and registry.kind == "crvs":
                crvs.receive_on_subscribe(registry, body)
            elif action == "notify" and registry.kind == "crvs":
                crvs.receive_notify(registry, body)
            else:
                abort(404)
    except ServiceError as exc:
        return _ack(action, body, exc.detail, 400)
    return _ack(action, body)

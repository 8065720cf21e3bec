"""Privacy pages: a person's requests (record, answer, extend, close), the copy of their data, the
correction through the normal edit form, and the list of open requests for officers and supervisors.

Thin views: load in scope (404 outside it), call one service, answer. Bad input shows the page again
with the messages and what was typed (422), never a 500.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user

from srs.accounts.models import User
from srs.core import audit
from srs.core.access import roles_required
from srs.core.errors import Conflict, ValidationFailed
from srs.core.forms import apply_errors
from srs.core.pagination import page_args, paginate
from srs.core.transaction import attempt
from srs.core.wiring import TimelineItem
from srs.privacy import export as exporting
from srs.privacy import policies
from srs.privacy import requests as ledger
from srs.privacy.models import DataSubjectRequest
from srs.registry import services as registry
from srs.registry.forms import FIELD_MAP, client_form
from srs.registry.models import Client
from srs.registry.views import _region_choices  # the same region list as the normal edit

bp = Blueprint("privacy", __name__)

STAFF = policies.STAFF
READERS = policies.READERS


def _labels() -> dict[str, Any]:
    return {
        "kind_labels": ledger.KIND_LABELS,
        "channel_labels": ledger.CHANNEL_LABELS,
        "outcome_labels": ledger.OUTCOME_LABELS,
        "is_overdue": ledger.is_overdue,
    }


@bp.context_processor
def _inject() -> dict[str, Any]:
    return _labels()


def _client_page(
    client: Client,
    status: int = 200,
    errors: dict[str, list[str]] | None = None,
    typed: dict[str, Any] | None = None,
) -> ResponseReturnValue:
    return (
        render_template(
            "privacy/requests.html",
            client=client,
            requests=ledger.requests_of(client),
            errors=errors or {},
            typed=typed or {},
            can_act=policies.can_serve_requests(current_user),
        ),
        status,
    )


@bp.route("/clients/<int:client_id>/requests")
@roles_required(*READERS)
def client_requests(client_id: int) -> ResponseReturnValue:
    return _client_page(registry.load_client(client_id, current_user))


@bp.route("/clients/<int:client_id>/requests", methods=["POST"])
@roles_required(*STAFF)
def record_request(client_id: int) -> ResponseReturnValue:
    client = registry.load_client(client_id, current_user)
    typed = {k: request.form.get(k) for k in ("kind", "received_via", "note")}
    try:
        with attempt():
            recorded = ledger.record_request(client, typed, current_user)
    except ValidationFailed as exc:
        return _client_page(client, 422, exc.errors, typed)
    flash(_("Request recorded; due %(due)s.", due=format_datetime(recorded.due_at, "short")), "success")
    return redirect(url_for("privacy.client_requests", client_id=client.id))


def _load(request_id: int) -> DataSubjectRequest:
    return ledger.get_request(request_id, current_user)


def _act(request_id: int, action: Any, success: str) -> Any:
    """One action on a request; bad input shows the client's requests again with the messages."""
    found = _load(request_id)
    typed = dict(request.form)
    try:
        with attempt():
            action(found, typed)
    except ValidationFailed as exc:
        found = _load(request_id)
        errors = {f"{request_id}-{k}": v for k, v in exc.errors.items()}
        return _client_page(found.client, 422, errors, {f"{request_id}-{k}": v for k, v in typed.items()})
    except Conflict as exc:
        flash(exc.detail, "error")
        return _client_page(_load(request_id).client, 409)
    flash(success, "success")
    return redirect(url_for("privacy.client_requests", client_id=found.client_id))


@bp.route("/requests/<int:request_id>/close", methods=["POST"])
@roles_required(*STAFF)
def close(request_id: int) -> ResponseReturnValue:
    return _act(request_id, lambda r, d: ledger.close_request(r, d, current_user), _("Request closed."))


@bp.route("/requests/<int:request_id>/answer", methods=["POST"])
@roles_required(*STAFF)
def answer(request_id: int) -> ResponseReturnValue:
    return _act(
        request_id, lambda r, d: ledger.mark_answered(r, current_user, d.get("note")), _("Answer recorded.")
    )


@bp.route("/requests/<int:request_id>/extend", methods=["POST"])
@roles_required(*STAFF)
def extend(request_id: int) -> ResponseReturnValue:
    return _act(request_id, lambda r, d: ledger.extend(r, d, current_user), _("Extension recorded."))


@bp.route("/clients/<int:client_id>/export")
@roles_required(*STAFF)
def export(client_id: int) -> ResponseReturnValue:
    """Everything SRS holds on the person: JSON (portability) or a PDF in their language (access)."""
    client = registry.load_client(client_id, current_user)
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "pdf"):
        raise ValidationFailed(_("Choose JSON or PDF."), {"format": [_("Choose json or pdf.")]})
    served = None
    if request.args.get("request"):
        served = ledger.get_request(request.args["request"], current_user)
        if served.client_id != client.id:
            raise ValidationFailed(
                _("This request is about another client."), {"request": [_("Not this client's.")]}
            )
    locale = exporting.language_for(client, request.args.get("lang"))
    data = exporting.export(client, current_user, fmt, locale, served)
    name = f"srs-client-{client.id}"
    if fmt == "pdf":
        body = exporting.render_pdf(data, locale)
        return Response(
            body,
            mimetype="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
        )
    response = jsonify(data)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.json"'
    return response


@bp.route("/requests/<int:request_id>/correct", methods=["GET", "POST"])
@roles_required("officer")
def correct(request_id: int) -> ResponseReturnValue:
    """The normal edit form, for a correction request: saving applies it and tells the agencies."""
    found = _load(request_id)
    client = ledger.correction_request(found.id, found.client, current_user).client
    form = client_form()
    form.region_code.choices = _region_choices()
    page = {"form": form, "mode": "edit", "client": client, "correction": found}
    if request.method == "GET":
        form.fill_from(registry.client_input(client))
        form.version.data = str(client.version)
        registry.read_profile(client, current_user, page="correction")
        return render_template("registry/form.html", **page)
    try:
        with attempt():
            changed = ledger.correct(found, form.to_input(), current_user, form.version.data)
    except registry.StaleVersion as exc:
        flash(exc.detail, "error")
        return render_template("registry/form.html", **page), 409
    except ValidationFailed as exc:
        apply_errors(form, exc, FIELD_MAP)
        return render_template("registry/form.html", **page), 422
    flash(
        _(
            "Correction saved (%(fields)s); the agencies that hold these fields are told.",
            fields=", ".join(changed) or "-",
        ),
        "success",
    )
    return redirect(url_for("privacy.client_requests", client_id=client.id))


@bp.route("/requests")
@roles_required(*READERS)
def list_requests() -> ResponseReturnValue:
    """Requests in the user's area, the nearest deadline first; ``?overdue=1`` keeps the late ones."""
    stmt = ledger.scoped_requests(current_user)
    status = request.args.get("status", "open")
    if status in ("open", "closed"):
        stmt = stmt.where(DataSubjectRequest.status == status)
    if request.args.get("overdue"):
        stmt = stmt.where(ledger.overdue_condition())
    stmt = stmt.order_by(DataSubjectRequest.due_at, DataSubjectRequest.id)
    page, per_page = page_args(strict=False)
    result = paginate(stmt, page, per_page)
    audit.record_list(
        "privacy.request.list",
        "client",
        [r.client_id for r in result.items],
        query={"status": status, "overdue": request.args.get("overdue")},
    )
    return render_template(
        "privacy/list.html", page=result, status=status, overdue=bool(request.args.get("overdue"))
    )


# ---------------------------------------------------------------- home page and profile


def home_officer(user: User) -> dict[str, Any]:
    """The officer's open requests, the nearest deadline first."""
    return {"requests": ledger.open_for(user, limit=10), **ledger.counts_for(user)}


def home_supervisor(user: User) -> dict[str, Any]:
    return ledger.counts_for(user)


def profile_panel(client: Any) -> dict[str, Any]:
    """What the privacy panel on the client profile shows."""
    if not policies.can_read_requests(current_user):
        return {"visible": False}
    requests = ledger.requests_of(client)
    return {
        "visible": True,
        "open": [r for r in requests if r.status == "open"],
        "closed": sum(1 for r in requests if r.status != "open"),
        "can_act": policies.can_serve_requests(current_user),
    }


def request_timeline(client: Any) -> list[TimelineItem]:
    """The client's requests about their data as timeline entries (received, closed)."""
    items: list[TimelineItem] = []
    url = url_for("privacy.client_requests", client_id=client.id)
    for found in ledger.requests_of(client):
        kind = ledger.KIND_LABELS.get(found.kind, found.kind)
        items.append(
            TimelineItem(found.received_at, "request", _("Request: %(kind)s", kind=kind), found.note, url=url)
        )
        if found.closed_at:
            outcome = ledger.OUTCOME_LABELS.get(found.outcome or "", found.outcome)
            title = _("Request closed: %(kind)s", kind=kind)
            items.append(TimelineItem(found.closed_at, "request", title, str(outcome), url=url))
    return items

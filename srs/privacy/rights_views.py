"""Pages for erasure, legal holds, restriction, human review, retention, breaches and the records of
processing (HTML; the API is srs/api/privacy_ops.py). Thin: load, check access, call one service."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from srs.accounts.models import User
from srs.core import audit
from srs.core.access import roles_required
from srs.core.errors import ServiceError
from srs.core.transaction import attempt
from srs.extensions import db
from srs.privacy import breaches, erasure, objection, policies, restriction, retention, ropa
from srs.programmes.models import OUTCOMES, Screening, ScreeningResult
from srs.referrals.models import Referral
from srs.registry import services as registry
from srs.registry.models import Client

bp = Blueprint("privacy_ops", __name__, url_prefix="/privacy")

STAFF = policies.STAFF


def _client(client_id: int) -> Client:
    return registry.load_client(client_id, current_user)


def _back(client: Client) -> Any:
    return redirect(url_for("registry.profile", client_id=client.id) + "#data-protection")


def _run(client: Client, action: Any, done: str) -> Any:
    """Run one service call, commit, and go back to the profile with what happened."""
    try:
        with attempt():
            action()
    except ServiceError as exc:
        messages = [exc.detail or str(exc.title)] + [m for ms in (exc.errors or {}).values() for m in ms]
        flash(" ".join(messages), "error")
        return _back(client)
    flash(done, "success")
    return _back(client)


@bp.route("/clients/<int:client_id>/erase", methods=["POST"])
@roles_required("supervisor")
def erase(client_id: int) -> ResponseReturnValue:
    client = _client(client_id)
    form = request.form
    return _run(
        client,
        lambda: erasure.erase(client, current_user, request_id=form.get("request_id"), note=form.get("note")),
        _("The record has been anonymised."),
    )


@bp.route("/clients/<int:client_id>/hold", methods=["POST"])
@roles_required("supervisor")
def hold(client_id: int) -> ResponseReturnValue:
    client = _client(client_id)
    return _run(
        client,
        lambda: erasure.set_hold(client, request.form.get("reason"), current_user),
        _("Legal hold set."),
    )


@bp.route("/clients/<int:client_id>/hold/lift", methods=["POST"])
@roles_required("supervisor")
def lift_hold(client_id: int) -> ResponseReturnValue:
    client = _client(client_id)
    return _run(client, lambda: erasure.lift_hold(client, current_user), _("Legal hold lifted."))


@bp.route("/clients/<int:client_id>/restrict", methods=["POST"])
@roles_required(*STAFF)
def restrict(client_id: int) -> ResponseReturnValue:
    client = _client(client_id)
    return _run(
        client,
        lambda: restriction.restrict(client, current_user, request.form.get("reason")),
        _("Processing restricted: the record is read-only and shared with nobody."),
    )


@bp.route("/clients/<int:client_id>/restrict/lift", methods=["POST"])
@roles_required(*STAFF)
def lift_restriction(client_id: int) -> ResponseReturnValue:
    client = _client(client_id)
    return _run(client, lambda: restriction.lift(client, current_user), _("Restriction lifted."))


@bp.route("/clients/<int:client_id>/reviews", methods=["POST"])
@roles_required(*STAFF)
def request_review(client_id: int) -> ResponseReturnValue:
    client = _client(client_id)
    return _run(
        client,
        lambda: objection.request_review(client, request.form.to_dict(), current_user),
        _("Sent for human review."),
    )


@bp.route("/reviews/<int:review_id>/decide", methods=["POST"])
@roles_required(*STAFF)
def decide_review(review_id: int) -> ResponseReturnValue:
    review = objection.get_review(review_id)
    client = _client(review.client_id)
    return _run(
        client,
        lambda: objection.decide(review, request.form.to_dict(), current_user),
        _("Your review has been recorded."),
    )


# ---------------------------------------------------------------- panels on other features' pages


def privacy_panel(client: Client) -> dict[str, Any]:
    """What the profile's privacy panel shows (a template global)."""
    results = list(
        db.session.scalars(
            select(ScreeningResult)
            .join(Screening, Screening.id == ScreeningResult.screening_id)
            .where(Screening.client_id == client.id)
            .order_by(ScreeningResult.id.desc())
            .limit(20)
        )
    )
    reviewers = list(
        db.session.scalars(
            select(User)
            .where(User.role.in_(objection.REVIEWER_ROLES), User.active.is_(True), User.id != current_user.id)
            .order_by(User.username)
        )
    )
    return {
        "erasure": erasure.erasure_of(client),
        "blockers": erasure.blockers(client) if client.anonymised_at is None else [],
        "hold": erasure.active_hold(client),
        "reviews": [objection.review_dict(r) for r in objection.reviews_of(client)],
        "results": results,
        "reviewers": [u for u in reviewers if registry.client_is_visible(client, u)],
        "outcomes": OUTCOMES,
    }


def referral_reviews(referral: Referral) -> list[dict[str, Any]]:
    """The human reviews of the screening a referral was made from, shown beside the automated outcome."""
    return [objection.review_dict(r) for r in objection.reviews_for_screening(referral.screening_id)]


# ---------------------------------------------------------------- admin: retention, breaches, ROPA


@bp.route("/retention")
@roles_required("admin")
def retention_page() -> ResponseReturnValue:
    return render_template("privacy/retention.html", lines=retention.plan())


@bp.route("/retention/run", methods=["POST"])
@roles_required("admin")
def retention_run() -> ResponseReturnValue:
    done = retention.apply(user=current_user)
    flash(_("Retention applied: %(done)s", done=", ".join(f"{k} {v}" for k, v in done.items())), "success")
    return redirect(url_for("privacy_ops.retention_page"))


@bp.route("/breaches", methods=["GET", "POST"])
@roles_required("admin")
def breaches_page() -> ResponseReturnValue:
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            with attempt():
                breach = breaches.record_breach(request.form.to_dict(), current_user)
        except ServiceError as exc:
            errors = exc.errors or {"description": [exc.detail or str(exc.title)]}
        else:
            flash(_("Breach recorded: the 72-hour countdown has started."), "success")
            return redirect(url_for("privacy_ops.breach_page", breach_id=breach.id))
    items = [breaches.breach_dict(b) for b in breaches.list_breaches()]
    status = 422 if errors else 200
    return render_template("privacy/breaches.html", items=items, errors=errors, form=request.form), status


@bp.route("/breaches/<int:breach_id>")
@roles_required("admin")
def breach_page(breach_id: int) -> ResponseReturnValue:
    breach = breaches.get_breach(breach_id)
    return render_template(
        "privacy/breach.html", breach=breaches.breach_dict(breach), report=breaches.authority_report(breach)
    )


@bp.route("/breaches/<int:breach_id>/letters.txt")
@roles_required("admin")
def breach_letters(breach_id: int) -> ResponseReturnValue:
    breach = breaches.get_breach(breach_id)
    letters = breaches.letters(breach)
    # The letters name people: their download is a read of each record.
    audit.record_list(
        "breach.letters", "client", [item["client_id"] for item in letters], breach_id=breach.id
    )
    text = "\n\f\n".join(f"{item['address'] or ''}\n\n{item['text']}" for item in letters)
    return Response(
        text,
        mimetype="text/plain",
        headers={"Content-Disposition": f"attachment; filename=breach-{breach.id}-letters.txt"},
    )


@bp.route("/breaches/<int:breach_id>/report.json")
@roles_required("admin")
def breach_report(breach_id: int) -> ResponseReturnValue:
    breach = breaches.get_breach(breach_id)
    return Response(
        json.dumps(breaches.authority_report(breach), indent=2, ensure_ascii=False),
        mimetype="application/json",
        headers={"Content-Disposition": f"attachment; filename=breach-{breach.id}-report.json"},
    )


@bp.route("/breaches/<int:breach_id>/notified", methods=["POST"])
@roles_required("admin")
def breach_notified(breach_id: int) -> ResponseReturnValue:
    breach = breaches.get_breach(breach_id)
    try:
        with attempt():
            breaches.mark_notified(breach, request.form.get("who", ""), current_user)
    except ServiceError:
        abort(422)
    return redirect(url_for("privacy_ops.breach_page", breach_id=breach.id))


@bp.route("/records")
@roles_required("admin", "supervisor")
def records_page() -> ResponseReturnValue:
    return render_template("privacy/records.html", record=ropa.records_of_processing())


@bp.route("/records.md")
@roles_required("admin", "supervisor")
def records_download() -> ResponseReturnValue:
    return Response(
        ropa.as_markdown(ropa.records_of_processing()),
        mimetype="text/markdown",
        headers={"Content-Disposition": "attachment; filename=records-of-processing.md"},
    )

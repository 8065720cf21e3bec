"""Pages: a programme's rate versions (admin): the table in force, a draft, publishing, discarding."""

from __future__ import annotations

import json

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from srs.core.access import roles_required
from srs.core.errors import Conflict, ValidationFailed
from srs.core.forms import apply_errors
from srs.core.transaction import attempt
from srs.extensions import db
from srs.programmes import rates
from srs.programmes.budget import budget
from srs.programmes.forms import EmptyForm, RateForm
from srs.programmes.models import Programme, RateVersion
from srs.programmes.views import bp


def _page(programme: Programme, form: RateForm, status: int = 200) -> ResponseReturnValue:
    draft, current = rates.draft_of(programme), rates.in_force(programme)
    rule = programme.current_version
    # What the draft would cost the state beside what the rates in force cost, for the rule in force.
    costs = [
        (title, budget(rule, version, current_user))
        for title, version in (
            (_("Monthly cost to the state now"), current),
            (_("With the draft rates"), draft),
        )
        if version is not None and rule is not None
    ]
    return (
        render_template(
            "programmes/rates.html",
            programme=programme,
            form=form,
            versions=rates.versions_of(programme),
            in_force=current,
            draft=draft,
            costs=costs,
            button_form=EmptyForm(),
        ),
        status,
    )


@bp.route("/admin/programmes/<int:programme_id>/rates", methods=["GET", "POST"])
@roles_required("admin")
def rates_page(programme_id: int) -> ResponseReturnValue:
    programme = db.get_or_404(Programme, programme_id)
    form = RateForm()
    if request.method == "GET":
        start = rates.draft_of(programme) or rates.in_force(programme)
        if start is not None:
            form.scheme.data, form.currency.data = start.scheme, start.currency
            form.params.data = json.dumps(start.params, indent=2, ensure_ascii=False)
            form.source.data, form.note.data = start.source, start.note
            form.effective_from.data = start.effective_from if start.status == "draft" else None
        else:
            form.currency.data = "VND" if programme.country == "VN" else "IDR"
        return _page(programme, form)
    if not form.validate_on_submit():
        flash(_("The rates have errors; nothing was saved."), "error")
        return _page(programme, form, 422)
    try:
        with attempt():
            rates.save_draft(
                programme,
                scheme=form.scheme.data,
                params=form.params.data,
                currency=form.currency.data,
                effective_from=form.effective_from.data,
                source=form.source.data,
                note=form.note.data,
                user=current_user,
            )
    except ValidationFailed as exc:
        apply_errors(form, exc)
        flash(exc.detail, "error")
        return _page(programme, form, 422)
    flash(_("Rate draft saved. Publish it to put it on record from its date."), "success")
    return redirect(url_for("programmes.rates_page", programme_id=programme.id))


def _version_or_404(programme: Programme, version_id: int) -> RateVersion:
    version = db.session.get(RateVersion, version_id)
    if version is None or version.programme_id != programme.id:
        abort(404)
    return version


@bp.route("/admin/programmes/<int:programme_id>/rates/<int:version_id>/<action>", methods=["POST"])
@roles_required("admin")
def rates_action(programme_id: int, version_id: int, action: str) -> ResponseReturnValue:
    programme = db.get_or_404(Programme, programme_id)
    version = _version_or_404(programme, version_id)
    if action not in ("publish", "discard"):
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        with attempt():
            if action == "publish":
                rates.publish(version, current_user)
                flash(
                    _(
                        "Rate version %(n)d is published; it applies from %(day)s.",
                        n=version.number,
                        day=version.effective_from.isoformat(),
                    ),
                    "success",
                )
            else:
                rates.discard(version)
                flash(_("The rate draft was discarded."), "success")
    except Conflict as exc:
        flash(exc.detail, "error")
        return redirect(url_for("programmes.rates_page", programme_id=programme.id)), 303
    return redirect(url_for("programmes.rates_page", programme_id=programme.id))

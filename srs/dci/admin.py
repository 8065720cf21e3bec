"""Administrator pages: the partner systems that may use SRS's DCI Social Registry interface."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import func, select

from srs.core.access import roles_required
from srs.core.errors import Conflict, ValidationFailed
from srs.core.forms import apply_errors
from srs.core.transaction import attempt
from srs.dci import partners as partner_service
from srs.dci.forms import PartnerForm
from srs.dci.models import DciOutbox, DciPartner, DciSubscription
from srs.dci.signing import jwks
from srs.extensions import db

bp = Blueprint("dci_admin", __name__, url_prefix="/admin/dci")


def _input(form: PartnerForm, username: str) -> partner_service.PartnerInput:
    bases = [line.strip() for line in (form.callback_bases.data or "").splitlines() if line.strip()]
    return partner_service.PartnerInput(
        username=username,
        name=form.name.data or "",
        sender_id=form.sender_id.data or "",
        id_types=list(form.id_types.data or []),
        attributes=list(form.attributes.data or []),
        record_fields=list(form.record_fields.data or []),
        callback_bases=bases,
        public_key=form.public_key.data or None,
        password=form.password.data,
        active=bool(form.active.data),
    )


@bp.route("/")
@roles_required("admin")
def partners() -> ResponseReturnValue:
    rows = partner_service.list_partners()
    subscriptions = dict(
        db.session.execute(
            select(DciSubscription.partner_id, func.count())
            .where(DciSubscription.status == "subscribe")
            .group_by(DciSubscription.partner_id)
        ).all()
    )
    backlog = dict(
        db.session.execute(select(DciOutbox.status, func.count()).group_by(DciOutbox.status)).all()
    )
    return render_template(
        "dci/partners.html", partners=rows, subscriptions=subscriptions, backlog=backlog, keys=jwks()
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required("admin")
def create_partner() -> ResponseReturnValue:
    form = PartnerForm()
    form.fill_choices()
    if request.method == "GET":
        form.id_types.data = ["UIN", "NIK", "VN_PID"]
        form.attributes.data = ["age", "gender", "poverty_score", "location"]
        form.record_fields.data = ["identifiers", "name", "sex", "birth_date"]
    if form.validate_on_submit():
        try:
            with attempt():
                partner = partner_service.create_partner(_input(form, form.username.data or ""))
        except (ValidationFailed, Conflict) as exc:
            apply_errors(form, exc, {"password": "password", "role": "username"})
        else:
            flash(_("Partner %(name)s registered.", name=partner.name), "success")
            return redirect(url_for("dci_admin.partners"))
    status = 422 if request.method == "POST" else 200
    return render_template("dci/partner_form.html", form=form, partner=None), status


@bp.route("/<int:partner_id>", methods=["GET", "POST"])
@roles_required("admin")
def edit_partner(partner_id: int) -> ResponseReturnValue:
    partner = db.get_or_404(DciPartner, partner_id)
    form = PartnerForm()
    form.fill_choices()
    form.username.data = partner.user.username
    if request.method == "GET":
        form.name.data = partner.name
        form.sender_id.data = partner.sender_id
        form.id_types.data = list(partner.id_types)
        form.attributes.data = list(partner.attributes)
        form.record_fields.data = list(partner.record_fields)
        form.callback_bases.data = "\n".join(partner.callback_bases)
        form.public_key.data = partner.public_key or ""
        form.active.data = partner.user.active
    if form.validate_on_submit():
        try:
            with attempt():
                partner_service.update_partner(partner, _input(form, partner.user.username))
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            flash(_("Partner %(name)s saved.", name=partner.name), "success")
            return redirect(url_for("dci_admin.partners"))
    status = 422 if request.method == "POST" else 200
    return render_template("dci/partner_form.html", form=form, partner=partner), status

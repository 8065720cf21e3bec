"""Admin pages for regions: browse the tree and import from CSV."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from srs.core.access import roles_required
from srs.regions import services
from srs.regions.forms import RegionImportForm

bp = Blueprint("regions", __name__, url_prefix="/admin/regions")

SAMPLE_CSV = "code,name,level,parent_code,country\n35.16.01,Jatirejo,district,35.16,ID\n"


@bp.route("/")
@roles_required("admin")
def index() -> ResponseReturnValue:
    parent_code = request.args.get("parent") or None
    parent = services.get_by_code(parent_code) if parent_code else None
    regions = services.children_of(parent_code)
    trail = services.ancestors(parent) if parent else []
    return render_template(
        "regions/index.html", regions=regions, parent=parent, trail=trail, form=RegionImportForm()
    )


@bp.route("/import", methods=["POST"])
@roles_required("admin")
def import_csv() -> ResponseReturnValue:
    form = RegionImportForm()
    if not form.validate_on_submit():
        flash(_("Choose a CSV file to import."), "error")
        return redirect(url_for("regions.index"))
    raw = form.file.data.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        flash(_("The file is not UTF-8 text. Save it as CSV UTF-8 and try again."), "error")
        return redirect(url_for("regions.index"))
    result = services.import_csv(text)
    if not result.ok:
        return render_template("regions/import_errors.html", errors=result.errors), 422
    flash(_("%(n)d regions imported.", n=result.created), "success")
    return redirect(url_for("regions.index"))


@bp.route("/sample.csv")
@roles_required("admin")
def sample() -> ResponseReturnValue:
    return Response(
        SAMPLE_CSV,
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=regions-sample.csv"},
    )

"""GET /api/v1/regions."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from srs.api import bp
from srs.core.access import login_required
from srs.core.errors import NotFound
from srs.regions import services


@bp.route("/regions")
@login_required
def list_regions() -> ResponseReturnValue:
    parent = request.args.get("parent") or None
    country = request.args.get("country") or None
    if parent and services.get_by_code(parent) is None:
        raise NotFound(_("No region has the code %(code)s.", code=parent))
    regions = services.children_of(parent, country)
    items = [services.region_to_dict(r) for r in regions]
    return jsonify({"items": items, "page": 1, "per_page": len(items), "total": len(items)})

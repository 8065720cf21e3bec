"""Health check and the admin's audit log browser."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request
from sqlalchemy import text

from srs.core import audit
from srs.core.access import public, roles_required
from srs.core.pagination import page_args, paginate
from srs.core.redis import get_redis
from srs.extensions import db

bp = Blueprint("core", __name__)


@bp.route("/healthz")
@public
def healthz():  # type: ignore[no-untyped-def]
    """200 when the database and Redis both answer, 503 otherwise."""
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:  # any failure means "not answering"
        db.session.rollback()
        checks["database"] = "unavailable"
    try:
        get_redis().ping()
        checks["redis"] = "ok"
    except Exception:
        checks["redis"] = "unavailable"
    healthy = all(v == "ok" for v in checks.values())
    return jsonify({"status": "ok" if healthy else "unavailable", **checks}), 200 if healthy else 503


@bp.route("/admin/audit")
@roles_required("admin")
def audit_log():  # type: ignore[no-untyped-def]
    page, per_page = page_args(strict=False)
    filters = {
        "action": request.args.get("action", "").strip() or None,
        "username": request.args.get("username", "").strip() or None,
        "object_type": request.args.get("object_type", "").strip() or None,
        "object_id": request.args.get("object_id", "").strip() or None,
    }
    result = paginate(audit.audit_query(**filters), page, per_page)
    return render_template("admin/audit.html", page=result, filters={k: v or "" for k, v in filters.items()})


@bp.route("/admin/")
@roles_required("admin")
def admin_index():  # type: ignore[no-untyped-def]
    from srs.core.home import admin_links

    return render_template("admin/index.html", ctx={"links": admin_links()})

"""Health check and the admin's audit log browser."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import text

from srs.core import audit, clock
from srs.core.access import public, roles_required
from srs.core.pagination import page_args, paginate
from srs.core.redis import get_redis
from srs.extensions import db

bp = Blueprint("core", __name__)


@bp.route("/healthz")
@public
def healthz() -> ResponseReturnValue:
    """200 when the database and Redis both answer, 503 otherwise."""
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:  # any failure means "not answering"; the 503 is rolled back at the edge
        checks["database"] = "unavailable"
    try:
        get_redis().ping()
        checks["redis"] = "ok"
    except Exception:
        checks["redis"] = "unavailable"
    healthy = all(v == "ok" for v in checks.values())
    return jsonify({"status": "ok" if healthy else "unavailable", **checks}), 200 if healthy else 503


def _local_day_start(value: str, errors: dict[str, str], name: str) -> datetime | None:
    """Midnight of a YYYY-MM-DD day in SRS's time zone, as UTC; a bad value adds an error."""
    if not value:
        return None
    try:
        day = clock.parse_date(value)
    except ValueError:
        errors[name] = _("Type a date as YYYY-MM-DD, for example 2026-01-31.")
        return None
    return clock.local_midnight(day)


@bp.route("/admin/audit")
@roles_required("admin")
def audit_log() -> ResponseReturnValue:
    page, per_page = page_args(strict=False)
    filters = {
        "action": request.args.get("action", "").strip() or None,
        "username": request.args.get("username", "").strip() or None,
        "object_type": request.args.get("object_type", "").strip() or None,
        "object_id": request.args.get("object_id", "").strip() or None,
    }
    typed = {name: request.args.get(name, "").strip() for name in ("date_from", "date_to")}
    errors: dict[str, str] = {}
    since = _local_day_start(typed["date_from"], errors, "date_from")
    until = _local_day_start(typed["date_to"], errors, "date_to")
    if until is not None:
        until += timedelta(days=1)  # "to 31 January" includes the whole of that day
    if since is not None and until is not None and until <= since:
        errors["date_to"] = _("The end date is before the start date.")
    status = 200
    if errors:
        since = until = None
        status = 422
    result = paginate(audit.audit_query(**filters, since=since, until=until), page, per_page)
    shown = {k: v or "" for k, v in filters.items()} | typed
    return render_template("admin/audit.html", page=result, filters=shown, errors=errors), status


@bp.route("/admin/")
@roles_required("admin")
def admin_index() -> ResponseReturnValue:
    from srs.core.home import admin_links

    return render_template("admin/index.html", ctx={"links": admin_links()})

"""The installable app: manifest, service worker, the offline shell, and the device's JSON routes.

These routes use the browser's session (the API under /api/v1 takes bearer tokens only), with the
CSRF token in the ``X-CSRFToken`` header for the ones that change something.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, jsonify, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from srs.core.access import public, roles_required
from srs.core.errors import ValidationFailed, problem
from srs.extensions import db
from srs.offline import services
from srs.offline.sync import run_batch
from srs.regions.scope import scoped_regions
from srs.registry import fields

bp = Blueprint("offline", __name__)

WRITERS = ("officer", "admin")
# What the service worker caches: the shells (no data in them) and the static files they use.
SHELLS = ("offline.register", "offline.household", "offline.pending", "offline.edit")
STATIC_FILES = ("css/srs.css", "js/offline.js", "favicon.svg")
# The device forgets its key this long after fetching it (the session's longest life): a device
# left signed out cannot decrypt what it stored until its user signs in on it again.
KEY_HOURS_FALLBACK = 12


@cache
def _static_version(root: str) -> str:
    digest = hashlib.sha256()
    for name in (*STATIC_FILES, "js/sw.js"):
        digest.update((Path(root) / name).read_bytes())
    return digest.hexdigest()[:12]


def _version() -> str:
    return _static_version(str(current_app.static_folder))


@bp.route("/sw.js")
@public
def service_worker() -> ResponseReturnValue:
    """The service worker, served from / so that its scope is the whole app."""
    source = (Path(str(current_app.static_folder)) / "js" / "sw.js").read_text(encoding="utf-8")
    assets = [url_for(endpoint) for endpoint in SHELLS] + [
        url_for("static", filename=name) for name in STATIC_FILES
    ]
    config = {"version": _version(), "shells": assets[: len(SHELLS)], "assets": assets}
    body = f"const SRS_OFFLINE = {json.dumps(config)};\n{source}"
    response = current_app.response_class(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.route("/manifest.webmanifest")
@public
def manifest() -> ResponseReturnValue:
    data = {
        "name": _("SRS — Single Referral System"),
        "short_name": "SRS",
        "description": _("Register people at the village post, with or without a connection."),
        "start_url": url_for("offline.register"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#1f5f8b",
        "lang": str(get_locale()),
        "icons": [
            {"src": url_for("static", filename="favicon.svg"), "sizes": "any", "type": "image/svg+xml"}
        ],
    }
    response = current_app.response_class(json.dumps(data), mimetype="application/manifest+json")
    return response


def _shell(view: str) -> ResponseReturnValue:
    # No data of anyone in the shell (not even who is signed in): it is cached on the device.
    return render_template("offline/shell.html", view=view)


@bp.route("/offline/")
@public
def register() -> ResponseReturnValue:
    return _shell("register")


@bp.route("/offline/household")
@public
def household() -> ResponseReturnValue:
    return _shell("household")


@bp.route("/offline/pending")
@public
def pending() -> ResponseReturnValue:
    return _shell("pending")


@bp.route("/offline/edit")
@public
def edit() -> ResponseReturnValue:
    """The edit form; which client is in the URL's fragment (#123), read by the script."""
    return _shell("edit")


@bp.route("/offline/clients/<int:client_id>")
@roles_required(*WRITERS)
def client_record(client_id: int) -> ResponseReturnValue:
    """A client's values and version, for the device to edit offline (kept encrypted there)."""
    return _no_store(jsonify(services.record_for_device(client_id, current_user)))


@bp.route("/offline/session")
@public
def session_state() -> ResponseReturnValue:
    """Who the device works for now, and whether a device whose session ended must wipe its store."""
    if not current_user.is_authenticated:
        return _no_store(
            jsonify({"signed_in": False, "wipe": services.must_wipe(request.args.get("device_id"))})
        )
    return _no_store(
        jsonify(
            {
                "signed_in": True,
                "user": current_user.id,
                "may_register": current_user.role in WRITERS,
                "csrf_token": generate_csrf(),
                "locale": str(get_locale()),
                "key_hours": int(current_app.config["PERMANENT_SESSION_LIFETIME"].total_seconds() // 3600)
                or KEY_HOURS_FALLBACK,
            }
        )
    )


@bp.route("/offline/fields")
@roles_required(*WRITERS)
def client_fields() -> ResponseReturnValue:
    """The field table (the same payload as GET /api/v1/fields/clients) and the regions to choose."""
    payload = fields.describe_all(current_user.role)
    payload["regions"] = [
        {"code": r.code, "name": r.name, "depth": r.depth, "country": r.country} for r in scoped_regions()
    ]
    return _no_store(jsonify(payload))


@bp.route("/offline/key", methods=["POST"])
@roles_required(*WRITERS)
def device_key() -> ResponseReturnValue:
    return _no_store(jsonify({"key": services.device_key(current_user, _posted_device())}))


@bp.route("/offline/forget", methods=["POST"])
@roles_required(*WRITERS)
def forget() -> ResponseReturnValue:
    return _no_store(jsonify({"revoked": services.forget_device(current_user, _posted_device())}))


def _posted_device() -> Any:
    """The ``device_id`` of the posted JSON (None when there is none; the service refuses it)."""
    body = request.get_json(silent=True)
    return body.get("device_id") if isinstance(body, dict) else None


@bp.route("/offline/sync", methods=["POST"])
@roles_required(*WRITERS)
def sync() -> ResponseReturnValue:
    body = request.get_json(silent=True)
    try:
        results = run_batch(body, current_user)
    except ValidationFailed as exc:
        # JSON for the device's script, as the API would answer (not the HTML error page).
        return problem(422, str(exc.title), exc.detail, exc.errors)
    db.session.commit()  # nothing left open: each item committed itself
    return _no_store(jsonify({"results": results}))


def _no_store(response: Any) -> Any:
    # Never kept by the browser's HTTP cache or the service worker: keys, tokens, people.
    response.headers["Cache-Control"] = "no-store"
    return response

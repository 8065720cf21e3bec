"""POST/DELETE /api/v1/auth/token: bearer tokens for agency systems and mobile clients."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from srs.accounts import services
from srs.accounts.models import User
from srs.api import bp
from srs.api.helpers import json_body
from srs.core.access import any_account_required, public
from srs.core.errors import ValidationFailed, problem
from srs.core.iso import iso
from srs.regions.scope import region_paths


def user_to_dict(user: User) -> dict[str, object]:
    return {
        "id": user.id,
        "username": user.username,
        "full_name": user.full_name,
        "role": user.role,
        "regions": [region.code for region in user.regions],
        "agency": user.agency.code if user.agency else None,
    }


@bp.route("/auth/token", methods=["POST"])
@public
def create_token() -> ResponseReturnValue:
    body = json_body()
    errors: dict[str, list[str]] = {}
    for name in ("username", "password"):
        if not isinstance(body.get(name), str) or not body.get(name):
            errors[name] = [_("Required.")]
    if errors:
        raise ValidationFailed(_("Username and password are required."), errors)
    user = services.sign_in(body["username"], body["password"], channel="api")
    if user is None:
        return problem(401, _("Authentication required"), _("The username or password is not right."))
    issued = services.issue_token(user)
    return jsonify(
        {"token": issued.token, "expires_at": iso(issued.expires_at), "user": user_to_dict(user)}
    ), 201


@bp.route("/auth/token", methods=["DELETE"])
@any_account_required
def revoke_token() -> ResponseReturnValue:
    header = request.headers.get("Authorization", "")
    services.revoke_token(header.split(" ", 1)[1].strip())
    return "", 204


@bp.route("/me")
@any_account_required
def me() -> ResponseReturnValue:
    data = user_to_dict(current_user)
    data["region_paths"] = region_paths()
    return jsonify(data)

"""The JSON API, version 1: thin views over the same services as the HTML pages."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from srs.api import (  # noqa: E402,F401  (routes register on import)
    auth,
    clients,
    enrolments,
    fields,
    openapi,
    privacy,
    privacy_ops,
    programmes,
    referrals,
    regions,
    reports,
    sync,
)

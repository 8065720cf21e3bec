"""The JSON API, version 1: thin views over the same services as the HTML pages."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Each feature adds its module on its own line, so parallel branches merge cleanly.
from srs.api import auth  # noqa: E402,F401  (routes register on import)
from srs.api import clients  # noqa: E402,F401
from srs.api import openapi  # noqa: E402,F401
from srs.api import programmes  # noqa: E402,F401
from srs.api import regions  # noqa: E402,F401
from srs.api import reports  # noqa: E402,F401
from srs.api import referrals  # noqa: E402,F401

"""What the API adds to the app: /api/v1, authenticated by bearer tokens only."""

from __future__ import annotations

from flask import Flask

from srs.api import bp
from srs.core.wiring import Feature
from srs.extensions import csrf


def _exempt_from_csrf(_app: Flask) -> None:
    # Bearer tokens, not cookies: no cross-site request can carry one.
    csrf.exempt(bp)


FEATURE = Feature(name="api", blueprints=(bp,), setup=_exempt_from_csrf)

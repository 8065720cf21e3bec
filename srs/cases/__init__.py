"""Case files, follow-up tasks, personal plans and complaints."""

from __future__ import annotations

from flask import Flask


def init_feature(app: Flask) -> None:
    """Register cases, complaints and the supervisor reports."""
    from srs.cases.feature import init_feature as _init

    _init(app)

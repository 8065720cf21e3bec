"""One commit per request, at the edge.

Services add and change objects but never commit. A request that ends well (status below 400) is
committed here; anything else is rolled back, so a failed request never leaves half a record behind.
Jobs queued during the request are put on Redis only after the commit succeeded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g

from srs.extensions import db


def after_commit(callback: Callable[[], Any]) -> None:
    """Run ``callback`` once the current request's transaction has been committed."""
    g.setdefault("srs_after_commit", []).append(callback)


def commit() -> None:
    """Commit now and run what waits for the commit (for CLI commands and jobs)."""
    db.session.commit()
    _run_after_commit()


def rollback() -> None:
    """Roll back now and forget what waited for a commit (the work it belonged to is undone)."""
    db.session.rollback()
    g.pop("srs_after_commit", None)


def _run_after_commit() -> None:
    callbacks = g.pop("srs_after_commit", [])
    for callback in callbacks:
        callback()


def register_transaction_handling(app: Flask) -> None:
    @app.after_request
    def commit_at_edge(response: Response) -> Response:
        if response.status_code < 400:
            db.session.commit()
            try:
                _run_after_commit()
            except Exception:  # the record is safe in the database; the relay will pick it up
                app.logger.exception("work after commit failed; it will be retried by the relay")
        else:
            db.session.rollback()
            g.pop("srs_after_commit", None)
        return response

"""One commit per request, at the edge.

Services add and change objects but never commit. A request that ends well (status below 400) is
committed here; anything else is rolled back, so a failed request never leaves half a record behind.
Jobs queued during the request are put on Redis only after the commit succeeded.

Some writes must not share the request's fate: the audit entry of a refused request (a failed
sign-in, a 403) and the "last seen" time of a session. They run once the request's transaction has
ended, whatever its outcome, each in a transaction of its own (``after_transaction``).

The rule, in one place: a request whose answer is below 400 commits, so a view that catches a
refusal (a domain error) and answers with a redirect or a page would commit whatever the refused
change had begun. Such a view runs the change in ``attempt()``: on a domain error the change alone
is undone (a savepoint) before the view sees the error, whatever it answers next. No view rolls
back by hand (``tests/core/test_transaction_rule.py`` reads them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from flask import Flask, Response, current_app, g, has_app_context
from sqlalchemy import CursorResult, Executable

from srs.core.errors import ServiceError
from srs.extensions import db


def after_commit(callback: Callable[[], Any]) -> None:
    """Run ``callback`` once the current request's transaction has been committed."""
    g.setdefault("srs_after_commit", []).append(callback)


def discard_after_commit() -> None:
    """Forget what waits for a commit that will not happen (a rollback, a job starting afresh)."""
    g.pop("srs_after_commit", None)


def after_transaction(callback: Callable[[], Any]) -> None:
    """Run ``callback`` once the request's transaction has ended, committed or rolled back.

    The callback opens its own transaction; a failure is logged, never shown to the person.
    """
    g.setdefault("srs_after_transaction", []).append(callback)


def commit() -> None:
    """Commit now and run what waits for the commit (for CLI commands and jobs)."""
    db.session.commit()
    _run_after_commit()


def rollback() -> None:
    """Roll back now and forget what waited for a commit (the work it belonged to is undone)."""
    db.session.rollback()
    g.pop("srs_after_commit", None)


@contextmanager
def attempt(*refusals: type[BaseException]) -> Iterator[None]:
    """Run a change that may be refused; on a refusal undo that change alone, then let the error go on.

    ``refusals`` are the errors that mean "refused" (by default every domain error,
    ``ServiceError``). The change runs in a savepoint: when it raises one of them, what it added,
    changed or queued for after the commit is undone, and objects it changed are expired (they
    reload as they are in the database), so the view may answer with a redirect or a page. What
    the request did before the attempt (the reads it audited) stays. Any other exception propagates
    unchanged and the request's error handling rolls everything back.
    """
    caught = refusals or (ServiceError,)
    queued = len(g.get("srs_after_commit", [])) if has_app_context() else 0
    savepoint = db.session.begin_nested()
    try:
        yield
    except caught:
        # A service may have rolled the whole transaction back already (after a failed flush).
        if savepoint.is_active:
            savepoint.rollback()
        if has_app_context() and "srs_after_commit" in g:
            del g.srs_after_commit[queued:]
        raise
    if savepoint.is_active:
        savepoint.commit()


def _run_after_commit() -> None:
    callbacks = g.pop("srs_after_commit", [])
    for callback in callbacks:
        callback()


def _run_after_transaction() -> None:
    from srs.core import audit

    audit.write_security_entries()
    for callback in g.pop("srs_after_transaction", []):
        try:
            callback()
        except Exception:
            current_app.logger.exception("work after the request's transaction failed")


def register_transaction_handling(app: Flask) -> None:
    @app.after_request
    def commit_at_edge(response: Response) -> Response:
        try:
            if response.status_code < 400:
                db.session.commit()
                try:
                    _run_after_commit()
                except Exception:  # the record is safe in the database; the relay will pick it up
                    app.logger.exception("work after commit failed; it will be retried by the relay")
            else:
                db.session.rollback()
                g.pop("srs_after_commit", None)
        except Exception:
            db.session.rollback()  # release the connection before the work below writes
            raise
        finally:
            _run_after_transaction()
        return response

    @app.teardown_request
    def finish_after_transaction_work(_exc: BaseException | None) -> None:
        # A request that ended before its after_request handlers ran still writes its refusals.
        if g.get("srs_security_entries") or g.get("srs_after_transaction"):
            db.session.rollback()
            _run_after_transaction()


def changed_rows(statement: Executable) -> int:
    """Run an UPDATE or DELETE in the current transaction; the number of rows it changed.

    ``Session.execute`` is typed as returning a plain Result; a DML statement's is a CursorResult,
    which is the one that counts rows.
    """
    result = cast("CursorResult[Any]", db.session.execute(statement))
    return result.rowcount

"""Errors a service can raise, and how they are shown: an HTML page or application/problem+json.

A person never sees a stack trace for bad input: validation problems are 422 with a message per field,
a record outside the caller's scope is 404, and only a real fault is 500.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from srs.core import audit
from srs.extensions import db


class ServiceError(Exception):
    """Base of the domain errors services raise; views turn them into messages."""

    status = 400
    title = _l("Bad request")

    def __init__(self, detail: str | None = None, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail or str(self.title))
        self.detail = detail or str(self.title)
        self.errors = errors or {}


class ValidationFailed(ServiceError):
    """Input that breaks a rule: ``errors`` maps each field to its messages."""

    status = 422
    title = _l("The input is not valid")


class Conflict(ServiceError):
    """A duplicate, a stale version, or a status change that is not allowed."""

    status = 409
    title = _l("Conflict")


class NotFound(ServiceError):
    """Unknown, or outside the caller's scope (the two are never told apart)."""

    status = 404
    title = _l("Not found")


class Forbidden(ServiceError):
    status = 403
    title = _l("Forbidden")


def wants_problem_json() -> bool:
    return request.path.startswith("/api/")


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    errors: dict[str, list[str]] | None = None,
    **extra: Any,
) -> Response:
    """An application/problem+json response (RFC 9457)."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": str(title),
        "status": status,
        "detail": str(detail) if detail is not None else str(title),
    }
    if errors:
        body["errors"] = {field: [str(m) for m in messages] for field, messages in errors.items()}
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


_HTTP_TITLES = {
    400: _l("Bad request"),
    401: _l("Authentication required"),
    403: _l("Forbidden"),
    404: _l("Not found"),
    405: _l("Method not allowed"),
    409: _l("Conflict"),
    413: _l("The upload is too large"),
    422: _l("The input is not valid"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong on our side"),
    503: _l("Service unavailable"),
}


def _html_error(
    status: int, detail: str | None = None, errors: dict[str, list[str]] | None = None
) -> tuple[str, int]:
    title = _HTTP_TITLES.get(status, _l("Error"))
    page = render_template("errors/error.html", status=status, title=title, detail=detail, errors=errors)
    return page, status


def error_response(exc: ServiceError) -> Response:
    """The answer to a service error: problem+json under /api/, the error page elsewhere."""
    db.session.rollback()
    audit.record_refusal(exc.status)
    if wants_problem_json():
        return problem(exc.status, str(exc.title), exc.detail, exc.errors)
    body, status = _html_error(exc.status, exc.detail, exc.errors)
    return Response(body, status=status, mimetype="text/html")


def register_error_handlers(app: Flask) -> None:
    """Answer every error as problem+json under /api/ and as a friendly page elsewhere."""

    @app.errorhandler(ServiceError)
    def handle_service_error(exc: ServiceError) -> ResponseReturnValue:
        return error_response(exc)

    @app.errorhandler(CSRFError)
    def handle_csrf(exc: CSRFError) -> ResponseReturnValue:
        return _html_error(400, _("The form had expired. Please go back, reload the page and try again."))

    @app.errorhandler(HTTPException)
    def handle_http(exc: HTTPException) -> ResponseReturnValue:
        status = exc.code or 500
        if status >= 400:
            db.session.rollback()
        audit.record_refusal(status)
        if wants_problem_json():
            detail = exc.description if status not in (404, 500) else None
            if status == 429:
                detail = _("Too many attempts. Please wait a few minutes and try again.")
            response = problem(status, str(_HTTP_TITLES.get(status, exc.name)), detail)
            if status == 401:
                response.headers["WWW-Authenticate"] = "Bearer"
            return response
        if status == 429:
            return _html_error(429, _("Too many attempts. Please wait a few minutes and try again."))
        return _html_error(status, None)

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception) -> ResponseReturnValue:
        db.session.rollback()
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if app.config.get("TESTING") and app.config.get("PROPAGATE_UNEXPECTED", True):
            raise exc
        if wants_problem_json():
            return problem(500, str(_HTTP_TITLES[500]))
        return _html_error(500, None)

"""Idempotent creation: a request sent twice (a double tap, a retried sync) creates one record.

An API client sends an ``Idempotency-Key`` header (the ``Idempotency-Key`` parameter of the OpenAPI
document, /api/v1/openapi.json); an HTML form carries a one-time key in a hidden field, made when
the page is rendered. Either way the key is claimed by inserting a row into ``idempotency_keys``
*in the request's own transaction*, before the view runs, and the row gets the answer in the same
transaction as the record the view creates.
The unique constraint on (user_id, key) does the rest:

* a second request with the key while the first is still running waits on the first one's
  uncommitted row (PostgreSQL's unique index; SQLite's single writer lock), then finds the stored
  answer and replays it, or, when the first one takes longer than ``IDEMPOTENCY_WAIT_SECONDS``,
  gets a 409 saying the request is still in progress;
* a first request that fails (a 5xx, or an answer not worth keeping) rolls its claim back with the
  rest of its work, so the key is free again for the retry.

Which answers are kept: 2xx (and, for forms, the redirect to what was created), and the 409 and 422
answers the request's own content earned (the same body gets the same refusal, nothing is created).
Not kept: 5xx, and answers about the caller rather than the request (401, 403, 404, 429), which may
change by the retry. A key lives at least ``RETENTION`` (30 days); ``purge_expired`` runs hourly.

Apply with one line under the route's access declaration::

    @bp.route("/clients", methods=["POST"])
    @roles_required("officer", "admin")
    @idempotent
    def create_client(): ...

and ``@idempotent_form`` plus ``{{ idempotency_field() }}`` inside the ``<form>`` for a page.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, flash, redirect, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, delete, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from srs.core import audit, clock
from srs.core.errors import Conflict, ServiceError, ValidationFailed
from srs.core.models import UTCDateTime
from srs.core.queue import job
from srs.core.transaction import changed_rows, commit, rollback
from srs.extensions import Model, db

F = TypeVar("F", bound=Callable[..., Any])

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
FORM_FIELD = "idempotency_key"
MAX_LENGTH = 200
RETENTION = timedelta(days=30)
DEFAULT_WAIT_SECONDS = 10.0

# 1-200 printable ASCII characters (space to tilde). Not starting or ending with a space: HTTP drops
# the spaces around a header value, so such a key would not arrive as it was sent.
KEY_PATTERN = r"^[\x21-\x7e](?:[\x20-\x7e]{0,198}[\x21-\x7e])?$"
_KEY = re.compile(KEY_PATTERN)

# Refusals the request's own content earned: the same body would earn them again.
KEPT_REFUSALS = frozenset({409, 422})
# Form fields that change between two sends of the same form without changing what it asks for.
_FORM_NOISE = frozenset({"csrf_token", FORM_FIELD})


class IdempotencyKey(Model):
    """A key a user sent with a creating request, and the answer that request got.

    ``status`` is NULL only inside the first request's own transaction (the claim); nobody else ever
    sees such a row committed.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(MAX_LENGTH))
    endpoint: Mapped[str] = mapped_column(String(100))
    # sha256 of the canonical JSON of the path and the body: "the same request" means the same hash.
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(100))
    body: Mapped[str | None] = mapped_column(Text)
    # The Location of what was created (API) or the page a form redirected to.
    location: Mapped[str | None] = mapped_column(String(500))


class KeyInProgress(Conflict):
    title = _l("Request in progress")


# --- the key and the request's fingerprint --------------------------------------------------------


def valid_key(raw: str, field: str = HEADER) -> str:
    """``raw`` when it is a well-formed key; ValidationFailed (422) on ``field`` otherwise."""
    if not _KEY.match(raw):
        raise ValidationFailed(
            _("The Idempotency-Key is not valid."),
            {
                field: [
                    _(
                        "An Idempotency-Key is 1 to 200 printable ASCII characters, "
                        "not starting or ending with a space."
                    )
                ]
            },
        )
    return raw


def canonical_json(value: Any) -> str:
    """One spelling per JSON value: keys sorted, no spaces, non-ASCII kept as it is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fingerprint(path: str, body: Any) -> str:
    """The hash that says whether two requests with one key are the same request."""
    material = canonical_json({"path": path, "body": body})
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def _json_body_material() -> Any:
    body = request.get_json(force=True, silent=True)
    if body is None:
        # Not JSON (the view will answer 400): compare the bytes as they came.
        return {"raw": request.get_data().decode("utf-8", "replace")}
    return body


def _form_material() -> Any:
    fields: dict[str, list[str]] = {}
    for name, value in request.form.items(multi=True):
        if name not in _FORM_NOISE:
            fields.setdefault(name, []).append(value)
    return {name: sorted(values) for name, values in fields.items()}


# --- claiming a key -----------------------------------------------------------------------------


def _insert_ignoring_conflict(values: dict[str, Any]) -> int | None:
    """INSERT ... ON CONFLICT (user_id, key) DO NOTHING; the new row's id, or None when taken.

    While another transaction holds an uncommitted row with the same key this waits for it to end
    (the unique index on PostgreSQL, the writer lock on SQLite), which is what makes a concurrent
    second request a replay instead of a second record.
    """
    from sqlalchemy.dialects import postgresql, sqlite

    # Both dialects' INSERT take ON CONFLICT DO NOTHING with the same arguments.
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(IdempotencyKey)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["user_id", "key"])
        .returning(IdempotencyKey.id)
    )
    return db.session.execute(stmt).scalar()


def _wait_seconds() -> float:
    return float(current_app.config.get("IDEMPOTENCY_WAIT_SECONDS", DEFAULT_WAIT_SECONDS))


def _is_lock_timeout(exc: OperationalError) -> bool:
    orig = exc.orig
    return getattr(orig, "sqlstate", None) == "55P03" or "database is locked" in str(orig)


def _insert_waiting_at_most(values: dict[str, Any], seconds: float) -> int | None:
    """The claim's INSERT, waiting at most ``seconds`` for a request holding the same key."""
    millis = max(int(seconds * 1000), 1)
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        # Local to this transaction, and put back right after, so the view's own locks wait as usual
        # (after a timeout the caller rolls back, which undoes it too).
        db.session.execute(text(f"SET LOCAL lock_timeout = {millis}"))
        claimed = _insert_ignoring_conflict(values)
        db.session.execute(text("SET LOCAL lock_timeout TO DEFAULT"))
        return claimed
    previous = db.session.execute(text("PRAGMA busy_timeout")).scalar()
    db.session.execute(text(f"PRAGMA busy_timeout = {millis}"))
    try:
        return _insert_ignoring_conflict(values)
    finally:
        db.session.execute(text(f"PRAGMA busy_timeout = {int(previous or 5000)}"))


def _stored(user_id: int, key: str) -> IdempotencyKey | None:
    stmt = select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    return db.session.scalar(stmt.execution_options(populate_existing=True))


def _in_progress() -> KeyInProgress:
    return KeyInProgress(
        _(
            "A request with this Idempotency-Key is still in progress. "
            "Send it again in a moment to get its answer; nothing is created twice."
        )
    )


def claim(key: str, request_hash: str) -> int | IdempotencyKey:
    """Claim ``key`` for the current user: the new claim's id, or the stored earlier request.

    Raises KeyInProgress when the earlier request with this key is still running after the wait.
    """
    user_id = current_user.id
    earlier = _stored(user_id, key)
    if earlier is None:
        values = {
            "user_id": user_id,
            "key": key,
            "endpoint": request.endpoint or request.path,
            "request_hash": request_hash,
            "created_at": clock.now(),
        }
        try:
            claimed = _insert_waiting_at_most(values, _wait_seconds())
        except OperationalError as exc:
            if not _is_lock_timeout(exc):
                raise
            rollback()
            raise _in_progress() from exc
        if claimed is not None:
            return claimed
        earlier = _stored(user_id, key)
    if earlier is None or earlier.status is None:
        raise _in_progress()
    return earlier


def _same_request(earlier: IdempotencyKey, request_hash: str) -> bool:
    return earlier.endpoint == (request.endpoint or request.path) and earlier.request_hash == request_hash


def _keep(claim_id: int, key: str, request_hash: str, response: Response, in_transaction: bool) -> None:
    """Write ``response`` as the key's answer.

    ``in_transaction``: with the view's work (a success, committed at the edge). Otherwise the
    view's work is rolled back and the answer alone is committed now (a refusal: the edge would roll
    it back).
    """
    answer = {
        "status": response.status_code,
        "content_type": response.mimetype,
        "body": response.get_data(as_text=True),
        "location": (response.headers.get("Location") or "")[:500] or None,
    }
    if in_transaction:
        if changed_rows(update(IdempotencyKey).where(IdempotencyKey.id == claim_id).values(**answer)):
            return
    else:
        rollback()
    # The claim is gone (the view rolled back, or we just did): write the answer as a new row. If
    # another request took the key meanwhile, its answer stands and this one is not kept.
    _insert_ignoring_conflict(
        {
            "user_id": current_user.id,
            "key": key,
            "endpoint": request.endpoint or request.path,
            "request_hash": request_hash,
            "created_at": clock.now(),
            **answer,
        }
    )
    if not in_transaction:
        commit()


def _release(claim_id: int) -> None:
    """Give the key back: the answer was not worth keeping, but the view's work may be committed."""
    db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == claim_id))


def _audit_replay(earlier: IdempotencyKey) -> None:
    # A replayed answer shows a record again: the read is logged like any other.
    audit.record(
        "request.replay",
        "idempotency_key",
        earlier.id,
        endpoint=earlier.endpoint,
        status=earlier.status,
        location=earlier.location,
    )


# --- the JSON API --------------------------------------------------------------------------------


def _replay(earlier: IdempotencyKey) -> Response:
    response = current_app.response_class(
        earlier.body or "", status=earlier.status, mimetype=earlier.content_type or "application/json"
    )
    if earlier.location:
        response.headers["Location"] = earlier.location
    response.headers[REPLAYED_HEADER] = "true"
    response.headers["Cache-Control"] = "no-store"
    if (earlier.status or 500) < 400:
        _audit_replay(earlier)
    return response


def _answer_of(exc: ServiceError | HTTPException) -> Response:
    """The response the app's own error handlers give for ``exc`` (problem+json under /api/)."""
    return current_app.make_response(current_app.handle_user_exception(exc))


def idempotent(view: F) -> F:
    """Make a creating JSON endpoint honour the ``Idempotency-Key`` header (see the module doc)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        raw = request.headers.get(HEADER)
        if raw is None or not current_user.is_authenticated:
            return view(*args, **kwargs)
        key = valid_key(raw)
        request_hash = fingerprint(request.path, _json_body_material())
        earlier = claim(key, request_hash)
        if isinstance(earlier, IdempotencyKey):
            if not _same_request(earlier, request_hash):
                raise ValidationFailed(
                    _("This Idempotency-Key was already used for a different request."),
                    {HEADER: [_("Already used with another request body; use a new key for a new request.")]},
                )
            return _replay(earlier)
        claim_id = earlier
        response: Response
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except (ServiceError, HTTPException) as exc:
            response = _answer_of(exc)
        status = response.status_code
        if status < 400:
            _keep(claim_id, key, request_hash, response, in_transaction=True)
        elif status in KEPT_REFUSALS:
            _keep(claim_id, key, request_hash, response, in_transaction=False)
        # Anything else is rolled back at the edge, the claim with it: the key is free for a retry.
        return response

    return wrapper  # type: ignore[return-value]


# --- HTML forms ----------------------------------------------------------------------------------


def form_field() -> Markup:
    """The hidden one-time key of a form (``{{ idempotency_field() }}`` inside the ``<form>``).

    A fresh key when the page is rendered; the key that was sent when the page shows a submitted
    form again (field errors, possible duplicates), so that correcting and sending it still counts as
    the same form.
    """
    sent = request.form.get(FORM_FIELD) if request.method == "POST" else None
    value = sent if sent and _KEY.match(sent) else secrets.token_urlsafe(24)
    return Markup('<input type="hidden" name="{}" value="{}">').format(FORM_FIELD, value)


def _replay_form(earlier: IdempotencyKey, request_hash: str) -> Response:
    if earlier.location is None or earlier.endpoint != request.endpoint:
        raise ValidationFailed(
            _("This form had already been used for something else. Open the page again."),
            {FORM_FIELD: [_("Already used.")]},
        )
    if earlier.request_hash == request_hash:
        flash(_("This form had already been sent and was saved once: here is the result."), "info")
    else:
        flash(
            _(
                "This form had already been saved, so what you sent again with changes was not saved. "
                "Open the form again to make another entry."
            ),
            "warning",
        )
    _audit_replay(earlier)
    return redirect(earlier.location)


def idempotent_form(view: F) -> F:
    """Protect a page's POST against double submits by the form's one-time key.

    Only a redirect (what the page does after it saved something) is kept and replayed; a form shown
    again with errors or with possible duplicates leaves the key free, so the corrected form can
    still be sent with it.
    """

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        raw = request.form.get(FORM_FIELD) if request.method == "POST" else None
        if raw is None or not current_user.is_authenticated:
            return view(*args, **kwargs)
        key = valid_key(raw, FORM_FIELD)
        request_hash = fingerprint(request.path, _form_material())
        earlier = claim(key, request_hash)
        if isinstance(earlier, IdempotencyKey):
            return _replay_form(earlier, request_hash)
        response = current_app.make_response(view(*args, **kwargs))
        if 300 <= response.status_code < 400 and response.headers.get("Location"):
            _keep(earlier, key, request_hash, response, in_transaction=True)
        elif response.status_code < 400:
            _release(earlier)
        return response

    return wrapper  # type: ignore[return-value]


# --- housekeeping -------------------------------------------------------------------------------


def forget(*locations: str) -> int:
    """Delete the kept answers about the records at ``locations`` (their Location URLs).

    A kept 201 holds a copy of the record as it was created; when a person's record is erased or
    anonymised, that copy must go too (the key with it: a repeat then runs as a new request).
    """
    if not locations:
        return 0
    return changed_rows(delete(IdempotencyKey).where(IdempotencyKey.location.in_(locations)))


@job
def purge_expired(now: datetime | None = None) -> int:
    """Periodic: delete keys older than RETENTION (the job commits); the number deleted."""
    cutoff = (now or clock.now()) - RETENTION
    return changed_rows(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff))

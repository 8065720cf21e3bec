"""Reads from a PostgreSQL streaming replica, for the read paths that say so.

With ``SRS_DATABASE_REPLICA_URL`` set, the replica is a second engine beside ``db``'s. A read
path opts in explicitly, as a decorator or a block::

    @reads_from_replica            # the dashboard, report lists and exports, searches
    def dashboard(): ...

    with reads_from_replica():     # the DCI search items, inside a request that also writes
        items = [search_one(...) for ...]

Inside such a path a plain ``SELECT`` goes to the replica; everything else goes to the primary: a
flush, an INSERT/UPDATE/DELETE, a text statement, a ``SELECT ... FOR UPDATE``, and every read after
the path itself wrote (only the primary has those rows). So a write inside a read path is still
safe; it lands on the primary with the request's commit.

When the replica is not used (one warning line, never an error page):

* it is not configured (the embedded SQLite default, or a server without a replica): nothing to do;
* it cannot be reached, or is no longer in recovery (promoted): the primary, and the replica is not
  tried again for ``RETRY_SECONDS``;
* it lags more than ``SRS_REPLICA_MAX_LAG_SECONDS`` behind the primary;
* a query on it fails (for example cancelled by a conflict with replay): the decorated view runs
  again on the primary.

Read-your-writes: after a request of a signed-in user (or API token) commits a write, the primary's
WAL insert position (an LSN) is kept for that user in Redis. A later read path of that user reads the
replica only once the replica has replayed past that LSN, the primary until then; so an officer sees
what they just saved on the very next page, and nobody waits a fixed number of seconds. The LSN is
kept for ``max(60, 2 x max lag)`` seconds: by then the replica has replayed it or lags too much to
be used anyway. Without Redis the LSN cannot be read, so the read goes to the primary.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, TypeVar

from flask import Flask, current_app, has_app_context, has_request_context
from flask_login import current_user
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import DBAPIError, OperationalError

from srs.core import clock
from srs.extensions import REPLICA_COMMITTED_WRITE as _COMMITTED_WRITE
from srs.extensions import REPLICA_ENGINE, RoutingSession
from srs.extensions import REPLICA_ON as _ON
from srs.extensions import REPLICA_WROTE as _WROTE

RETRY_SECONDS = 5
_STATE = "srs_replica"  # app.extensions: down-until time and last log times

log = logging.getLogger("srs.replica")

F = TypeVar("F", bound=Callable[..., Any])

_STATUS_SQL = text(
    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, "
    # Lag in seconds: none when everything received has been replayed, otherwise how old the last
    # replayed transaction is (an overestimate after an idle spell: it errs towards the primary).
    "CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END"
)


def init_replica(app: Flask) -> None:
    """Make the replica's engine when one is configured (its pool is separate from the primary's)."""
    url = app.config.get("DATABASE_REPLICA_URL")
    if not url:
        return
    # connect_timeout: a replica that is away costs one read path two seconds at most; then it is not
    # tried again for RETRY_SECONDS. hide_parameters as on the primary: no personal data in logs.
    app.extensions[REPLICA_ENGINE] = create_engine(
        url, pool_pre_ping=True, hide_parameters=True, connect_args={"connect_timeout": 2}
    )


def configured() -> bool:
    return has_app_context() and bool(current_app.config.get("DATABASE_REPLICA_URL"))


def _state() -> dict[str, Any]:
    state: dict[str, Any] = current_app.extensions.setdefault(_STATE, {"down_until": None, "logged": {}})
    return state


def _warn(reason: str, message: str, *args: Any) -> None:
    """One line per reason per minute and process: a lagging replica must not flood the log."""
    logged = _state()["logged"]
    now = clock.now()
    last = logged.get(reason)
    if last is None or now - last >= timedelta(seconds=60):
        logged[reason] = now
        log.warning(message, *args)


def _lsn(value: str) -> int:
    high, _, low = value.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


def _user_key() -> str | None:
    if not has_request_context():
        return None
    user = current_user
    if user is None or not getattr(user, "is_authenticated", False) or getattr(user, "id", None) is None:
        return None
    return f"srs-replica-lsn:{type(user).__name__}:{user.id}"


def _max_lag() -> float:
    return float(current_app.config.get("REPLICA_MAX_LAG_SECONDS", 10))


def _needed_lsn() -> tuple[bool, int | None]:
    """(known, lsn): the commit position the current user must see; unknown when Redis is away."""
    key = _user_key()
    if key is None:
        return True, None
    from srs.core.redis import get_redis

    try:
        raw: Any = get_redis().get(key)
    except Exception as exc:  # Redis down: we cannot know what the user wrote, so read the primary
        _warn(
            "redis",
            "replica not used: the read-your-writes position is unknown (Redis: %s)",
            type(exc).__name__,
        )
        return False, None
    return True, int(raw) if raw else None


def use_replica() -> bool:
    """Whether the read path starting now may read the replica (logs why not, once a minute)."""
    if not configured():
        return False
    state = _state()
    now = clock.now()
    if state["down_until"] is not None and now < state["down_until"]:
        return False
    known, needed = _needed_lsn()
    if not known:
        return False
    engine = current_app.extensions[REPLICA_ENGINE]
    try:
        with engine.connect() as conn:
            conn.execute(text("SET LOCAL statement_timeout = 2000"))
            in_recovery, replay, lag = conn.execute(_STATUS_SQL).one()
    except DBAPIError as exc:
        state["down_until"] = now + timedelta(seconds=RETRY_SECONDS)
        _warn(
            "down",
            "replica not used: it cannot be reached (%s); reading the primary",
            type(exc.orig).__name__,
        )
        return False
    if not in_recovery or replay is None:
        state["down_until"] = now + timedelta(seconds=RETRY_SECONDS)
        _warn("promoted", "replica not used: it is not a streaming standby; reading the primary")
        return False
    if float(lag) > _max_lag():
        _warn(
            "lag", "replica not used: it lags %.1f s (more than %s s); reading the primary", lag, _max_lag()
        )
        return False
    # False while the user's own last write is not there yet: expected, so no warning.
    return needed is None or _lsn(replay) >= needed


@contextmanager
def _on_replica(session: Any) -> Iterator[None]:
    depth = session.info.get(_ON, 0)
    saved_wrote = session.info.get(_WROTE)
    if depth == 0:
        session.info[_WROTE] = False  # what the request wrote before the path is its caller's business
    session.info[_ON] = depth + 1
    try:
        yield
    finally:
        session.info[_ON] = depth
        if depth == 0:
            session.info[_WROTE] = saved_wrote


class _ReadsFromReplica:
    """``reads_from_replica`` as a decorator (retries on the primary) and as a ``with`` block."""

    def __call__(self, view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from srs.extensions import db

            if not use_replica():
                return view(*args, **kwargs)
            try:
                with _on_replica(db.session()):
                    return view(*args, **kwargs)
            except OperationalError as exc:
                # A read on the replica failed (replay conflict, the replica went away): the whole
                # view again on the primary. Nothing of the first try is kept.
                _warn(
                    "query", "replica read failed (%s); answering from the primary", type(exc.orig).__name__
                )
                from srs.core.transaction import discard_after_commit

                db.session.rollback()
                discard_after_commit()
                return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    @contextmanager
    def block(self) -> Iterator[None]:
        from srs.extensions import db

        if not use_replica():
            yield
            return
        with _on_replica(db.session()):
            yield


_reads_from_replica = _ReadsFromReplica()


def reads_from_replica(view: F | None = None) -> Any:
    """Mark a read path: ``@reads_from_replica`` on a view, or ``with reads_from_replica():`` around reads."""
    if view is not None:
        return _reads_from_replica(view)
    return _reads_from_replica.block()


def _remember_commit_position(session: Any) -> None:
    """After a write commits, keep the primary's WAL position for its user (read-your-writes)."""
    wrote = session.info.pop(_COMMITTED_WRITE, False)
    if not wrote or not configured():
        return
    key = _user_key()
    if key is None:
        return
    from srs.core.redis import get_redis
    from srs.extensions import db

    try:
        with db.engine.connect() as conn:
            position: str = conn.execute(text("SELECT pg_current_wal_insert_lsn()::text")).scalar_one()
        ttl = max(60, int(2 * _max_lag()))
        get_redis().set(key, _lsn(position), ex=ttl)
    except Exception as exc:  # the write is safe; the user may at worst read the primary or a stale page
        _warn("remember", "could not keep the read-your-writes position (%s)", type(exc).__name__)


@event.listens_for(RoutingSession, "after_commit")
def _after_commit(session: Any) -> None:
    _remember_commit_position(session)


@event.listens_for(RoutingSession, "after_rollback")
def _after_rollback(session: Any) -> None:
    session.info.pop(_COMMITTED_WRITE, None)

"""RQ queues with the JSON serializer (pickle is unsafe), the job decorator, and enqueue-after-commit.

A job is a function decorated with :func:`job`; other code refers to it by the function itself
(``enqueue_after_commit(jobs.relay)``, ``register_periodic(jobs.reconcile, 60)``), never by a dotted
string typed a second time. RQ stores the function's dotted name, which the worker imports.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar, overload

from flask import current_app, g
from redis.exceptions import RedisError
from rq import Queue
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from srs.core.redis import get_redis
from srs.core.transaction import after_commit, commit, discard_after_commit
from srs.extensions import db

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
# A job function; a dotted path is still accepted from callers not yet converted to functions.
JobRef = Callable[..., Any] | str


def get_queue(name: str | None = None) -> Queue:
    """The named queue (the app's default queue when no name is given)."""
    queue_name = name or current_app.config["QUEUE_NAMES"][0]
    return Queue(queue_name, connection=get_redis(), serializer=JSONSerializer)


def job_name(func: JobRef) -> str:
    """The dotted path RQ stores for ``func`` (and the worker imports to run it)."""
    if isinstance(func, str):
        return func
    return f"{func.__module__}.{func.__qualname__}"


def _default_summary(name: str) -> Callable[..., str | None]:
    def summary(result: Any, *_args: Any, **_kwargs: Any) -> str | None:
        return f"{name}: {result}" if result else None

    return summary


@overload
def job(func: F, *, summary: Callable[..., str | None] | None = None, console: bool = True) -> F: ...
@overload
def job(
    func: None = None, *, summary: Callable[..., str | None] | None = None, console: bool = True
) -> Callable[[F], F]: ...
def job(
    func: F | None = None, *, summary: Callable[..., str | None] | None = None, console: bool = True
) -> F | Callable[[F], F]:
    """Make ``func`` a background job: the one transaction rule of jobs.

    The job starts with a fresh session (the worker keeps one app context for every job), and when
    it returns its work is committed and what it asked to run after the commit (enqueue-after-commit)
    runs; when it raises, everything is rolled back and the exception goes on to RQ, which records
    the failure. A job may commit along the way (a batch at a time); the final commit then has
    nothing left to do.

    ``summary(result, *args, **kwargs)`` gives the one log line of a job that did something (None:
    nothing worth a line, like a relay pass that found no row); by default ``name: result`` when the
    result is truthy. ``console=False`` keeps that line in the log file only (a job run once per
    message, whose batch already has its line). A job called from inside another job (a batch
    falling back to one-by-one) simply runs within the caller's transaction.
    """

    def decorate(function: F) -> F:
        line = summary or _default_summary(function.__name__)
        job_log = logging.getLogger(function.__module__)

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if g.get("srs_in_job"):
                return function(*args, **kwargs)
            g.srs_in_job = True
            db.session.remove()
            discard_after_commit()  # what an earlier caller left in this context is not ours to run
            try:
                result = function(*args, **kwargs)
                commit()
            except BaseException:
                db.session.rollback()
                discard_after_commit()
                raise
            finally:
                g.pop("srs_in_job", None)
                db.session.remove()
            text = line(result, *args, **kwargs)
            if text:
                job_log.info("%s", text, extra={"srs_console": console})
            return result

        wrapper.srs_job = True  # type: ignore[attr-defined]  # what tests/core/test_jobs_rule.py looks for
        return wrapper  # type: ignore[return-value]

    return decorate(func) if func is not None else decorate


class _RedisDownNotice:
    """One warning line per Redis outage (per process) instead of one traceback per request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._missed = 0

    def failed(self, name: str, exc: RedisError) -> None:
        with self._lock:
            self._missed += 1
            first = self._missed == 1
        if first:
            log.warning(
                "Redis is not answering (%s): %s and later jobs are not queued after commit; the records are "
                "saved and the periodic relay delivers referrals once Redis is back",
                type(exc).__name__,
                name,
            )

    def succeeded(self) -> None:
        if not self._missed:
            return
        with self._lock:
            missed, self._missed = self._missed, 0
        if missed:
            log.warning("Redis answers again; %d job(s) could not be queued while it was away", missed)


redis_down = _RedisDownNotice()


def _waiting_key(name: str) -> str:
    return f"srs:waiting:{name}"


def _still_waiting(connection: Any, name: str) -> bool:
    """Whether the run of job ``name`` last enqueued by :func:`enqueue_unless_waiting` has not started."""
    job_id: Any = connection.get(_waiting_key(name))
    if job_id is None:
        return False
    status: Any = connection.hget(
        Job.key_for(job_id.decode() if isinstance(job_id, bytes) else str(job_id)), "status"
    )
    if isinstance(status, bytes):
        status = status.decode()
    return bool(status == JobStatus.QUEUED.value)


def enqueue_unless_waiting(queue: Queue, name: str, *, job_timeout: int, **kwargs: Any) -> bool:
    """Enqueue the argument-less job ``name`` unless a run of it is still waiting in the queue.

    For jobs that work on whatever is due when they start (the relay, the reconciler, the sealer):
    a run that has not started yet will see everything committed before it starts, so a second one
    behind it would find nothing. Returns whether a job was enqueued. Without this a busy worker
    (a loaded machine, a long delivery, a seed that refers hundreds of clients) falls behind by a
    job per commit or per period, and what is queued behind that backlog waits ever longer.
    """
    if _still_waiting(queue.connection, name):
        return False
    queued = queue.enqueue(name, job_timeout=job_timeout, **kwargs)
    queue.connection.set(_waiting_key(name), queued.id, ex=job_timeout * 2)
    return True


def enqueue_after_commit(
    func: JobRef, *args: Any, job_timeout: int = 600, unless_waiting: bool = False, **kwargs: Any
) -> None:
    """Put the job ``func`` (with plain arguments) on the queue once the request or job commits.

    ``unless_waiting``: not if a run of that argument-less job is still waiting (see
    :func:`enqueue_unless_waiting`). Redis being away is expected (a restart, a network cut): the
    committed records are safe, so it costs one warning line per outage, not a traceback per request.
    """
    name = job_name(func)
    if unless_waiting and args:
        raise ValueError(f"{name}: a job enqueued unless waiting takes no arguments")

    def _enqueue() -> None:
        try:
            if unless_waiting:
                enqueue_unless_waiting(get_queue(), name, job_timeout=job_timeout, **kwargs)
            else:
                get_queue().enqueue(name, *args, job_timeout=job_timeout, **kwargs)
        except RedisError as exc:
            redis_down.failed(name, exc)
        else:
            redis_down.succeeded()

    after_commit(_enqueue)

"""Periodic jobs (relay, reconciler, deadline checks) enqueued by the worker.

The features describe them (``PeriodicJob`` in their ``Feature``); the app keeps the list.

Every worker runs the same small scheduler loop; a Redis lock per job and period makes sure that
with several workers each periodic job is enqueued once per period.

A periodic job whose previous run is still waiting in the queue is not enqueued again: that run
will do the period's work when it starts. Without this, a busy worker (a loaded machine, a long
delivery) falls behind by one job per period per periodic job, and the deliveries queued behind
that growing backlog wait ever longer.
"""

from __future__ import annotations

from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.job import Job, JobStatus

from srs.core import clock
from srs.core.wiring import wiring


def _still_queued(connection: Redis, last_key: str) -> bool:
    """Whether the job last enqueued under ``last_key`` is still waiting for a worker."""
    job_id: Any = connection.get(last_key)
    if job_id is None:
        return False
    key = Job.key_for(job_id.decode() if isinstance(job_id, bytes) else str(job_id))
    status: Any = connection.hget(key, "status")
    if isinstance(status, bytes):
        status = status.decode()
    return bool(status == JobStatus.QUEUED.value)


def enqueue_due(connection: Redis, queue: Queue, now: float | None = None) -> list[str]:
    """Enqueue each periodic job (of the current app's features) whose period has started, that
    nobody enqueued for it yet and whose previous run is not still waiting in the queue."""
    now = now if now is not None else clock.now().timestamp()
    enqueued = []
    for job in wiring().periodic_jobs:
        period = int(now // job.every_seconds)
        key = f"srs:periodic:{job.func}:{period}"
        last = f"srs:periodic:{job.func}:last"
        try:
            if not connection.set(key, "1", nx=True, ex=job.every_seconds * 2):
                continue
            if _still_queued(connection, last):
                continue
            timeout = max(job.every_seconds * 4, 60)
            queued = queue.enqueue(job.func, job_timeout=timeout, result_ttl=60)
            connection.set(last, queued.id, ex=timeout * 2)
            enqueued.append(job.func)
        except RedisError:
            break  # Redis is away: try again on the next tick
    return enqueued

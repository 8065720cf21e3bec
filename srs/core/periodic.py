"""Periodic jobs (relay, reconciler, deadline checks) enqueued by the worker.

The features describe them (``PeriodicJob`` in their ``Feature``); the app keeps the list.

Every worker runs the same small scheduler loop; a Redis lock per job and period makes sure that
with several workers each periodic job is enqueued once per period.

A periodic job whose previous run is still waiting in the queue is not enqueued again: that run
does the period's work when it starts (``queue.enqueue_unless_waiting``).
"""

from __future__ import annotations

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

from srs.core import clock
from srs.core.queue import enqueue_unless_waiting
from srs.core.wiring import wiring


def enqueue_due(connection: Redis, queue: Queue, now: float | None = None) -> list[str]:
    """Enqueue each periodic job (of the current app's features) whose period has started, that
    nobody enqueued for it yet and whose previous run is not still waiting in the queue."""
    now = now if now is not None else clock.now().timestamp()
    enqueued = []
    for job in wiring().periodic_jobs:
        period = int(now // job.every_seconds)
        key = f"srs:periodic:{job.func}:{period}"
        try:
            if not connection.set(key, "1", nx=True, ex=job.every_seconds * 2):
                continue
            timeout = max(job.every_seconds * 4, 60)
            if enqueue_unless_waiting(queue, job.func, job_timeout=timeout, result_ttl=60):
                enqueued.append(job.func)
        except RedisError:
            break  # Redis is away: try again on the next tick
    return enqueued

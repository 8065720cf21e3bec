"""Periodic jobs (relay, reconciler, deadline checks) enqueued by the worker.

The features describe them (``PeriodicJob`` in their ``Feature``); the app keeps the list.

Every worker runs the same small scheduler loop; a Redis lock per job and period makes sure that
with several workers each periodic job is enqueued once per period.
"""

from __future__ import annotations

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

from srs.core import clock
from srs.core.wiring import wiring


def enqueue_due(connection: Redis, queue: Queue, now: float | None = None) -> list[str]:
    """Enqueue each periodic job (of the current app's features) whose period has started and that
    nobody enqueued for it yet."""
    now = now if now is not None else clock.now().timestamp()
    enqueued = []
    for job in wiring().periodic_jobs:
        period = int(now // job.every_seconds)
        key = f"srs:periodic:{job.func}:{period}"
        try:
            if connection.set(key, "1", nx=True, ex=job.every_seconds * 2):
                queue.enqueue(job.func, job_timeout=max(job.every_seconds * 4, 60), result_ttl=60)
                enqueued.append(job.func)
        except RedisError:
            break  # Redis is away: try again on the next tick
    return enqueued

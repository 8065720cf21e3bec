"""Periodic jobs (relay, reconciler, deadline checks) enqueued by the worker.

Every worker runs the same small scheduler loop; a Redis lock per job and period makes sure that
with several workers each periodic job is enqueued once per period.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

from srs.core import clock


@dataclass(frozen=True)
class PeriodicJob:
    func: str
    every_seconds: int


PERIODIC_JOBS: list[PeriodicJob] = []


def register_periodic(func: str, every_seconds: int) -> None:
    """Run the job at ``func`` (a dotted path taking no arguments) every ``every_seconds``."""
    if all(job.func != func for job in PERIODIC_JOBS):
        PERIODIC_JOBS.append(PeriodicJob(func, every_seconds))


def enqueue_due(connection: Redis, queue: Queue, now: float | None = None) -> list[str]:
    """Enqueue each periodic job whose period has started and that nobody enqueued for it yet."""
    now = now if now is not None else clock.now().timestamp()
    enqueued = []
    for job in PERIODIC_JOBS:
        period = int(now // job.every_seconds)
        key = f"srs:periodic:{job.func}:{period}"
        try:
            if connection.set(key, "1", nx=True, ex=job.every_seconds * 2):
                queue.enqueue(job.func, job_timeout=max(job.every_seconds * 4, 60), result_ttl=60)
                enqueued.append(job.func)
        except RedisError:
            break  # Redis is away: try again on the next tick
    return enqueued

"""RQ queues with the JSON serializer (pickle is unsafe), and enqueue-after-commit."""

from __future__ import annotations

from typing import Any

from flask import current_app
from rq import Queue
from rq.serializers import JSONSerializer

from srs.core.redis import get_redis
from srs.core.transaction import after_commit


def get_queue(name: str | None = None) -> Queue:
    """The named queue (the app's default queue when no name is given)."""
    queue_name = name or current_app.config["QUEUE_NAMES"][0]
    return Queue(queue_name, connection=get_redis(), serializer=JSONSerializer)


def enqueue_after_commit(func: str, *args: Any, job_timeout: int = 600, **kwargs: Any) -> None:
    """Put a job (by dotted function path, with plain arguments) on the queue once the request commits."""

    def _enqueue() -> None:
        get_queue().enqueue(func, *args, job_timeout=job_timeout, **kwargs)

    after_commit(_enqueue)

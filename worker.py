"""The RQ worker: one app context, the JSON serializer, periodic jobs, clean shutdown on SIGTERM.

python worker.py            # work until stopped (Ctrl-C or SIGTERM finishes the current job)
python worker.py --burst    # work until the queue is empty, then stop

RQ 3.0's ``Worker.work()`` retries a lost Redis connection while waiting for jobs, but it returns
(instead of raising) on other Redis failures; this loop starts a fresh worker in that case, so a
Redis restart never needs a worker restart. SIGTERM is RQ's warm shutdown: the job in hand is
finished, then the worker stops.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import Any

from redis.exceptions import RedisError
from rq import Worker
from rq.serializers import JSONSerializer

from srs import create_app
from srs.core.periodic import enqueue_due
from srs.core.queue import get_queue
from srs.core.redis import get_redis
from srs.extensions import db

log = logging.getLogger("srs.worker")


class SRSWorker(Worker):
    """A forking RQ worker whose work horse drops the database connections inherited from its parent."""

    # RQ backs off up to 60 s between reconnection attempts; a few seconds keeps delivery prompt
    # once Redis is back.
    max_connection_wait_time = 5.0

    def main_work_horse(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        # A forked child must not reuse the parent's sockets (SQLAlchemy's advice for multiprocessing).
        db.engine.dispose(close=False)
        return super().main_work_horse(*args, **kwargs)


def _scheduler_loop(app, stop: threading.Event, tick_seconds: float) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        queue = get_queue()
        connection = get_redis()
        while not stop.is_set():
            try:
                enqueue_due(connection, queue)
            except RedisError:
                log.warning("Redis is not answering; periodic jobs wait")
            stop.wait(tick_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description="SRS background worker")
    parser.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    parser.add_argument("--tick", type=float, default=5.0, help="seconds between periodic-job checks")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")

    app = create_app()
    stop = threading.Event()

    def _stop(_signum: int, _frame: Any) -> None:
        # Between two RQ workers (while Redis is away) a SIGTERM simply ends the loop.
        stop.set()

    with app.app_context():
        if not args.burst:
            threading.Thread(target=_scheduler_loop, args=(app, stop, args.tick), daemon=True).start()
        while not stop.is_set():
            signal.signal(signal.SIGTERM, _stop)
            signal.signal(signal.SIGINT, _stop)
            worker = None
            try:
                worker = SRSWorker(
                    app.config["QUEUE_NAMES"], connection=get_redis(), serializer=JSONSerializer
                )
                worker.work(burst=args.burst, with_scheduler=True, logging_level="INFO")
            except RedisError:
                if args.burst:
                    raise
                log.warning("Redis is not answering; trying again in 2 s")
            if args.burst or (worker is not None and worker._shutdown_requested_date is not None):
                break  # asked to stop (SIGTERM/SIGINT), or a burst is done
            if not stop.is_set():
                log.warning("worker loop ended without a stop request (Redis away?); starting again in 2 s")
                stop.wait(2)
        stop.set()


if __name__ == "__main__":
    main()

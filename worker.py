"""The RQ worker: one app context, the JSON serializer, periodic jobs, clean shutdown on SIGTERM.

python worker.py            # work until stopped (Ctrl-C or SIGTERM finishes the current job)
python worker.py --burst    # work until the queue is empty, then stop
python worker.py --log-dir instance/logs   # the full log (RQ's own lines too) in instance/logs/worker.log

The console shows one line per job that did something and every warning; RQ's per-job INFO lines
go to the log file only (``--verbose`` shows them on the console too). ``SRS_LOG_DIR`` sets the
log folder when ``--log-dir`` is not given (``make run`` uses instance/logs).

RQ 3.0's ``Worker.work()`` retries a lost Redis connection while waiting for jobs, but it returns
(instead of raising) on other Redis failures; this loop starts a fresh worker in that case, so a
Redis restart never needs a worker restart. SIGTERM is RQ's warm shutdown: the job in hand is
finished, then the worker stops.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from pathlib import Path
from typing import Any

from flask import Flask
from redis.exceptions import RedisError
from rq import Worker
from rq.serializers import JSONSerializer

from srs import create_app
from srs.core.logs import configure_logging
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

    def main_work_horse(self, *args: Any, **kwargs: Any) -> None:
        # A forked child must not reuse the parent's sockets (SQLAlchemy's advice for multiprocessing).
        db.engine.dispose(close=False)
        return super().main_work_horse(*args, **kwargs)


class Outage:
    """One warning when Redis stops answering and one when it answers again, not one per retry."""

    def __init__(self) -> None:
        self.down = False

    def failed(self) -> None:
        if not self.down:
            self.down = True
            log.warning("Redis is not answering; deliveries and periodic jobs wait until it is back")

    def answered(self) -> None:
        if self.down:
            self.down = False
            log.warning("Redis answers again; deliveries and periodic jobs resume")


def _scheduler_loop(app: Flask, stop: threading.Event, tick_seconds: float, outage: Outage) -> None:
    with app.app_context():
        queue = get_queue()
        connection = get_redis()
        while not stop.is_set():
            try:
                connection.ping()
                enqueue_due(connection, queue)
            except RedisError:
                outage.failed()
            else:
                outage.answered()
            stop.wait(tick_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description="SRS background worker")
    parser.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    parser.add_argument("--tick", type=float, default=5.0, help="seconds between periodic-job checks")
    parser.add_argument(
        "--log-dir", default=os.environ.get("SRS_LOG_DIR"), help="write the full log to LOG_DIR/worker.log"
    )
    parser.add_argument("--verbose", action="store_true", help="show RQ's own INFO lines on the console")
    args = parser.parse_args()
    configure_logging("worker", Path(args.log_dir) if args.log_dir else None, verbose=args.verbose)

    app = create_app()
    stop = threading.Event()

    def _stop(_signum: int, _frame: Any) -> None:
        # Between two RQ workers (while Redis is away) a SIGTERM simply ends the loop.
        stop.set()

    outage = Outage()
    with app.app_context():
        if not args.burst:
            scheduler = threading.Thread(
                target=_scheduler_loop, args=(app, stop, args.tick, outage), daemon=True
            )
            scheduler.start()
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
                outage.failed()
            if args.burst or (worker is not None and worker._shutdown_requested_date is not None):
                break  # asked to stop (SIGTERM/SIGINT), or a burst is done
            if not stop.is_set():
                # RQ's work() returns when Redis fails in a way it does not retry: start a fresh worker.
                outage.failed()
                stop.wait(2)
        stop.set()


if __name__ == "__main__":
    main()

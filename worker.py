"""The RQ worker: one app context, the JSON serializer, periodic jobs, clean shutdown on SIGTERM.

python worker.py            # work until stopped (Ctrl-C or SIGTERM finishes the current job)
python worker.py --burst    # work until the queue is empty, then stop
"""

from __future__ import annotations

import argparse
import logging
import threading
import time

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
    with app.app_context():
        stop = threading.Event()
        if not args.burst:
            threading.Thread(target=_scheduler_loop, args=(app, stop, args.tick), daemon=True).start()
        while True:
            try:
                worker = SRSWorker(
                    app.config["QUEUE_NAMES"], connection=get_redis(), serializer=JSONSerializer
                )
                worker.work(burst=args.burst, with_scheduler=True, logging_level="INFO")
                break
            except RedisError:
                if args.burst:
                    raise
                # Redis restarted or is briefly away: wait and carry on rather than die.
                log.warning("Redis connection lost; retrying in 2 s")
                time.sleep(2)
        stop.set()


if __name__ == "__main__":
    main()

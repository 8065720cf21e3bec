"""The CPU cost of one write, measured in one process: repeatable on a busy machine, unlike a rate.

    python bench/write_cost.py                   # reset the scratch database, 200 of each write
    python bench/write_cost.py --reuse -n 500    # keep the database of the last run
    python bench/write_cost.py --breakdown       # also where the web process's CPU goes (cProfile)
    python bench/write_cost.py --reuse --srs /tmp/srs-main   # another checkout's code, same database

Runs registrations (``POST /api/v1/clients``), screenings and referral creations through the Flask
test client of one app (``SRS_ENV=production``, an officer's bearer token) against PostgreSQL, one at
a time, and prints per request:

* **web CPU**: CPU time of this process (``time.process_time``), i.e. what a gunicorn worker spends;
* **db CPU**: CPU time of the PostgreSQL backends serving this process (from /proc, so PostgreSQL
  must run on this machine; "n/a" otherwise);
* **statements**: SQL statements sent through SQLAlchemy (SAVEPOINTs included; psycopg's own BEGIN
  and the COMMIT are not counted);
* **wall**: elapsed time (the one figure the machine's other load changes much).

Rates on 2 cores follow from the CPU: at best about 2 / (web + db CPU) requests per second.
``--breakdown`` runs the same requests again under cProfile timed by CPU and prints the share of
the web CPU under the functions that the write path is known to spend in.

Settings: ``SRS_BENCH_DATABASE_URL``, ``SRS_BENCH_REDIS_URL`` as for bench/http_writes.py.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.http_writes import PASSWORD, PROGRAMMES, VILLAGE, reset_database  # noqa: E402

# Where a write spends (function names as cProfile reports them: file suffix, function).
BREAKDOWN = [
    ("token lookup", "accounts/services.py", "user_for_token"),
    ("validation", "registry/services.py", "_validate_registration"),
    ("duplicate check", "registry/duplicates.py", "find_probable_duplicates"),
    ("ID taken check", "registry/duplicates.py", "_id_taken"),
    ("screening (evaluate + write)", "programmes/screening.py", "screen"),
    ("referral creation service", "referrals/services.py", "create_referral"),
    ("report facts", "reports/facts.py", "_after_flush"),
    ("coverage facts", "reports/coverage_facts.py", "_after_flush"),
    ("enrolment listener", "programmes/enrolments.py", "_after_flush"),
    ("ORM flush (all)", "orm/session.py", "flush"),
    ("audit chain sealer (not in the request since the third pass)", "core/audit_chain.py", "seal_pending"),
    ("commit (all)", "orm/session.py", "commit"),
    ("response serializer (client)", "api/clients.py", "client_detail"),
    ("idempotency", "core/idempotency.py", "wrapper"),
    ("JSON response", "flask/json/provider.py", "response"),
]


def _backend_cpu(conn: Any, database: str) -> float | None:
    """CPU seconds used so far by every backend connected to ``database`` (None if not readable)."""
    pids = [
        row[0]
        for row in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (database,)
        )
    ]
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    try:
        for pid in pids:
            with contextlib_suppress():
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / ticks
    except PermissionError:
        return None
    return total


class contextlib_suppress:  # noqa: N801 - a backend may end between the list and the read
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, *_rest: Any) -> bool:
        return kind is FileNotFoundError or kind is ProcessLookupError


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "SRS_BENCH_DATABASE_URL", "postgresql+psycopg://root@127.0.0.1:5432/srs_bench_writes"
        ),
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("SRS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
    )
    parser.add_argument("-n", type=int, default=200, help="requests of each write")
    parser.add_argument("--reuse", action="store_true", help="keep the database of the last run")
    parser.add_argument("--breakdown", action="store_true", help="also profile the web CPU (cProfile)")
    parser.add_argument("--kinds", nargs="+", default=["registration", "screening", "referral"])
    parser.add_argument("--dump", help="write the cProfile stats of each write to DUMP.<write>.prof")
    parser.add_argument("--srs", help="measure the SRS code of another checkout (its root folder)")
    args = parser.parse_args()
    if args.srs:
        sys.path.insert(0, str(Path(args.srs).resolve()))

    import psycopg
    from sqlalchemy import event

    url = args.database_url
    if not args.reuse:
        reset_database(url)
    os.environ.update(
        {
            "SRS_DATABASE_URL": url,
            "SRS_REDIS_URL": args.redis_url,
            "SRS_ENV": "production",
            "SRS_SECRET_KEY": "bench-secret-key-not-for-production-0123456789",
            "SRS_RATELIMIT_ENABLED": "0",
            "SRS_INSTANCE_PATH": tempfile.mkdtemp(prefix="srs-bench-cost-"),
        }
    )
    import srs
    from srs import create_app
    from srs.extensions import db

    print(f"SRS code from {Path(srs.__file__).parent.parent}")

    app = create_app()
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "officer.id1", "password": PASSWORD}).json[
        "token"
    ]
    headers = {"Authorization": f"Bearer {token}"}
    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))
    stamp = int(time.time()) % 100000
    statements = [0]
    with app.app_context():
        event.listen(
            db.engine, "before_cursor_execute", lambda *a, **k: statements.__setitem__(0, statements[0] + 1)
        )
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    database = plain.rsplit("/", 1)[1].split("?")[0]
    monitor = psycopg.connect(plain, autocommit=True)

    def registration(i: int) -> Any:
        body = {
            "id_type": "none",
            "full_name": f"Bench Cost {stamp} {i}",
            "sex": ("female", "male")[i % 2],
            "date_of_birth": f"19{50 + i % 50:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}",
            "phone": f"0814{(stamp * 100000 + i) % 10**8:08d}",
            "region_code": VILLAGE,
            "address": "Dusun Krajan",
            "occupation": "Pedagang",
            "work_status": "informal",
            "monthly_income": 1500000,
            "household_size": 4,
            "disability": False,
            "in_education": False,
            "poverty_status": "near_poor",
            "enrolments": [],
            "consent": {"given": True, "date": today, "scope": "Screening and referral"},
        }
        return client.post("/api/v1/clients", json=body, headers=headers)

    for i in range(20):  # warm-up: caches, the connection pool, the statement caches
        response = registration(10**6 + i)
        assert response.status_code == 201, response.get_data(as_text=True)

    ids: list[int] = []
    ids_profiled: list[int] = []
    n = args.n

    def one(kind: str, i: int, pool: list[int], programme: str) -> None:
        if kind == "registration":
            response = registration(i)
            assert response.status_code == 201, (kind, response.status_code, response.get_data(as_text=True))
            pool.append(response.json["id"])
        elif kind == "screening":
            response = client.post(f"/api/v1/clients/{pool[i]}/screenings", json={}, headers=headers)
        else:
            body = {"client_id": pool[i], "programme_code": programme, "note": "Bench"}
            response = client.post("/api/v1/referrals", json=body, headers=headers)
        assert response.status_code == 201, (kind, response.status_code, response.get_data(as_text=True))

    rows = []
    profiles: dict[str, pstats.Stats] = {}
    for kind in args.kinds:
        db_before = _backend_cpu(monitor, database)
        count_before = statements[0]
        cpu_before, wall_before = time.process_time(), time.perf_counter()
        for i in range(n):
            one(kind, 2 * i if kind == "registration" else i, ids, PROGRAMMES[0])
        cpu = (time.process_time() - cpu_before) / n
        wall = (time.perf_counter() - wall_before) / n
        db_after = _backend_cpu(monitor, database)
        db_cpu = None if db_before is None or db_after is None else (db_after - db_before) / n
        rows.append((kind, cpu, db_cpu, (statements[0] - count_before) / n, wall))
        if args.breakdown:
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
            for i in range(n):
                one(kind, 2 * i + 1 if kind == "registration" else i, ids_profiled, PROGRAMMES[1])
            profiler.disable()
            profiles[kind] = pstats.Stats(profiler)
            if args.dump:
                profiler.dump_stats(f"{args.dump}.{kind}.prof")
    monitor.close()

    print(f"\nOne process, {n} requests of each write, one at a time (ms per request):\n")
    print("| write | web CPU | db CPU | web + db CPU | statements | wall |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for kind, cpu, db_cpu, count, wall in rows:
        db_text = "n/a" if db_cpu is None else f"{db_cpu * 1000:.1f}"
        both = "n/a" if db_cpu is None else f"{(cpu + db_cpu) * 1000:.1f}"
        print(f"| {kind} | {cpu * 1000:.1f} | {db_text} | {both} | {count:.1f} | {wall * 1000:.1f} |")
    for kind, stats in profiles.items():
        total = stats.total_tt  # type: ignore[attr-defined]
        print(
            f"\nWhere the web CPU of a {kind} goes (cProfile by CPU time, inclusive; profiled total "
            f"{total / n * 1000:.1f} ms per request):\n"
        )
        print("| part | share | ms per request |")
        print("| --- | ---: | ---: |")
        entries = stats.stats  # type: ignore[attr-defined]
        for label, suffix, function in BREAKDOWN:
            cumulative = sum(
                value[3]
                for (filename, _line, name), value in entries.items()
                if name == function and filename.endswith(suffix)
            )
            if cumulative:
                print(f"| {label} | {cumulative / total:.1%} | {cumulative / n * 1000:.2f} |")


if __name__ == "__main__":
    main()

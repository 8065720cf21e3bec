"""Dashboard latency with 1,000,000 clients and 2,000,000 referrals on PostgreSQL.

    SRS_BENCH_DATABASE_URL=postgresql+psycopg://root@127.0.0.1:5432/srs_reports \
    SRS_BENCH_REDIS_URL=redis://127.0.0.1:6379/6 .venv/bin/python bench/dashboard_bench.py

The data lives in its own schema (``bench``) so the test suite's tables in the same database are left
alone. It is generated in SQL (INSERT ... SELECT generate_series), once; later runs reuse it
(``--rebuild`` makes it again). Then the dashboard is timed through the service layer and as the
HTML page through Flask's test client, for a province supervisor and for an admin (all regions).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

CLIENTS = 1_000_000
REFERRALS = 2_000_000
PASSWORD = "bench-password-2026"  # noqa: S105 - a throwaway database


def make_app(url: str, redis_url: str) -> Any:
    os.environ.setdefault("SRS_INSTANCE_PATH", tempfile.mkdtemp(prefix="srs-bench-"))
    from srs import create_app
    from srs.config import Config

    config = Config()
    config.SQLALCHEMY_DATABASE_URI = url
    # Per-session settings (e.g. "-cwork_mem=64MB -cmaintenance_work_mem=1GB") without touching the cluster.
    options = " ".join(["-csearch_path=bench", os.environ.get("SRS_BENCH_PG_OPTIONS", "")]).strip()
    config.SQLALCHEMY_ENGINE_OPTIONS = {"connect_args": {"options": options}}
    config.REDIS_URL = redis_url
    config.WTF_CSRF_ENABLED = False
    config.RATELIMIT_ENABLED = False
    config.ARGON2_TIME_COST = 1
    config.ARGON2_MEMORY_COST = 8192
    return create_app(config)


def build(app: Any, rebuild: bool) -> None:
    from bench.bulk import deferred_indexes
    from srs.accounts.seed import seed_users
    from srs.agencies.seed import seed_agencies
    from srs.core.transaction import commit
    from srs.extensions import db
    from srs.regions.seed import seed_regions
    from srs.reports import facts

    with app.test_request_context():
        db.session.execute(text("CREATE SCHEMA IF NOT EXISTS bench"))
        # The client names' trigram index needs pg_trgm on the search path (bench alone): a fresh
        # database gets it here; one with pg_trgm elsewhere needs it reachable (or its own database).
        db.session.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA bench"))
        db.session.commit()
        if rebuild:
            db.drop_all()
        db.create_all()
        have = db.session.execute(text("SELECT count(*) FROM clients")).scalar_one()
        if have >= CLIENTS and not rebuild:
            print(f"reusing {have:,} clients")
        else:
            seed_regions()
            db.session.flush()
            seed_agencies()
            seed_users(PASSWORD)
            commit()
            t0 = time.perf_counter()
            tables = ["clients", "screenings", "screening_results", "referrals"]
            with deferred_indexes(db.session, tables, schema="bench"):
                _generate(db)
            commit()
            print(f"generated in {time.perf_counter() - t0:.0f} s")
        # Statistics first: the facts' INSERT ... SELECT joins the fresh tables, and without them
        # PostgreSQL (autovacuum not yet round) plans it for empty tables (minutes instead of seconds).
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("clients", "screenings", "screening_results", "referrals"):
                conn.execute(text(f"ANALYZE {table}"))
        # The data is loaded with SQL, past the ORM: build the dashboard's facts as the migrations do,
        # and as a data migration at national size would, indexes after the rows (at 10,000,000
        # clients the INSERT ... SELECT keeping the facts' indexes row by row ran 13 min unfinished).
        for table, rebuild_facts in (
            ("report_screening_facts", facts.rebuild_all),
            ("report_referral_facts", facts.rebuild_referrals),
        ):
            if rebuild or not db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one():
                t0 = time.perf_counter()
                with deferred_indexes(db.session, [table], schema="bench"):
                    rows = rebuild_facts()
                commit()
                print(f"{table}: {rows:,} rows built in {time.perf_counter() - t0:.0f} s", flush=True)
        # Fresh statistics and visibility maps, as autovacuum would give a long-running server.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in (
                "clients",
                "screenings",
                "screening_results",
                "referrals",
                "complaints",
                "report_screening_facts",
                "report_referral_facts",
            ):
                conn.execute(text(f"VACUUM ANALYZE {table}"))


def _generate(db: Any) -> None:
    run = db.session.execute
    run(
        text(
            "TRUNCATE referrals, screening_results, screenings, complaints, clients RESTART IDENTITY CASCADE"
        )
    )
    # Two programmes per country with a published rule version.
    run(
        text("""
        INSERT INTO programmes (code, agency_id, country, kind, names, descriptions, benefit,
                                required_documents, shared_fields, active, functions)
        SELECT v.code, a.id, a.country, 'social_insurance', '{}', '{}', '{}', '[]', '[]', true,
               '["old_age"]'
        FROM (VALUES ('ID-BPJSTK-BPU', 'BPJSTK'), ('ID-JKN-PBI', 'BPJSKES'), ('VN-VSI', 'VSS'),
                     ('VN-SA', 'MOLISA')) AS v(code, agency)
        JOIN agencies a ON a.code = v.agency
        ON CONFLICT (code) DO NOTHING""")
    )
    run(
        text("""
        INSERT INTO rule_versions (programme_id, number, criteria, status, created_at)
        SELECT p.id, 1, '{"all": []}', 'published', now() FROM programmes p
        WHERE NOT EXISTS (SELECT 1 FROM rule_versions r WHERE r.programme_id = p.id)""")
    )
    run(
        text(
            "UPDATE programmes p SET current_version_id = r.id FROM rule_versions r WHERE programme_id = p.id"
        )
    )
    # Clients spread over the lowest-level regions of both countries, registered over two years.
    run(
        text(f"""
        WITH leaves AS (
            SELECT array_agg(id ORDER BY code) AS ids FROM regions r
            WHERE NOT EXISTS (SELECT 1 FROM regions c WHERE c.parent_id = r.id))
        INSERT INTO clients (id_type, full_name, name_key, sex, date_of_birth, region_id, work_status,
            disability, poverty_status, enrolments, consent_given, needs_id_followup, needs_review,
            created_at, updated_at, version, extra)
        SELECT 'none', 'Client ' || i, 'client ' || i,
               CASE WHEN i % 2 = 0 THEN 'female' ELSE 'male' END,
               DATE '1950-01-01' + (i * 7919 % 20000)::int,
               leaves.ids[(1 + i * 31 % array_length(leaves.ids, 1))::int],
               (ARRAY['informal','self_employed','msme_worker','unemployed','formal'])[(1 + i % 5)::int],
               i % 17 = 0, 'unknown', '[]', true, false, false,
               now() - make_interval(secs => (i * 7907 % 63072000)), now(), 1, '{{}}'
        FROM generate_series(1::bigint, {CLIENTS}) AS i, leaves""")
    )
    # Every other client screened once, against their country's two programmes.
    run(
        text("""
        INSERT INTO screenings (client_id, screened_at, trigger)
        SELECT id, created_at + interval '1 hour', 'officer' FROM clients WHERE id % 2 = 0""")
    )
    run(
        text("""
        INSERT INTO screening_results (screening_id, programme_id, rule_version_id, outcome, reasons)
        SELECT s.id, p.id, p.current_version_id,
               (ARRAY['eligible','eligible','not_eligible','needs_information'])[1 + (s.id + p.id) % 4], '[]'
        FROM screenings s JOIN clients c ON c.id = s.client_id
        JOIN regions r ON r.id = c.region_id
        JOIN programmes p ON p.country = r.country""")
    )
    # Two referrals per client on average. As in an office, referrals older than 60 days have been
    # decided or closed; the recent ones are still open in every status (some past their due date).
    run(
        text(f"""
        WITH progs AS (
            SELECT country, array_agg(id ORDER BY id) AS ids, array_agg(agency_id ORDER BY id) AS agencies
            FROM programmes GROUP BY country),
        picks AS (
            SELECT i, (1 + i * 48271 % {CLIENTS})::int AS client_id
            FROM generate_series(1::bigint, {REFERRALS}) AS i),
        src AS (
            SELECT picks.i, picks.client_id,
                   CASE WHEN c.created_at < now() - interval '60 days'
                        THEN (ARRAY['declined','completed','completed','completed',
                                    'cancelled'])[(1 + i % 5)::int]
                        ELSE (ARRAY['pending','delivered','accepted','accepted','completed',
                                    'declined'])[(1 + i % 6)::int]
                   END AS status
            FROM picks JOIN clients c ON c.id = picks.client_id)
        INSERT INTO referrals (client_id, programme_id, agency_id, region_id, status, outcome, created_at,
                               delivered_at, decided_at, due_at, delivery_failed, version)
        SELECT src.client_id, progs.ids[(1 + src.i % 2)::int], progs.agencies[(1 + src.i % 2)::int],
               c.region_id, src.status,
               CASE WHEN src.status = 'completed' THEN
                    (CASE WHEN src.i % 3 = 0 THEN 'unsuccessful' ELSE 'successful' END) END,
               c.created_at + interval '2 hours',
               c.created_at + interval '3 hours',
               CASE WHEN src.status IN ('accepted','declined','completed')
                    THEN c.created_at + make_interval(hours => (2 + (src.i % 40) * 12)::int) END,
               c.created_at + interval '14 days', false, 1
        FROM src JOIN clients c ON c.id = src.client_id
        JOIN regions r ON r.id = c.region_id JOIN progs ON progs.country = r.country""")
    )


def _time(fn: Any, runs: int) -> tuple[float, float, float, float]:
    fn()  # warm-up: connection pool, plans, caches
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    p95 = sorted(samples)[max(0, -(-len(samples) * 95 // 100) - 1)]  # nearest rank
    return statistics.median(samples), p95, min(samples), max(samples)


def measure(app: Any, runs: int) -> list[tuple[str, float, float, float, float]]:
    from flask_login import login_user
    from sqlalchemy import select

    from srs.accounts.models import User
    from srs.extensions import db
    from srs.reports import services

    results = []
    for username in ("supervisor.id", "admin"):
        with app.test_request_context():
            login_user(db.session.scalar(select(User).where(User.username == username)))
            filters = services.parse_filters({})
            results.append(
                (
                    f"service dashboard ({username}, last 12 months)",
                    *_time(lambda f=filters: services.dashboard(f), runs),
                )
            )
            for label, args in _VARIANTS[username]:
                variant = services.parse_filters(args)
                results.append(
                    (
                        f"service dashboard ({username}, {label})",
                        *_time(lambda f=variant: services.dashboard(f), runs),
                    )
                )
            db.session.rollback()
        client = app.test_client()
        response = client.post("/login", data={"username": username, "password": PASSWORD})
        assert response.status_code == 302, response.status_code

        def page(client: Any = client) -> None:
            assert client.get("/reports/").status_code == 200

        results.append((f"GET /reports/ HTML ({username})", *_time(page, runs)))

        def api(client: Any = client) -> None:
            assert client.get("/reports/list/overdue_referrals").status_code == 200

        results.append((f"GET /reports/list/overdue_referrals ({username})", *_time(api, runs)))
    return results


def _month_ago(months: int, day: int) -> str:
    from datetime import date

    today = date.today()
    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    return date(year, month + 1, day).isoformat()


# Other periods and filters timed besides the default (the last twelve months from the 1st).
_VARIANTS: dict[str, list[tuple[str, dict[str, str]]]] = {
    "supervisor.id": [("region 35.16", {"region": "35.16"})],
    "admin": [
        ("from the 15th, 12 months", {"from": _month_ago(12, 15)}),
        ("a closed period, 10th to 20th", {"from": _month_ago(14, 10), "to": _month_ago(3, 20)}),
        ("women", {"sex": "female"}),
        ("one programme", {"programme": "ID-BPJSTK-BPU"}),
        ("age 25-34 (read from the facts)", {"age_group": "25-34"}),
    ],
}


def check(app: Any) -> None:
    """The summaries' figures against a read of every fact row, for every timed filter set."""
    from dataclasses import asdict

    from flask_login import login_user
    from sqlalchemy import select

    from srs.accounts.models import User
    from srs.extensions import db
    from srs.reports import services
    from srs.reports.referral_figures import referral_figures

    for username in ("supervisor.id", "admin"):
        with app.test_request_context():
            login_user(db.session.scalar(select(User).where(User.username == username)))
            for label, args in [("last 12 months", {}), *_VARIANTS[username]]:
                filters = services.parse_filters(args)
                fast, slow = referral_figures(filters), referral_figures(filters, from_summaries=False)
                verdict = (
                    "same" if asdict(fast) == asdict(slow) else f"DIFFERENT: {asdict(fast)} {asdict(slow)}"
                )
                print(
                    f"{username}, {label}: {fast.total:,} referrals, {fast.referred_clients:,} clients, "
                    f"median {fast.median_days} days: {verdict}"
                )


def write_cost(app: Any, runs: int) -> list[tuple[str, float, float, float, float]]:
    """What keeping the facts and summaries costs one change: a client's refresh (rolled back)."""
    from sqlalchemy import func, select

    from srs.extensions import db
    from srs.referrals.models import Referral
    from srs.reports import facts

    with app.app_context():
        busiest = db.session.execute(
            select(Referral.client_id).group_by(Referral.client_id).order_by(func.count().desc()).limit(1)
        ).scalar_one()

        def refresh() -> None:
            facts.refresh_clients([busiest])
            db.session.rollback()

        return [("refresh one client's facts and summaries (write cost)", *_time(refresh, runs))]


def breakdown(
    app: Any, username: str = "supervisor.id", args: dict[str, str] | None = None
) -> list[tuple[float, str]]:
    """Each SQL statement of one dashboard (after a warm-up), slowest first."""
    from flask_login import login_user
    from sqlalchemy import event, select

    from srs.accounts.models import User
    from srs.extensions import db
    from srs.reports import services

    timings: list[tuple[float, str]] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info["bench_t0"] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        timings.append(((time.perf_counter() - conn.info["bench_t0"]) * 1000, " ".join(statement.split())))

    with app.test_request_context():
        login_user(db.session.scalar(select(User).where(User.username == username)))
        filters = services.parse_filters(args or {})
        services.dashboard(filters)
        event.listen(db.engine, "before_cursor_execute", before)
        event.listen(db.engine, "after_cursor_execute", after)
        try:
            services.dashboard(filters)
        finally:
            event.remove(db.engine, "before_cursor_execute", before)
            event.remove(db.engine, "after_cursor_execute", after)
        db.session.rollback()
    return sorted(timings, reverse=True)


def main() -> None:
    global CLIENTS, REFERRALS  # the generator's SQL reads them (--clients, --referrals)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true", help="generate the data again")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--breakdown", action="store_true", help="time each SQL statement of one dashboard")
    parser.add_argument("--user", default="supervisor.id", help="whose dashboard --breakdown times")
    parser.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a dashboard filter for --breakdown",
    )
    parser.add_argument("--check", action="store_true", help="compare the summaries with the facts")
    parser.add_argument("--clients", type=int, default=CLIENTS, help="clients to generate")
    parser.add_argument("--referrals", type=int, default=REFERRALS, help="referrals to generate")
    args = parser.parse_args()
    CLIENTS, REFERRALS = args.clients, args.referrals
    url = os.environ.get("SRS_BENCH_DATABASE_URL", "postgresql+psycopg://root@127.0.0.1:5432/srs_reports")
    redis_url = os.environ.get("SRS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
    if not url.startswith("postgresql"):
        sys.exit("This benchmark needs PostgreSQL (SRS_BENCH_DATABASE_URL).")
    app = make_app(url, redis_url)
    build(app, args.rebuild)
    with app.app_context():
        from srs.extensions import db

        counts = {
            t: db.session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("clients", "screenings", "referrals")
        }
    print(", ".join(f"{k}: {v:,}" for k, v in counts.items()))
    if args.breakdown:
        chosen = dict(item.split("=", 1) for item in args.filter)
        for ms, statement in breakdown(app, args.user, chosen):
            print(f"{ms:8.0f}ms  {statement[:150]}")
        return
    if args.check:
        check(app)
        return

    def load() -> str:
        return (
            " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"
        )

    print(f"load average before: {load()}", flush=True)
    rows = [*measure(app, args.runs), *write_cost(app, args.runs)]
    print(f"load average after: {load()}")
    print(f"{'measure':<62} {'median':>9} {'p95':>9} {'min':>9} {'max':>9}")
    for name, median, p95, low, high in rows:
        print(f"{name:<62} {median:8.0f}ms {p95:8.0f}ms {low:8.0f}ms {high:8.0f}ms")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()

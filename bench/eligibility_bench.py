"""Eligibility benchmark: one client against 30 programmes in-process, and a policy simulation of one
programme over a large registry in SQL side by side with the Python evaluator, client by client.

    SRS_BENCH_DATABASE_URL=postgresql+psycopg://root@127.0.0.1:5432/srs_programmes \
    SRS_BENCH_REDIS_URL=redis://127.0.0.1:6379/4 \
    .venv/bin/python -m bench.eligibility_bench --clients 1000000

The database named is EMPTIED (tables dropped and created): point it at a scratch database.
Clients are generated with INSERT ... SELECT generate_series (PostgreSQL only for the large part).
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import func, select, text


def _app():
    url = os.environ.get("SRS_BENCH_DATABASE_URL")
    if not url:
        sys.exit("Set SRS_BENCH_DATABASE_URL to a scratch PostgreSQL database (it is emptied).")
    os.environ["SRS_TEST_DATABASE_URL"] = url
    os.environ["SRS_TEST_REDIS_URL"] = os.environ.get("SRS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
    from srs import create_app
    from srs.config import TestConfig

    return create_app(TestConfig(Path(tempfile.mkdtemp(prefix="srs-bench-"))))


def _setup() -> None:
    from srs.accounts.seed import seed_users
    from srs.agencies.seed import seed_agencies
    from srs.extensions import db
    from srs.programmes.seed import seed_catalogue
    from srs.regions.seed import seed_regions

    db.drop_all()
    db.create_all()
    seed_regions()
    db.session.flush()
    seed_agencies()
    seed_users("bench-password-123")
    seed_catalogue("x")
    db.session.commit()


def _thirty_programmes() -> None:
    """Bring Indonesia to 30 active programmes: variants of the seeded rules with other figures."""
    from srs.extensions import db
    from srs.programmes.models import Programme, RuleVersion

    seeded = list(
        db.session.scalars(select(Programme).where(Programme.country == "ID").order_by(Programme.code))
    )
    n = len(seeded)
    for i in range(30 - n):
        base = seeded[i % n]
        criteria = copy.deepcopy(base.current_version.criteria)
        criteria = {
            "all": [criteria, {"field": "monthly_income", "op": "<=", "value": 1_000_000 + 250_000 * i}]
        }
        programme = Programme(
            code=f"ID-BENCH-{i:02d}",
            agency=base.agency,
            country="ID",
            kind=base.kind,
            names={"en": f"Bench programme {i}"},
        )
        db.session.add(programme)
        db.session.flush()
        version = RuleVersion(programme_id=programme.id, number=1, criteria=criteria, status="published")
        db.session.add(version)
        db.session.flush()
        programme.current_version_id = version.id
    db.session.commit()


def bench_single_client(app, runs: int = 200) -> dict[str, float]:
    """Median milliseconds: evaluating 30 prepared rules, and a whole screening (load, evaluate, write)."""
    from srs.extensions import db
    from srs.programmes import services
    from srs.programmes.fields import facts_for
    from srs.programmes.screening import prepare, screen
    from srs.regions.models import Region
    from srs.registry.models import Client, Household, HouseholdMember

    with app.test_request_context():
        _thirty_programmes()
        region = db.session.scalar(select(Region).where(Region.code == "35.16.08.2003"))
        household = Household(region_id=region.id)
        db.session.add(household)
        db.session.flush()
        client = Client(
            full_name="Sri Wahyuni",
            name_key="sri wahyuni",
            sex="female",
            date_of_birth=date(1990, 4, 2),
            region_id=region.id,
            work_status="informal",
            occupation="street vendor",
            monthly_income=2_600_000,
            household_size=4,
            in_education=False,
            poverty_status="near_poor",
            welfare_decile=5,
            enrolments=[],
            household_id=household.id,
        )
        db.session.add(client)
        for born in (date(1988, 1, 1), date(2021, 6, 1), date(2014, 9, 9)):
            db.session.add(HouseholdMember(household_id=household.id, full_name="member", date_of_birth=born))
        db.session.commit()
        client_id = client.id

        programmes = services.active_programmes("ID", date.today())
        assert len(programmes) == 30, len(programmes)
        prepared = prepare(programmes)
        evaluate, whole = [], []
        for _ in range(runs):
            db.session.expire_all()
            c = db.session.get(Client, client_id)
            start = time.perf_counter()
            facts = facts_for(c, date.today())
            outcomes = [p.rule.evaluate(facts).outcome for p in prepared]
            evaluate.append((time.perf_counter() - start) * 1000)
        assert len(outcomes) == 30
        for _ in range(runs // 4):
            db.session.expire_all()
            start = time.perf_counter()
            c = db.session.get(Client, client_id)
            screening = screen(c, None, trigger="bench")
            whole.append((time.perf_counter() - start) * 1000)
            assert len(screening.results) == 30
            db.session.rollback()
        return {"evaluate_ms": statistics.median(evaluate), "screen_ms": statistics.median(whole)}


GENERATE = text(
    """
    INSERT INTO clients (id_type, full_name, name_key, sex, date_of_birth, region_id, work_status,
        occupation, monthly_income, household_size, in_education, poverty_status, welfare_decile,
        enrolments, consent_given, needs_id_followup, needs_review, created_at, updated_at, version, extra)
    SELECT 'none', 'Bench client ' || g, 'bench client ' || g,
        CASE WHEN g % 2 = 0 THEN 'female' ELSE 'male' END,
        DATE '1940-01-01' + CAST((g * 7919) % 30000 AS integer),
        (CAST(:region_ids AS integer[]))[CAST(1 + g % :region_count AS integer)],
        (ARRAY['informal','self_employed','msme_worker','unemployed','formal'])[CAST(1 + g % 5 AS integer)],
        'street vendor',
        CASE WHEN g % 10 = 0 THEN NULL ELSE (g * 104729) % 6000000 END,
        CAST(1 + g % 7 AS integer),
        CASE WHEN g % 13 = 0 THEN NULL ELSE (g % 9 = 0) END,
        (ARRAY['poor','near_poor','not_poor','unknown'])[CAST(1 + g % 4 AS integer)],
        CASE WHEN g % 6 = 0 THEN NULL ELSE CAST(1 + g % 10 AS integer) END,
        CAST('[]' AS json), true, false, false, now(), now(), 1, CAST('{}' AS json)
    FROM generate_series(CAST(1 AS bigint), :n) AS g
    """
)


def bench_simulation(app, n: int, python_limit: int | None) -> dict[str, float]:
    """Seconds for simulate() in SQL over ``n`` clients, and for the same comparison in Python."""
    from srs.accounts.models import User
    from srs.extensions import db
    from srs.programmes.fields import facts_for
    from srs.programmes.models import Programme
    from srs.programmes.rules import PreparedRule
    from srs.programmes.simulation import simulate
    from srs.programmes.versions import save_draft
    from srs.regions.models import Region
    from srs.registry.models import Client

    with app.test_request_context():
        if db.engine.dialect.name != "postgresql":
            sys.exit("The large simulation needs PostgreSQL (generate_series).")
        villages = list(
            db.session.scalars(select(Region.id).where(Region.country == "ID", Region.level == "village"))
        )
        start = time.perf_counter()
        db.session.execute(GENERATE, {"region_ids": villages, "region_count": len(villages), "n": n})
        db.session.commit()
        db.session.execute(text("ANALYZE clients"))
        db.session.commit()
        generated = time.perf_counter() - start
        total = db.session.scalar(select(func.count()).select_from(Client))

        programme = db.session.scalar(select(Programme).where(Programme.code == "ID-PRAKERJA"))
        current = programme.current_version
        new_criteria = copy.deepcopy(current.criteria)
        new_criteria["all"][0]["value"] = [18, 70]
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        draft = save_draft(programme, new_criteria, admin, "bench: age limit 70")
        db.session.commit()

        start = time.perf_counter()
        result = simulate(draft, admin)
        sql_seconds = time.perf_counter() - start

        # The same question answered in Python, client by client, with the same evaluator the
        # screening uses (loading each client through the ORM, as a Python loop would have to).
        old_rule, new_rule = (
            PreparedRule(current.criteria, programme.code),
            PreparedRule(draft.criteria, programme.code),
        )
        today = date.today()
        became = stopped = seen = 0
        stmt = select(Client).order_by(Client.id).execution_options(yield_per=5000)
        if python_limit:
            stmt = stmt.limit(python_limit)
        start = time.perf_counter()
        for client in db.session.scalars(stmt):
            facts = facts_for(client, today)
            before, after = old_rule.truth(facts) is True, new_rule.truth(facts) is True
            became += after and not before
            stopped += before and not after
            seen += 1
        python_seconds = time.perf_counter() - start
        db.session.rollback()
        python_full = python_seconds * total / seen
        if not python_limit:
            assert (became, stopped) == (result["totals"]["became"], result["totals"]["stopped"]), (
                became,
                stopped,
                result["totals"],
            )
        return {
            "clients": total,
            "generate_s": generated,
            "sql_s": sql_seconds,
            "python_s": python_seconds,
            "python_clients": seen,
            "python_full_s": python_full,
            "ratio": python_full / sql_seconds,
            "became": result["totals"]["became"],
            "stopped": result["totals"]["stopped"],
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument(
        "--python-limit",
        type=int,
        default=0,
        help="evaluate only this many clients in Python and scale the time (0: all of them)",
    )
    args = parser.parse_args()
    app = _app()
    with app.app_context():
        _setup()
    single = bench_single_client(app)
    print(
        f"One client, 30 programmes: evaluate {single['evaluate_ms']:.2f} ms (median), "
        f"whole screening with writes {single['screen_ms']:.2f} ms (median)"
    )
    sim = bench_simulation(app, args.clients, args.python_limit or None)
    print(f"Generated {sim['clients']:,} clients in {sim['generate_s']:.1f} s")
    print(f"Simulation in SQL: {sim['sql_s']:.2f} s (became {sim['became']:,}, stopped {sim['stopped']:,})")
    scaled = (
        "" if sim["python_clients"] == sim["clients"] else f" (scaled from {sim['python_clients']:,} clients)"
    )
    print(f"Same rules in Python, client by client: {sim['python_full_s']:.1f} s{scaled}")
    print(f"SQL is {sim['ratio']:.0f}x faster")


if __name__ == "__main__":
    main()

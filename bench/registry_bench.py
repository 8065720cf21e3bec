"""Registry benchmark: 1,000,000 clients in PostgreSQL, then ID lookup, name search, the search page
and a 100,000-row import.

    SRS_DATABASE_URL=postgresql+psycopg://root@127.0.0.1:5432/srs_registry \\
    SRS_REDIS_URL=redis://127.0.0.1:6379/3 .venv/bin/python -m bench.registry_bench [--clients N]

The database named in SRS_DATABASE_URL is emptied and rebuilt. Clients are generated inside
PostgreSQL with one INSERT ... SELECT over generate_series (names from Faker's id_ID and vi_VN
locales, valid NIKs and Vietnamese IDs matching birth date and sex), not row by row.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from faker import Faker
from sqlalchemy import select, text

from bench.bulk import deferred_indexes
from srs import create_app
from srs.accounts.models import User
from srs.config import Config
from srs.core.transaction import commit
from srs.extensions import db
from srs.regions.models import Region
from srs.registry import duplicates, jobs, search, services
from srs.registry.idnumbers import make_nik
from srs.registry.importer import COLUMNS
from srs.registry.models import Client, ImportBatch
from srs.registry.normalise import fold_name
from srs.registry.seed import VN_GIVEN_FEMALE, VN_GIVEN_MALE, VN_MIDDLE_FEMALE, VN_MIDDLE_MALE

PASSWORD = "bench-password-2026"


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] if len(samples) >= 20 else max(samples)


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def name_pools(size: int = 400) -> dict[str, list[str]]:
    fake_id, fake_vn = Faker("id_ID"), Faker("vi_VN")
    fake_id.seed_instance(1)
    fake_vn.seed_instance(1)
    pools = {
        "id_first_f": sorted({fake_id.first_name_female() for _ in range(size * 3)})[:size],
        "id_first_m": sorted({fake_id.first_name_male() for _ in range(size * 3)})[:size],
        "id_last": sorted({fake_id.last_name() for _ in range(size * 3)})[:size],
        "vn_last": sorted({fake_vn.last_name() for _ in range(size)}),
        "vn_mid_f": VN_MIDDLE_FEMALE,
        "vn_mid_m": VN_MIDDLE_MALE,
        "vn_first": VN_GIVEN_FEMALE + VN_GIVEN_MALE,
    }
    return pools


GENERATE_SQL = """
WITH params AS (
  SELECT CAST(:id_first_f AS text[]) AS iff, CAST(:id_first_m AS text[]) AS ifm,
         CAST(:id_last AS text[]) AS il,
         CAST(:vn_last AS text[]) AS vl, CAST(:vn_mid_f AS text[]) AS vmf, CAST(:vn_mid_m AS text[]) AS vmm,
         CAST(:vn_first AS text[]) AS vf, CAST(:id_regions AS int[]) AS idr, CAST(:vn_regions AS int[]) AS vnr
), rows AS (
  SELECT k,
         (k % 5 = 0) AS vn,
         CASE WHEN k % 2 = 0 THEN 'female' ELSE 'male' END AS sex,
         DATE '1950-01-01' + CAST((k * 7919) % 20000 AS integer) AS dob,
         k / 20000 + 1 AS serial
  FROM generate_series(CAST(1 AS bigint), CAST(:n AS bigint)) AS k
), named AS (
  SELECT r.*,
    CASE WHEN vn THEN
      p.vl[1 + (k / 10 * 31) % array_length(p.vl, 1)] || ' ' ||
      CASE WHEN sex = 'female' THEN p.vmf[1 + (k / 10 * 7) % array_length(p.vmf, 1)]
           ELSE p.vmm[1 + (k / 10 * 7) % array_length(p.vmm, 1)] END || ' ' ||
      p.vf[1 + (k / 10 * 13) % array_length(p.vf, 1)]
    ELSE
      CASE WHEN sex = 'female' THEN p.iff[1 + (k * 13) % array_length(p.iff, 1)]
           ELSE p.ifm[1 + (k * 13) % array_length(p.ifm, 1)] END || ' ' ||
      p.il[1 + (k * 31) % array_length(p.il, 1)]
    END AS full_name,
    CASE WHEN vn THEN p.vnr[1 + k % array_length(p.vnr, 1)] ELSE p.idr[1 + k % array_length(p.idr, 1)] END
      AS region_id
  FROM rows r CROSS JOIN params p
)
INSERT INTO clients (id_type, id_number, full_name, name_key, sex, date_of_birth, phone, region_id,
  occupation, work_status, monthly_income, household_size, poverty_status, welfare_decile, enrolments,
  consent_given,
  consent_date, consent_scope, needs_id_followup, needs_review, created_at, updated_at, version, extra)
SELECT
  CASE WHEN vn THEN 'vn_pid' ELSE 'nik' END,
  CASE WHEN vn THEN
    lpad((1 + k / 5000000)::text, 3, '0')
    || ((extract(year FROM dob)::int / 100 - 19) * 2 + (CASE WHEN sex = 'female' THEN 1 ELSE 0 END))
    || to_char(dob, 'YY') || lpad((k / 5 % 1000000)::text, 6, '0')
  ELSE
    '351608' || lpad((extract(day FROM dob)::int + CASE WHEN sex = 'female' THEN 40 ELSE 0 END)::text, 2, '0')
    || to_char(dob, 'MMYY') || lpad(serial::text, 4, '0')
  END,
  full_name,
  lower(translate(full_name, :accented, :plain)),
  sex, dob,
  CASE WHEN vn THEN '+8490' || lpad(k::text, 7, '0') ELSE '+62812' || lpad(k::text, 8, '0') END,
  region_id, 'Pedagang', 'informal', 1000000 + (k % 40) * 100000, 1 + k % 6,
  CASE WHEN NOT CAST(:deciles AS boolean) THEN 'unknown'
       WHEN abs(hashtext(k::text)) % 10 < 3 THEN 'poor' ELSE 'non_poor' END,
  CASE WHEN CAST(:deciles AS boolean) THEN 1 + abs(hashtext(k::text)) % 10 END, '[]', true,
  DATE '2026-01-01', 'Screening and referral', false, false, now(), now(), 1, '{}'
FROM named
"""

# Vietnamese IDs: the last six digits count k / 5 and the three province digits take the overflow
# (001 below 5,000,000 rows, as before; 002 above), so the IDs stay unique at 10,000,000 clients.
# Enough of Vietnamese and Indonesian letters for translate(); fold_name() is the reference.
_ACCENTED = "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ"
_ACCENTED += _ACCENTED.upper()
_PLAIN = "".join(fold_name(ch) or " " for ch in _ACCENTED)


def generate(n: int, deciles: bool = False) -> float:
    """Rebuild the schema and insert ``n`` clients inside PostgreSQL; returns seconds.

    With ``deciles`` every client also gets a welfare decile (1..10, hashed from the row number) and
    a poverty status to match (the DCI benchmark's predicates select on them), in the same INSERT:
    an UPDATE of every row afterwards would write the table twice (minutes at 10,000,000 clients).
    """
    from srs.accounts.seed import seed_users
    from srs.agencies.seed import seed_agencies
    from srs.regions.seed import seed_regions

    db.drop_all()
    db.create_all()
    seed_regions()
    db.session.flush()
    seed_agencies()
    seed_users(PASSWORD)
    commit()
    leaves = [r for r in db.session.scalars(select(Region)) if not r.children]
    pools = name_pools()
    start = time.perf_counter()
    # Filled in one statement below, then indexed once: a million trigger calls and index updates
    # would measure the generator, not the registry.
    db.session.execute(text("DROP INDEX ix_client_names_name_key_trgm"))
    db.session.execute(text("ALTER TABLE clients DISABLE TRIGGER trg_clients_sync_names"))
    with deferred_indexes(db.session, ["clients"]):
        db.session.execute(
            text(GENERATE_SQL),
            {
                **pools,
                "id_regions": [r.id for r in leaves if r.country == "ID"],
                "vn_regions": [r.id for r in leaves if r.country == "VN"],
                "n": n,
                "deciles": deciles,
                "accented": _ACCENTED,
                "plain": _PLAIN,
            },
        )
    db.session.execute(
        text(
            "INSERT INTO client_names (client_id, region_id, name_key) "
            "SELECT id, region_id, name_key FROM clients WHERE merged_into_id IS NULL"
        )
    )
    db.session.execute(text("ALTER TABLE clients ENABLE TRIGGER trg_clients_sync_names"))
    db.session.execute(
        text("CREATE INDEX ix_client_names_name_key_trgm ON client_names USING gin (name_key gin_trgm_ops)")
    )
    commit()
    db.session.execute(text("ANALYZE clients"))
    db.session.execute(text("ANALYZE client_names"))
    commit()
    return time.perf_counter() - start


def import_file(rows: int) -> bytes:
    """A survey file of ``rows`` valid new people (NIK region digits no generated client uses)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    fake = Faker("id_ID")
    fake.seed_instance(7)
    firsts = [fake.first_name_female() for _ in range(300)]
    lasts = [fake.last_name() for _ in range(300)]
    for i in range(rows):
        birth = date(1950, 1, 1) + timedelta(days=(i * 7919) % 20000)
        serial = i // 20000 + 1
        writer.writerow(
            {
                **{c: "" for c in COLUMNS},
                "id_type": "nik",
                "id_number": make_nik("351612", birth, "female", serial),
                "full_name": f"{firsts[i % 300]} {lasts[(i * 7) % 300]}",
                "sex": "female",
                "date_of_birth": birth.isoformat(),
                "phone": f"0813{i:08d}",
                "region_code": "35.16.12.2007",
                "monthly_income": "1500000",
                "consent_given": "yes",
                "consent_date": "2026-01-10",
                "consent_scope": "Survey",
            }
        )
    return out.getvalue().encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--warmup", type=int, default=30, help="name searches run before measuring")
    parser.add_argument("--skip-generate", action="store_true", help="reuse the clients already there")
    args = parser.parse_args()
    if not os.environ.get("SRS_DATABASE_URL", "").startswith("postgresql"):
        sys.exit("Set SRS_DATABASE_URL to a PostgreSQL database (it is emptied).")
    config = Config()
    config.RATELIMIT_ENABLED = False
    config.WTF_CSRF_ENABLED = False
    app = create_app(config)
    rng = random.Random(3)
    with app.test_request_context():
        if not args.skip_generate:
            seconds = generate(args.clients)
            print(f"generated {args.clients:,} clients in {seconds:.1f} s")
        total = db.session.scalar(text("SELECT count(*) FROM clients"))
        officer = db.session.scalar(select(User).where(User.username == "officer.id1"))
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        sample = db.session.execute(
            select(Client.id_number, Client.full_name)
            .where(Client.id_type == "nik")
            .order_by(Client.id)
            .limit(200)
        ).all()
        ids = [row[0] for row in sample]
        names = [row[1] for row in sample]

        def typo(name: str) -> str:
            i = rng.randrange(1, len(name) - 1)
            return fold_name(name[:i] + name[i + 1 :])  # one letter dropped, no diacritics

        # Warm the caches the way a working day would (the first searches after a restart are slower).
        timed(lambda: search.search_clients(typo(rng.choice(names)), officer), args.warmup)
        id_ms = timed(lambda: search.search_clients(rng.choice(ids), officer), 200)
        direct_ms = timed(lambda: duplicates._id_taken("nik", rng.choice(ids)), 200)
        name_ms = timed(lambda: search.search_clients(typo(rng.choice(names)), officer), 100)
        name_admin_ms = timed(lambda: search.search_clients(typo(rng.choice(names)), admin), 100)
        matches = search.search_clients(typo(names[0]), officer).total
    http = app.test_client()
    http.post("/login", data={"username": "officer.id1", "password": PASSWORD})
    page_ms = timed(lambda: http.get("/clients/", query_string={"q": typo(rng.choice(names))}), 50)
    import_s, imported, skipped = 0.0, 0, 0
    with app.test_request_context():
        content = import_file(args.import_rows) if args.import_rows else b""
        officer = db.session.scalar(select(User).where(User.username == "officer.id1"))
        if args.import_rows:
            batch = services.start_import("bench.csv", content, args.import_rows, officer)
            commit()
            start = time.perf_counter()
            jobs.import_clients(batch.id)
            import_s = time.perf_counter() - start
            batch = db.session.get(ImportBatch, batch.id)
            imported, skipped = batch.imported, len(batch.errors)
    median = statistics.median
    print(f"clients in the table: {total:,}")
    print(f"ID lookup (search_clients, officer scope) p95 {p95(id_ms):.1f} ms, median {median(id_ms):.1f}")
    print(f"ID lookup (unique index only) p95 {p95(direct_ms):.2f} ms")
    print(f"name search with a typo (officer scope) p95 {p95(name_ms):.1f} ms, median {median(name_ms):.1f}")
    print(f"name search with a typo (admin, all) p95 {p95(name_admin_ms):.1f} ms; sample hit count {matches}")
    print(
        f"search page over HTTP (Flask test client) p95 {p95(page_ms):.1f} ms, median {median(page_ms):.1f}"
    )
    print(f"import of {args.import_rows:,} rows: {import_s:.1f} s ({imported:,} imported, {skipped} skipped)")


if __name__ == "__main__":
    main()

"""DCI benchmark: sync search by identifier and by predicate over 1,000,000 clients, at the service layer.

    SRS_DATABASE_URL=postgresql+psycopg://root@127.0.0.1:5432/srs_dcibench \\
    SRS_REDIS_URL=redis://127.0.0.1:6379/3 .venv/bin/python -m bench.dci_bench [--clients N] [--skip-generate]

The database named in SRS_DATABASE_URL is emptied and rebuilt with bench.registry_bench's generator
(valid NIKs and Vietnamese IDs, 80 % Indonesia / 20 % Viet Nam); every client is then given a welfare
decile (1..10) and a poverty status so predicates have something to select. Each measured call is
``srs.dci.services.search_one`` (what /dci/registry/sync/search runs for one search request:
validation, compilation through the field catalogue, the count, the page, the records and the
audit entries), committed like a request. Targets (issue 13): by identifier < 50 ms p95, a
predicate over 1,000,000 clients < 1 s p95.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from typing import Any

from sqlalchemy import select, text

from bench.registry_bench import generate, p95, timed
from srs import create_app
from srs.config import Config
from srs.core import clock
from srs.core.transaction import commit
from srs.dci import partners
from srs.dci import services as svc
from srs.dci.models import DciPartner
from srs.dci.vocabulary import ATTRIBUTES, ID_TYPES, RECORD_FIELDS
from srs.extensions import db
from srs.registry.models import Client

PARTNER_PASSWORD = "bench-partner-2026"
# More records match than SRS_DCI_MAX_RECORDS (100,000): answered with this code after counting
# cap + 1 rows (at 10,000,000 clients the broad predicate and the expression are refused so).
TOO_MANY = "rjct.search.too_many_records_found"


def _item(query_type: str, query: Any, **criteria: Any) -> dict[str, Any]:
    return {
        "reference_id": "bench",
        "timestamp": clock.now().isoformat(),
        "search_criteria": {
            "reg_type": "ns:org:RegistryType:Social",
            "query_type": query_type,
            "query": query,
            **criteria,
        },
    }


def _leaf(name: str, op: str, value: str) -> dict[str, Any]:
    return {"expression1": {"attribute_name": name, "operator": op, "attribute_value": value}}


def _partner() -> DciPartner:
    existing = db.session.scalar(select(DciPartner).where(DciPartner.sender_id == "bench.partner"))
    if existing is not None:
        return existing
    partners.create_partner(
        partners.PartnerInput(
            username="partner.bench",
            name="Bench partner",
            sender_id="bench.partner",
            id_types=list(ID_TYPES),
            attributes=list(ATTRIBUTES),
            record_fields=list(RECORD_FIELDS),
            callback_bases=["https://partner.example/"],
            public_key=None,
            password=PARTNER_PASSWORD,
        )
    )
    commit()
    return db.session.scalar(select(DciPartner).where(DciPartner.sender_id == "bench.partner"))


def _search(partner: DciPartner, item: dict[str, Any]) -> dict[str, Any]:
    answer = svc.search_one(partner, item, "txn-bench", set())
    commit()  # the audit entries, as a request would
    if answer["status"] != "succ" and answer.get("status_reason_code") != TOO_MANY:
        raise SystemExit(f"search refused: {answer}")
    return answer


def _matches(answer: dict[str, Any]) -> str:
    """The count a search gave, or why it gave none (over the DCI_MAX_RECORDS cap: refused)."""
    if answer["status"] == "succ":
        return f"{answer['pagination']['total_count']:,}"
    return "refused"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument("--skip-generate", action="store_true", help="reuse the clients already there")
    parser.add_argument("--repeat", type=int, default=100)
    args = parser.parse_args()
    if not os.environ.get("SRS_DATABASE_URL", "").startswith("postgresql"):
        sys.exit("Set SRS_DATABASE_URL to a PostgreSQL database (it is emptied).")
    config = Config()
    config.RATELIMIT_ENABLED = False
    app = create_app(config)
    rng = random.Random(13)
    with app.test_request_context():
        if not args.skip_generate:
            seconds = generate(args.clients, deciles=True)
            # As autovacuum would by morning: the visibility map lets the index answer alone.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE clients"))
            print(f"generated {args.clients:,} clients in {seconds:.1f} s")
        total = db.session.scalar(text("SELECT count(*) FROM clients"))
        partner = _partner()
        sample = db.session.execute(
            select(Client.id_type, Client.id_number).order_by(Client.id).limit(500)
        ).all()

        def by_id() -> None:
            id_type, number = rng.choice(sample)
            answer = _search(
                partner,
                _item("idtype-value", {"type": "NIK" if id_type == "nik" else "VN_PID", "value": number}),
            )
            assert answer["pagination"]["total_count"] == 1

        # Poor older women in one regency: a targeting query a social-protection partner would send.
        narrow = [
            _leaf("poverty_score", "le", "3"),
            _leaf("age", "ge", "60"),
            _leaf("gender", "eq", "female"),
            _leaf("location", "eq", "35.16"),
        ]
        # The poorest decile anywhere: tens of thousands of matches, counted, one page returned.
        broad = [_leaf("poverty_score", "le", "1"), _leaf("gender", "eq", "female")]
        expression = {
            "type": "ns:org:QueryType:expression",
            "value": {
                "expression": {
                    "collection": "Member",
                    "query": {"$and": [{"poverty_score": {"$lt": 3}}, {"location": {"$eq": "35.16"}}]},
                }
            },
        }

        timed(by_id, 20)  # warm the caches
        id_ms = timed(by_id, args.repeat * 2)
        figures = {}
        for name, query_type, query in (
            ("predicate, narrow", "predicate", narrow),
            ("predicate, broad", "predicate", broad),
            ("expression", "expression", expression),
        ):
            matched = _matches(_search(partner, _item(query_type, query)))
            samples = timed(lambda q=query, t=query_type: _search(partner, _item(t, q)), args.repeat)
            figures[name] = (matched, samples)

    print(f"clients: {total:,}")
    print(f"{'query':<22}{'matches':>10}{'median ms':>12}{'p95 ms':>10}{'max ms':>10}")
    for name, (matched, samples) in {"by NIK / VN ID": ("1", id_ms), **figures}.items():
        median = sorted(samples)[len(samples) // 2]
        print(f"{name:<22}{matched:>10}{median:>12.1f}{p95(samples):>10.1f}{max(samples):>10.1f}")


if __name__ == "__main__":
    main()

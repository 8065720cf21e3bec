"""A write does for the report facts what it can change and nothing more: a new client has no fact,
an edit of a column no fact reads moves nothing, a screening rebuilds the screening facts only and a
referral decision the referral facts and their summaries only. The facts kept that way must equal a
rebuild from the records after any mix of writes."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

from sqlalchemy import Column, event, select
from sqlalchemy.sql import visitors

from srs.core import clock
from srs.extensions import db
from srs.programmes.models import Screening, ScreeningResult
from srs.referrals.models import Referral
from srs.registry import merge as registry_merge
from srs.registry.models import Client
from srs.reports import facts
from srs.reports.models import ScreeningFact
from tests.cases.conftest import acting_as, make_client
from tests.factories import make_programme, make_referral, make_screening, region
from tests.reports.test_referral_facts import _fact_rows as referral_fact_rows
from tests.reports.test_referral_facts import summary_rows
from tests.reports.test_referral_summaries import VILLAGES

DAYS = timedelta(days=1)
REPORT_TABLES = ("report_screening_facts", "report_referral_facts", "report_referral_month")


@contextmanager
def report_statements() -> Iterator[list[str]]:
    """The SQL statements run meanwhile that read or write a report table."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        if any(name in statement for name in REPORT_TABLES):
            seen.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def _touched(statements: list[str]) -> set[str]:
    return {name for name in REPORT_TABLES if any(name in s for s in statements)}


def test_a_registration_and_an_edit_no_figure_reads_touch_no_report_table(app, demo):
    with acting_as(app):
        with report_statements() as seen:
            client = make_client(phone="081234567890")
            client.phone = "081200000000"
            client.address = "Jl. Merdeka 1"
            db.session.flush()
        assert seen == []
        # The control: an edit of a column the facts read does refresh them.
        with report_statements() as seen:
            client.sex = "male"
            db.session.flush()
        assert _touched(seen) == set(REPORT_TABLES)


def test_a_screening_rebuilds_the_screening_facts_and_a_decision_the_referral_facts(app, demo):
    with acting_as(app):
        p = make_programme("ID-BPJSTK-BPU", "BPJSTK")
        client = make_client()
        with report_statements() as seen:
            make_screening(client, {p: "eligible"})
        assert _touched(seen) == {"report_screening_facts"}
        with report_statements() as seen:
            referral = make_referral(client, p, "delivered")
        assert _touched(seen) == set(REPORT_TABLES)  # a new referral closes the screening's gap
        with report_statements() as seen:
            referral.status = "accepted"
            referral.decided_at = clock.now()
            db.session.flush()
        assert _touched(seen) == {"report_referral_facts", "report_referral_month"}
        with report_statements() as seen:
            referral.note = "Called the client"
            referral.version += 1
            db.session.flush()
        assert seen == []


def _columns_read(stmt, table) -> set[str]:
    found = set()
    for element in visitors.iterate(stmt, {"column_collections": False}):
        if isinstance(element, Column) and element.table is table:
            found.add(element.name)
    return found


def test_the_columns_listed_as_read_are_every_column_the_fact_selects_read(app, demo):
    screening_select = facts._facts_select([1])
    referral_select = facts._referral_facts_select([1], "sqlite")
    client_read = _columns_read(screening_select, Client.__table__) | _columns_read(
        referral_select, Client.__table__
    )
    # merged_into_id is handled on its own (a merge rebuilds both clients whole); id is the key.
    assert client_read - {"id", "merged_into_id"} <= facts.CLIENT_COLUMNS
    assert "sex" in client_read  # the walk does see the columns
    assert _columns_read(screening_select, Screening.__table__) - {"id"} <= facts.SCREENING_COLUMNS
    assert _columns_read(screening_select, ScreeningResult.__table__) <= facts.RESULT_COLUMNS
    assert _columns_read(screening_select, Referral.__table__) <= facts.REFERRAL_SCREENING_COLUMNS
    assert _columns_read(referral_select, Referral.__table__) - {"id"} <= facts.REFERRAL_COLUMNS


def _screening_fact_rows() -> list[tuple]:
    return sorted(
        tuple(getattr(f, c) for c in facts._COLUMNS) for f in db.session.scalars(select(ScreeningFact))
    )


def _random_writes(app, rng: random.Random, steps: int) -> None:
    """Registrations, edits, screenings, referrals and their decisions and merges, in a random order,
    one transaction each, as requests would make them."""
    with acting_as(app):
        programmes = [make_programme("ID-BPJSTK-BPU", "BPJSTK"), make_programme("ID-JKN-PBI", "BPJSKES")]
        programme_ids = [p.id for p in programmes]
    now = clock.now()
    for _ in range(steps):
        kind = rng.choice(("register", "register", "edit", "screen", "screen", "refer", "decide", "merge"))
        with acting_as(app, "admin") as admin:
            programmes = [db.session.get(type(programmes[0]), i) for i in programme_ids]
            clients = list(db.session.scalars(select(Client).where(Client.merged_into_id.is_(None))))
            if kind == "register" or len(clients) < 3:
                make_client(
                    rng.choice(VILLAGES),
                    sex=rng.choice(("female", "male")),
                    date_of_birth=date(1950 + rng.randint(0, 60), rng.randint(1, 12), 1),
                )
                continue
            client = rng.choice(clients)
            if kind == "edit":
                column = rng.choice(("phone", "address", "sex", "region", "date_of_birth", "work_status"))
                if column == "phone":
                    client.phone = f"0812{rng.randint(10**7, 10**8 - 1)}"
                elif column == "address":
                    client.address = f"Jl. {rng.randint(1, 99)}"
                elif column == "sex":
                    client.sex = "male" if client.sex == "female" else "female"
                elif column == "region":
                    client.region_id = region(rng.choice(VILLAGES)).id
                elif column == "date_of_birth":
                    client.date_of_birth = date(1950 + rng.randint(0, 60), 6, 15)
                else:
                    client.work_status = rng.choice(("informal", "unemployed", "formal"))
            elif kind == "screen":
                outcomes = ("eligible", "not_eligible", "needs_information")
                make_screening(
                    client,
                    {p: rng.choice(outcomes) for p in programmes},
                    at=now - rng.uniform(0, 300) * DAYS,
                )
            elif kind == "refer":
                make_referral(
                    client, rng.choice(programmes), "pending", created_at=now - rng.uniform(0, 300) * DAYS
                )
            elif kind == "decide":
                referrals = list(db.session.scalars(select(Referral).where(Referral.status != "completed")))
                if referrals:
                    referral = rng.choice(referrals)
                    referral.status = rng.choice(
                        ("delivered", "accepted", "declined", "completed", "cancelled")
                    )
                    referral.decided_at = referral.created_at + rng.uniform(0, 20) * DAYS
                    referral.outcome = (
                        rng.choice(("successful", "unsuccessful")) if referral.status == "completed" else None
                    )
            else:
                keep, duplicate = rng.sample(clients, 2)
                registry_merge.merge_clients(keep, duplicate, admin)
            db.session.flush()


def test_the_facts_kept_by_writes_equal_a_rebuild_from_the_records_after_a_random_mix(app, demo):
    for seed in (11, 12):
        _random_writes(app, random.Random(seed), 80)
        with acting_as(app):
            kept_screening, kept_referral, kept_summaries = (
                _screening_fact_rows(),
                referral_fact_rows(),
                summary_rows(),
            )
            assert kept_screening and kept_referral
            facts.rebuild_all()
            facts.rebuild_referrals()
            assert _screening_fact_rows() == kept_screening
            assert referral_fact_rows() == kept_referral
            assert summary_rows() == kept_summaries
            db.session.rollback()

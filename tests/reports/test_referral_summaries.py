"""The dashboard reads whole months of a period from the monthly referral summaries and the partial
months at its edges from the facts. Over any period and filter that must give what a read of every
fact gives (which the other report tests tie to the records), and the summaries kept by increments
must equal a rebuild after any run of changes."""

from __future__ import annotations

import random
from dataclasses import asdict
from datetime import date, timedelta

from sqlalchemy import func, select

from srs.core import clock
from srs.core.clock import today as local_today
from srs.extensions import db
from srs.referrals.models import Referral
from srs.registry import merge as registry_merge
from srs.registry.models import Client
from srs.reports import facts, services
from srs.reports.models import ReferralMonth
from srs.reports.referral_figures import referral_figures, split_period
from tests.cases.conftest import acting_as, make_client
from tests.factories import make_programme, make_referral, region
from tests.reports.test_referral_facts import summary_rows

DAYS = timedelta(days=1)
VILLAGES = ("35.16.08.2003", "35.16.12.2007", "35.76.01.1007")
STATUSES = ("pending", "delivered", "accepted", "declined", "completed", "cancelled")


def _load(seed: int, clients: int = 24) -> list[int]:
    """Clients with one to five referrals each over the last twenty months, several in the same month
    (some across a month's first day), in two programmes and three villages; returns client ids."""
    rng = random.Random(seed)
    now = clock.now()
    p = make_programme("ID-BPJSTK-BPU", "BPJSTK")
    q = make_programme("ID-JKN-PBI", "BPJSKES")
    ids = []
    for _ in range(clients):
        client = make_client(rng.choice(VILLAGES), sex=rng.choice(("female", "male")))
        moment = now - rng.uniform(0, 600) * DAYS
        for _ in range(rng.randint(1, 5)):
            if moment > now:
                break
            status = rng.choice(STATUSES)
            decided = rng.uniform(0, 30) if status in ("accepted", "declined", "completed") else None
            outcome = rng.choice(("successful", "unsuccessful")) if status == "completed" else None
            referral = make_referral(
                client,
                rng.choice((p, q)),
                status,
                created_at=moment,
                decided_after_days=decided,
                outcome=outcome,
            )
            if rng.random() < 0.15:  # now and then a referral made in another village
                referral.region_id = region(rng.choice(VILLAGES)).id
            moment += rng.choice((0.2, 1, 3, 12, 40, 90)) * DAYS
        ids.append(client.id)
    db.session.flush()
    return ids


def _periods(today: date) -> list[dict[str, str]]:
    def month_start(back: int) -> date:
        year, month = divmod(today.year * 12 + today.month - 1 - back, 12)
        return date(year, month + 1, 1)

    periods = [
        {},  # the default: whole months up to today
        {"from": month_start(5).isoformat()},
        {"from": (month_start(7) + 9 * DAYS).isoformat()},  # starts inside a month
        {"from": (month_start(19) + 3 * DAYS).isoformat(), "to": (month_start(2) - DAYS).isoformat()},
        {"from": (month_start(12) + 14 * DAYS).isoformat(), "to": (month_start(4) + 20 * DAYS).isoformat()},
        {"from": (month_start(3) + 2 * DAYS).isoformat(), "to": (month_start(3) + 25 * DAYS).isoformat()},
        {"from": (month_start(9) + 27 * DAYS).isoformat(), "to": (month_start(8) + 2 * DAYS).isoformat()},
        {"from": month_start(20).isoformat(), "to": (month_start(1) - DAYS).isoformat()},
        {"from": (today - 45 * DAYS).isoformat(), "to": (today + 60 * DAYS).isoformat()},
    ]
    return periods


FILTERS = (
    {},
    {"programme": "ID-BPJSTK-BPU"},
    {"sex": "male"},
    {"region": "35.76"},
    {"region": "35.16.08", "programme": "ID-JKN-PBI", "sex": "female"},
)


def _assert_same_figures() -> int:
    """Every period and filter: the summaries' figures equal the facts'; returns how many periods
    used the summaries and started inside a month (the case the next-referral correction is for)."""
    started_inside = 0
    for period in _periods(local_today()):
        for chosen in FILTERS:
            args = {**period, **chosen}
            filters = services.parse_filters(args)
            fast, slow = referral_figures(filters), referral_figures(filters, from_summaries=False)
            assert asdict(fast) == asdict(slow), args
            split = split_period(filters, clock.now())
            started_inside += bool(split.months and split.start_month)
    return started_inside


def test_the_figures_from_the_summaries_equal_a_read_of_every_fact(app, demo):
    for seed in (1, 2, 3):
        with acting_as(app):
            _load(seed)
        with acting_as(app, "supervisor.id"):
            assert _assert_same_figures() > 0
            board = services.dashboard(services.parse_filters({}))
            assert board.referrals_total > 0
        with acting_as(app, "admin"):
            _assert_same_figures()


def test_the_summaries_kept_by_increments_equal_a_rebuild_after_a_run_of_changes(app, demo):
    with acting_as(app):
        ids = _load(7, clients=16)
    rng = random.Random(7)
    with acting_as(app, "admin") as admin:
        referral_ids = list(db.session.scalars(select(Referral.id)))
        for referral_id in rng.sample(referral_ids, 12):
            referral = db.session.get(Referral, referral_id)
            referral.status = rng.choice(STATUSES)
            referral.decided_at = referral.created_at + rng.uniform(0, 20) * DAYS
            db.session.flush()
        # A correction of a client's sex moves all their referrals to the other sex's rows.
        client = db.session.get(Client, ids[0])
        client.sex = "male" if client.sex == "female" else "female"
        db.session.flush()
        # A referral deleted, one moved to another client, two records of one person merged.
        db.session.delete(db.session.get(Referral, referral_ids[1]))
        db.session.get(Referral, referral_ids[2]).client_id = ids[3]
        db.session.flush()
        registry_merge.merge_clients(db.session.get(Client, ids[4]), db.session.get(Client, ids[5]), admin)
        db.session.flush()
    with acting_as(app):
        kept = summary_rows()
        assert kept["report_referral_months"]
        facts.rebuild_summaries()
        assert summary_rows() == kept
        db.session.rollback()
    with acting_as(app, "admin"):
        _assert_same_figures()


def test_a_status_change_moves_one_count_from_one_summary_row_to_another(app, demo):
    with acting_as(app):
        p = make_programme("ID-BPJSTK-BPU", "BPJSTK")
        referral_id = make_referral(make_client(), p, "delivered").id

    def counts() -> dict[str, int]:
        rows = db.session.execute(select(ReferralMonth.status, ReferralMonth.referrals)).all()
        return {status: n for status, n in rows if n}

    with acting_as(app):
        assert counts() == {"delivered": 1}
        db.session.get(Referral, referral_id).status = "accepted"
        db.session.flush()
        assert counts() == {"accepted": 1}


def test_a_period_ending_before_the_latest_referral_reads_its_last_partial_month_from_the_facts(app, demo):
    with acting_as(app, "supervisor.id"):
        today = local_today()
        filters = services.parse_filters(
            {"from": date(today.year - 1, 1, 10).isoformat(), "to": date(today.year - 1, 6, 20).isoformat()}
        )
        split = split_period(filters, clock.now())
        assert [m % 100 for m in split.months] == [2, 3, 4, 5]
        assert split.start_month is not None and split.start_month % 100 == 1
        assert [(a.date(), b.date()) for a, b in split.ranges][0][1] <= date(today.year - 1, 2, 1)
        assert len(split.ranges) == 2
        # The same period with nothing after it yet: June counts whole.
        open_ended = split_period(filters, None)
        assert [m % 100 for m in open_ended.months] == [2, 3, 4, 5, 6]
        assert len(open_ended.ranges) == 1


def test_overdue_referrals_from_the_facts_match_their_list_under_every_filter(app, demo):
    now = clock.now()
    with acting_as(app):
        p = make_programme("ID-BPJSTK-BPU", "BPJSTK")
        make_programme("ID-JKN-PBI", "BPJSKES")
        young = make_client(
            sex="male", date_of_birth=date(2000, 1, 1), work_status="self_employed", disability=True
        )
        older = make_client("35.76.01.1007", sex="female", date_of_birth=date(1965, 1, 1))
        make_referral(young, p, "delivered", created_at=now - 30 * DAYS, due_at=now - DAYS)
        make_referral(older, p, "accepted", created_at=now - 30 * DAYS, due_at=now - 2 * DAYS)
        make_referral(older, p, "pending", created_at=now - 3 * DAYS, due_at=now + DAYS)  # not yet due
        make_referral(young, p, "declined", created_at=now - 30 * DAYS, due_at=now - DAYS)  # closed
    expected = {
        (): 2,
        (("sex", "male"),): 1,
        (("work_status", "self_employed"),): 1,
        (("disability", "no"),): 1,
        (("age_group", "55-64"),): 1,
        (("age_group", "15-24"),): 0,
        (("region", "35.76"),): 1,
        (("programme", "ID-JKN-PBI"),): 0,
    }
    with acting_as(app, "supervisor.id"):
        for chosen, count in expected.items():
            filters = services.parse_filters(dict(chosen))
            board = services.dashboard(filters)
            listed = services.listing("overdue_referrals", filters)
            rows = db.session.scalar(
                select(func.count()).select_from(listed.statement.order_by(None).subquery())
            )
            assert board.overdue_referrals == rows == count, chosen

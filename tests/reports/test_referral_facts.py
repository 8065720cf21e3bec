"""The dashboard's referral figures come from report_referral_facts: they must stay equal to the records
(the drill-down lists and the median read from the referrals themselves) through every change officers,
agencies and the registry make."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta

from sqlalchemy import delete, func, select

from srs.core import clock
from srs.extensions import db
from srs.programmes.models import Programme
from srs.referrals import services as referrals
from srs.referrals.models import Referral
from srs.registry import merge as registry_merge
from srs.registry.models import Client
from srs.reports import facts, services
from srs.reports.models import ReferralFact
from srs.reports.referral_figures import referral_figures
from tests.cases.conftest import acting_as, make_client
from tests.factories import make_programme, make_referral, region

DAYS = timedelta(days=1)
HOURS = timedelta(hours=1)


def _listed(kind: str, filters: services.Filters) -> int:
    stmt = services.listing(kind, filters).statement
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))


def _figures(app, username="supervisor.id", **args):
    """(clients referred, referrals, successful, median days) of the dashboard, each checked against
    its list (the median against the records' own sort), and the facts against a fresh rebuild."""
    with acting_as(app, username):
        filters = services.parse_filters(args)
        board = services.dashboard(filters)
        for kind, value in (
            ("referred", board.referred_clients),
            ("referrals", board.referrals_total),
            ("successful", board.successful),
            ("completed", board.completed),
            ("overdue_referrals", board.overdue_referrals),
        ):
            assert value == _listed(kind, filters), (kind, args, value)
        assert board.median_days == services.median_days_to_decision(filters), args
        assert sum(board.trend_referrals.values()) == board.referrals_total
        # Whole months come from the monthly summaries: the same as reading every fact.
        assert asdict(referral_figures(filters)) == asdict(referral_figures(filters, from_summaries=False))
        figures = (board.referred_clients, board.referrals_total, board.successful, board.median_days)
    _assert_facts_match_a_rebuild(app)
    return figures


def _fact_rows() -> list[tuple]:
    return sorted(
        (
            f.referral_id,
            f.client_id,
            f.region_id,
            f.programme_id,
            f.status,
            f.successful,
            f.decision_seconds,
            f.prev_at,
            f.prev_programme_at,
            f.next_at,
            f.next_programme_at,
            f.multi_region,
            f.sex,
            f.birth_year,
            f.work_status,
            f.disability,
        )
        for f in db.session.scalars(select(ReferralFact))
    )


def summary_rows() -> dict[str, list[tuple]]:
    """Every monthly summary row that counts something (kept increments may leave zeros behind)."""
    out = {}
    for table in facts.SUMMARY_TABLES:
        columns = list(table.__table__.columns)
        rows = db.session.execute(select(*columns)).all()
        out[table.__tablename__] = sorted(tuple(r) for r in rows if r.referrals != 0)
    return out


def _assert_facts_match_a_rebuild(app) -> None:
    with acting_as(app):
        kept, kept_summaries = _fact_rows(), summary_rows()
        assert facts.rebuild_referrals() == len(kept)
        assert _fact_rows() == kept
        assert summary_rows() == kept_summaries
        db.session.rollback()


def _ago(days: int) -> str:
    return (clock.today() - days * DAYS).isoformat()


def _programmes() -> tuple[Programme, Programme]:
    return make_programme("ID-BPJSTK-BPU", "BPJSTK"), make_programme("ID-JKN-PBI", "BPJSKES")


def test_a_client_referred_again_counts_once_in_every_period_and_programme(app, demo):
    now = clock.now()
    with acting_as(app):
        p, q = _programmes()
        ani = make_client("35.16.08.2003")
        make_referral(ani, p, "declined", created_at=now - 50 * DAYS, decided_after_days=2)
        make_referral(ani, q, "accepted", created_at=now - 20 * DAYS, decided_after_days=4)
        make_referral(ani, p, "delivered", created_at=now - 5 * DAYS)
        p_code, q_code = p.code, q.code

    assert _figures(app) == (1, 3, 0, 3.0)
    assert _figures(app, **{"from": _ago(30)}) == (1, 2, 0, 4.0)
    assert _figures(app, **{"from": _ago(60), "to": _ago(10)}) == (1, 2, 0, 3.0)
    assert _figures(app, **{"from": _ago(9)}) == (1, 1, 0, None)
    # Per programme: BPJSTK twice (counted once), JKN PBI once.
    assert _figures(app, programme=p_code) == (1, 2, 0, 2.0)
    assert _figures(app, programme=p_code, **{"from": _ago(30)}) == (1, 1, 0, None)
    assert _figures(app, programme=q_code, **{"from": _ago(60), "to": _ago(30)}) == (0, 0, 0, None)


def test_an_agencys_decision_and_completion_move_the_figures(app, demo):
    with acting_as(app):
        p, _q = _programmes()
        ani = make_client("35.16.08.2003")
        referral_id = make_referral(ani, p, "delivered", created_at=clock.now() - 3 * DAYS).id
    assert _figures(app) == (1, 1, 0, None)

    with acting_as(app, "agency.bpjstk") as agency:
        referrals.apply_action(db.session.get(Referral, referral_id), referrals.Action(name="accept"), agency)
    assert _figures(app) == (1, 1, 0, 3.0)
    with acting_as(app):
        assert db.session.get(ReferralFact, referral_id).status == "accepted"

    with acting_as(app, "agency.bpjstk") as agency:
        referral = db.session.get(Referral, referral_id)
        referrals.apply_action(referral, referrals.Action(name="complete", outcome="successful"), agency)
    assert _figures(app) == (1, 1, 1, 3.0)
    with acting_as(app, "supervisor.id"):
        board = services.dashboard(services.parse_filters({}))
        assert (board.completed, board.share_successful) == (1, 1.0)


def test_the_median_is_exact_when_the_middle_values_share_an_hour(app, demo):
    """Six decisions, four of them within one hour that straddles a rounding boundary (2.05 days =
    49.2 hours): the median is the mean of the third and fourth, 49.225 hours, shown as 2.1."""
    now = clock.now()
    with acting_as(app):
        p, _q = _programmes()
        for hours in (10, 49.05, 49.15, 49.3, 49.4, 100):
            client = make_client("35.16.08.2003")
            make_referral(client, p, "accepted", created_at=now - 30 * DAYS, decided_after_days=hours / 24)
    assert _figures(app)[3] == 2.1

    with acting_as(app):
        p, _q = _programmes()
        # Two quick decisions: the middle values are now 49.05 hours (the hour's lowest) and 49.15
        # (read from the hour's values in order), 49.1 hours in all: 2.0 days.
        for hours in (1, 2):
            client = make_client("35.16.08.2003")
            make_referral(client, p, "declined", created_at=now - 30 * DAYS, decided_after_days=hours / 24)
    assert _figures(app)[3] == 2.0
    with acting_as(app):
        p, _q = _programmes()
        # A ninth, slow: the middle value is 49.15 hours alone.
        client = make_client("35.16.08.2003")
        make_referral(client, p, "accepted", created_at=now - 30 * DAYS, decided_after_days=9)
    assert _figures(app)[3] == 2.0
    assert _figures(app, programme="ID-JKN-PBI")[3] is None


def test_merging_clients_counts_their_referrals_once_in_the_kept_records_region(app, demo):
    now = clock.now()
    with acting_as(app):
        p, q = _programmes()
        keep = make_client("35.16.08.2003", full_name="Ani Lestari")
        twin = make_client("35.76.01.1007", full_name="Ani Lestari")
        make_referral(keep, p, "declined", created_at=now - 40 * DAYS, decided_after_days=1)
        make_referral(twin, q, "accepted", created_at=now - 10 * DAYS, decided_after_days=3)
        keep_id, twin_id = keep.id, twin.id
    assert _figures(app) == (2, 2, 0, 2.0)
    assert _figures(app, region="35.76") == (1, 1, 0, 3.0)

    with acting_as(app, "admin") as admin:
        registry_merge.merge_clients(db.session.get(Client, keep_id), db.session.get(Client, twin_id), admin)
    # One client now, in the kept record's region: the twin's referral went there with the merge
    # (srs.registry.region_copies), so both count in Kabupaten Mojokerto and none in the city.
    assert _figures(app) == (1, 2, 0, 2.0)
    assert _figures(app, region="35.16") == (1, 2, 0, 2.0)
    assert _figures(app, region="35.76") == (0, 0, 0, None)
    assert _figures(app, region="35.16", **{"from": _ago(20)}) == (1, 1, 0, 3.0)
    assert _figures(app, "admin") == (1, 2, 0, 2.0)
    with acting_as(app):
        rows = db.session.scalars(select(ReferralFact)).all()
        assert {f.client_id for f in rows} == {keep_id}
        assert {f.region_id for f in rows} == {region("35.16.08.2003").id}
        assert not any(f.multi_region for f in rows)


def test_a_client_who_moved_counts_with_all_their_referrals_in_the_new_region(app, demo):
    now = clock.now()
    with acting_as(app):
        p, q = _programmes()
        ani = make_client("35.16.08.2003")
        make_referral(ani, p, "delivered", created_at=now - 30 * DAYS)
        ani.region_id = region("35.76.01.1007").id  # she moved to Kota Mojokerto
        db.session.flush()
        make_referral(ani, q, "delivered", created_at=now - 5 * DAYS)
    # The referral made before the move followed her (srs.registry.region_copies): the old
    # district neither counts nor lists it.
    assert _figures(app) == (1, 2, 0, None)
    assert _figures(app, region="35.16") == (0, 0, 0, None)
    assert _figures(app, region="35.76") == (1, 2, 0, None)


def test_a_client_who_moves_or_is_corrected_is_counted_with_the_new_details(app, demo):
    with acting_as(app):
        p, _q = _programmes()
        ani = make_client(
            "35.16.08.2003", sex="female", date_of_birth=date(1990, 3, 1), work_status="informal"
        )
        make_referral(ani, p, "accepted", decided_after_days=2)
        ani_id = ani.id
    assert _figures(app, sex="female") == (1, 1, 0, 2.0)
    assert _figures(app, sex="male") == (0, 0, 0, None)

    with acting_as(app):
        client = db.session.get(Client, ani_id)
        client.sex = "male"
        client.work_status = "unemployed"
        client.region_id = region("34.71").id  # Yogyakarta: outside the supervisor's province
    assert _figures(app, sex="female") == (0, 0, 0, None)
    # The referral follows the client out of the supervisor's province; the details follow the edit.
    assert _figures(app, sex="male", work_status="unemployed") == (0, 0, 0, None)
    assert _figures(app, "admin", sex="male", work_status="unemployed") == (1, 1, 0, 2.0)
    assert _figures(app, work_status="informal") == (0, 0, 0, None)
    assert _figures(app, "admin", region="34.71") == (1, 1, 0, 2.0)


def test_a_deleted_referral_leaves_the_figures(app, demo):
    now = clock.now()
    with acting_as(app):
        p, q = _programmes()
        ani = make_client("35.16.08.2003")
        first = make_referral(ani, p, "declined", created_at=now - 40 * DAYS, decided_after_days=1)
        make_referral(ani, q, "accepted", created_at=now - 10 * DAYS, decided_after_days=3)
        first_id = first.id
    assert _figures(app, **{"from": _ago(20)}) == (1, 1, 0, 3.0)

    with acting_as(app):
        db.session.delete(db.session.get(Referral, first_id))
    assert _figures(app) == (1, 1, 0, 3.0)
    with acting_as(app):
        assert db.session.get(ReferralFact, first_id) is None
        # The remaining referral is now the client's first.
        assert db.session.scalars(select(ReferralFact.prev_at)).all() == [None]


def test_the_rebuild_command_restores_referral_facts_lost_to_a_load_past_the_app(app, demo):
    with acting_as(app):
        p, _q = _programmes()
        make_referral(make_client("35.16.08.2003"), p, "accepted", decided_after_days=2)
        db.session.execute(delete(ReferralFact))
        for table in facts.SUMMARY_TABLES:
            db.session.execute(delete(table))
    with acting_as(app, "supervisor.id"):
        assert services.dashboard(services.parse_filters({})).referrals_total == 0

    result = app.test_cli_runner().invoke(args=["rebuild-report-facts"])
    assert result.exit_code == 0, result.output
    assert "1 report fact rows rebuilt." in result.output
    assert _figures(app) == (1, 1, 0, 2.0)

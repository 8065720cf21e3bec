"""The dashboard's client figures come from report_screening_facts: they must stay equal to the records
(the drill-down lists, which read the records directly) through every change officers and agencies make."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import delete, func, select

from srs.core import clock
from srs.extensions import db
from srs.programmes.screening import screen
from srs.referrals import services as referrals
from srs.referrals.models import Referral
from srs.registry import merge as registry_merge
from srs.registry.models import Client
from srs.reports import facts, services
from srs.reports.models import ScreeningFact
from tests.cases.conftest import acting_as, make_client
from tests.factories import make_programme, make_referral, make_screening, region

DAYS = timedelta(days=1)


def _figures(app, username="supervisor.id", **args):
    """(screened, eligible, gap) of the dashboard, each checked against the length of its list."""
    with acting_as(app, username):
        filters = services.parse_filters(args)
        board = services.dashboard(filters)
        for kind, value in (("screened", board.screened), ("eligible", board.eligible), ("gap", board.gap)):
            stmt = services.listing(kind, filters).statement
            listed = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
            assert value == listed, (kind, args, value, listed)
        return board.screened, board.eligible, board.gap


def _ago(days: int) -> str:
    return (clock.today() - days * DAYS).isoformat()


def test_screened_again_counts_the_client_once_in_every_period(app, demo):
    now = clock.now()
    with acting_as(app):
        p = make_programme("ID-BPJSTK-BPU", "BPJSTK")
        q = make_programme("ID-JKN-PBI", "BPJSKES")
        ani = make_client("35.16.08.2003", created_at=now - 100 * DAYS)
        make_screening(ani, {p: "eligible", q: "not_eligible"}, at=now - 40 * DAYS)
        make_screening(ani, {p: "not_eligible", q: "eligible"}, at=now - 5 * DAYS)
        p_code, ani_id = p.code, ani.id

    # Twelve months: two screenings, one client; the latest says JKN PBI, not yet referred.
    assert _figures(app) == (1, 1, 1)
    # Only the latest screening falls in the period.
    assert _figures(app, **{"from": _ago(30)}) == (1, 1, 1)
    # Only the first: screened and eligible then, but the gap is about the latest screening.
    assert _figures(app, **{"from": _ago(60), "to": _ago(20)}) == (1, 1, 0)
    # For BPJSTK: eligible at the first screening, no longer at the latest.
    assert _figures(app, programme=p_code) == (1, 1, 0)
    assert _figures(app, programme=p_code, **{"from": _ago(30)}) == (1, 0, 0)

    with acting_as(app, "officer.id1") as officer:
        # A new screening through the programmes service (empty rules: eligible for both).
        screen(db.session.get(Client, ani_id), officer)
    assert _figures(app) == (1, 1, 2)
    assert _figures(app, programme=p_code) == (1, 1, 1)
    assert _figures(app, **{"from": _ago(60), "to": _ago(20)}) == (1, 1, 0)


def test_a_referral_closes_the_gap_and_its_decision_keeps_it_closed(app, demo):
    with acting_as(app):
        p = make_programme("ID-BPJSTK-BPU", "BPJSTK")
        ani = make_client("35.16.08.2003")
        make_screening(ani, {p: "eligible"})
        ani_id, p_id = ani.id, p.id
    assert _figures(app) == (1, 1, 1)

    with acting_as(app):
        referral = make_referral(db.session.get(Client, ani_id), db.session.get(type(p), p_id), "pending")
        referral_id = referral.id
    assert _figures(app) == (1, 1, 0)

    with acting_as(app, "supervisor.id") as supervisor:
        referral = db.session.get(Referral, referral_id)
        referrals.apply_action(referral, referrals.Action(name="cancel", reason="moved away"), supervisor)
        assert referral.status == "cancelled"
    # Any referral to the programme, whatever became of it, takes the client out of the gap.
    assert _figures(app) == (1, 1, 0)


def test_merging_clients_moves_their_screenings_into_one_count(app, demo):
    now = clock.now()
    with acting_as(app):
        p = make_programme("ID-BPJSTK-BPU", "BPJSTK")
        q = make_programme("ID-JKN-PBI", "BPJSKES")
        keep = make_client("35.16.08.2003", full_name="Ani Lestari")
        twin = make_client("35.76.01.1007", full_name="Ani Lestari")
        make_screening(keep, {p: "eligible", q: "not_eligible"}, at=now - 20 * DAYS)
        make_referral(keep, p, "pending")
        make_screening(twin, {p: "eligible", q: "eligible"}, at=now - 3 * DAYS)
        keep_id, twin_id = keep.id, twin.id
    # Two clients screened; the twin's latest screening is eligible for both, not referred.
    assert _figures(app) == (2, 2, 2)

    with acting_as(app, "admin") as admin:
        registry_merge.merge_clients(db.session.get(Client, keep_id), db.session.get(Client, twin_id), admin)
    # One client with two screenings; its latest (the twin's) is eligible for both, and the
    # referral to BPJSTK it already had now covers that one.
    assert _figures(app) == (1, 1, 1)
    assert _figures(app, region="35.76") == (0, 0, 0)
    with acting_as(app):
        assert not db.session.scalars(select(ScreeningFact).where(ScreeningFact.client_id == twin_id)).all()


def test_a_client_who_moves_or_is_corrected_is_counted_with_the_new_details(app, demo):
    with acting_as(app):
        p = make_programme("ID-BPJSTK-BPU", "BPJSTK")
        ani = make_client("35.16.08.2003", sex="female", date_of_birth=date(1990, 3, 1))
        make_screening(ani, {p: "eligible"})
        ani_id = ani.id
    assert _figures(app, sex="female") == (1, 1, 1)
    assert _figures(app, sex="male") == (0, 0, 0)

    with acting_as(app):
        client = db.session.get(Client, ani_id)
        client.sex = "male"
        client.region_id = region("34.71").id  # Yogyakarta: outside the supervisor's province
    assert _figures(app, sex="female") == (0, 0, 0)
    assert _figures(app) == (0, 0, 0)
    assert _figures(app, "admin", sex="male", region="34.71") == (1, 1, 1)


def test_rebuilding_every_fact_gives_the_rows_kept_up_to_date(app, demo):
    now = clock.now()
    with acting_as(app):
        p = make_programme("ID-BPJSTK-BPU", "BPJSTK")
        q = make_programme("ID-JKN-PBI", "BPJSKES")
        for i in range(3):
            client = make_client("35.16.08.2003")
            make_screening(client, {p: "eligible", q: "not_eligible"}, at=now - (30 + i) * DAYS)
            make_screening(client, {p: "needs_information", q: "eligible"}, at=now - i * DAYS)
            if i:
                make_referral(client, q, "pending")

    def rows():
        return sorted(
            (f.screening_id, f.programme_id, f.eligible, f.prev_at, f.prev_eligible_at, f.gaps)
            for f in db.session.scalars(select(ScreeningFact))
        )

    with acting_as(app):
        kept = rows()
        assert facts.rebuild_all() == len(kept) == 3 * 2 * 3
        assert rows() == kept


def test_the_rebuild_command_restores_facts_lost_to_a_load_past_the_app(app, demo):
    with acting_as(app):
        p = make_programme("ID-BPJSTK-BPU", "BPJSTK")
        make_screening(make_client("35.16.08.2003"), {p: "eligible"})
        # As after a bulk load in SQL: records with no facts.
        db.session.execute(delete(ScreeningFact))
    with acting_as(app, "supervisor.id"):
        assert services.dashboard(services.parse_filters({})).screened == 0

    result = app.test_cli_runner().invoke(args=["rebuild-report-facts"])
    assert result.exit_code == 0, result.output
    assert "2 report fact rows rebuilt." in result.output
    assert _figures(app) == (1, 1, 1)

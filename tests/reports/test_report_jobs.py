"""The hourly check that the dashboard's facts and summaries are in step with the records."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, insert, select

from srs.core import clock
from srs.core.models import AuditEntry
from srs.extensions import db
from srs.referrals.models import Referral
from srs.reports import facts, jobs, services
from srs.reports.models import ScreeningFact
from tests.cases.conftest import acting_as, make_client
from tests.factories import make_programme, make_referral, make_screening


def _rebuilt_entries() -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "report.facts_rebuilt")))


def test_facts_in_step_are_left_alone(app, demo):
    with acting_as(app):
        p = make_programme()
        client = make_client()
        make_screening(client, {p: "eligible"})
        make_referral(client, p, "accepted", decided_after_days=2)
    with acting_as(app):
        assert facts.drift() == {}
        assert jobs.check_report_facts() == {}
        assert _rebuilt_entries() == []


def test_rows_loaded_or_deleted_past_the_app_are_found_and_rebuilt(app, demo):
    now = clock.now()
    with acting_as(app):
        p = make_programme()
        client = make_client()
        make_screening(client, {p: "eligible"})
        make_referral(client, p, "delivered", created_at=now - 3 * timedelta(days=1))
        values = {
            "client_id": client.id,
            "programme_id": p.id,
            "agency_id": p.agency_id,
            "region_id": client.region_id,
            "status": "pending",
            "created_at": now - timedelta(days=1),
            "due_at": now + timedelta(days=13),
        }
    with acting_as(app):
        # A referral inserted with SQL and a screening fact deleted with SQL: the listener saw neither.
        db.session.execute(insert(Referral).values(**values))
        db.session.execute(delete(ScreeningFact).where(ScreeningFact.programme_id != 0))
    with acting_as(app, "supervisor.id"):
        assert facts.drift() == {"screening_facts": -1, "referral_facts": -1, "referral_summaries": -1}
        assert services.dashboard(services.parse_filters({})).referrals_total == 1

    with acting_as(app):
        assert jobs.check_report_facts() == {
            "screening_facts": -1,
            "referral_facts": -1,
            "referral_summaries": -1,
        }
    with acting_as(app, "supervisor.id"):
        assert facts.drift() == {}
        assert services.dashboard(services.parse_filters({})).referrals_total == 2
        (entry,) = _rebuilt_entries()
        assert entry.details["referral_facts"] == -1


def test_the_check_runs_every_hour_in_the_worker(app):
    from srs.core.wiring import wiring

    (job,) = [job for job in wiring(app).periodic_jobs if job.func == "srs.reports.jobs.check_report_facts"]
    assert job.every_seconds == 3600


def test_a_clients_refresh_waits_for_a_whole_rebuild_to_commit(app, demo):
    """PostgreSQL: a refresh reading the facts mid-rebuild would write duplicates or count rows out
    of summaries that no longer hold them; it waits instead (here: until its lock timeout)."""
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    with acting_as(app):
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite runs one writing transaction at a time")
        client_id = make_referral(make_client(), make_programme()).client_id
    with app.app_context(), db.engine.connect() as rebuilding, db.engine.connect() as refreshing:
        rebuilding.begin()
        facts.rebuild_referrals(rebuilding)
        refreshing.begin()
        refreshing.execute(text("SET LOCAL lock_timeout = '300ms'"))
        with pytest.raises(OperationalError, match="lock timeout"):
            facts.refresh_clients([client_id], refreshing)
        refreshing.rollback()
        rebuilding.commit()
        refreshing.begin()
        facts.refresh_clients([client_id], refreshing)  # the rebuild committed: no wait
        refreshing.commit()
        assert facts.drift(refreshing) == {}


def test_two_screenings_of_one_client_at_once_do_not_deadlock(app, demo):
    """PostgreSQL: each write holds a key-share lock on the client's row (its foreign key) before the
    facts' refresh locks that row; the refresh's lock must not conflict with it, or two screenings
    of one person at once deadlock (seen as a 500 in the HTTP write benchmark). They take turns."""
    import pytest
    from sqlalchemy import text

    from srs.programmes.models import Screening

    with acting_as(app):
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite runs one writing transaction at a time")
        client_id = make_client().id
        db.session.commit()
    with app.app_context(), db.engine.connect() as first, db.engine.connect() as second:
        for conn in (first, second):
            conn.begin()
            conn.execute(text("SET LOCAL lock_timeout = '2s'"))
            conn.execute(insert(Screening).values(client_id=client_id, trigger="officer"))
        facts.refresh_clients([client_id], first)  # FOR UPDATE waited here for the second's key share
        first.commit()
        facts.refresh_clients([client_id], second)
        second.commit()
        assert facts.drift(second) == {}

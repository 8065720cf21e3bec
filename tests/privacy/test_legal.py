"""The legal clocks: Indonesia's 3 x 24 hours, Viet Nam's 2 working days and 15 / 20 days, as data."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import time_machine
from sqlalchemy import select, update

from srs.core.workdays import PublicHoliday
from srs.extensions import db
from srs.privacy.models import DataSubjectRequest, LegalPeriod
from tests import factories
from tests.privacy.conftest import VN_COMMUNE, new_client

# Friday 4 December 2026, 10:00 in Jakarta and Hanoi (UTC+7).
FRIDAY = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)


def _post(client, headers, client_id, kind="access", via="in_person"):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/clients/{client_id}/requests", json={"kind": kind, "received_via": via}, headers=headers
    )


def _end_of_local_day(day: date) -> datetime:
    # 23:59:59 at UTC+7 (the office's day, as referral and complaint deadlines end).
    return datetime(day.year, day.month, day.day, 16, 59, 59, tzinfo=UTC)


def test_indonesia_access_is_three_times_24_hours_on_the_clock_weekend_included(
    app, client, periods, api_token
):
    client_id = new_client(app)
    with time_machine.travel(FRIDAY, tick=False):
        response = _post(client, api_token("officer"), client_id, "access")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "open" and body["kind"] == "access" and body["client_id"] == client_id
    assert datetime.fromisoformat(body["received_at"]) == FRIDAY
    # 72 hours: Monday at the same hour, Saturday and Sunday counted (the law says hours, not days).
    assert datetime.fromisoformat(body["due_at"]) == FRIDAY + timedelta(hours=72)
    assert "UU 27/2022" in body["rule"] and "art. 32" in body["rule"]


def test_indonesia_correction_cites_article_30_and_ignores_a_holiday(app, client, periods, api_token):
    with app.app_context():
        db.session.add(PublicHoliday(country="ID", day=date(2026, 12, 7), name="Test holiday"))
        db.session.commit()
    client_id = new_client(app)
    with time_machine.travel(FRIDAY, tick=False):
        body = _post(client, api_token("officer"), client_id, "correction").get_json()
    assert datetime.fromisoformat(body["due_at"]) == FRIDAY + timedelta(hours=72)
    assert "art. 30" in body["rule"]


def test_viet_nam_answer_within_two_working_days(app, client, periods, api_token):
    client_id = new_client(app, VN_COMMUNE, full_name="Nguyễn Văn An")
    with time_machine.travel(FRIDAY, tick=False):
        body = _post(client, api_token("officer_vn"), client_id, "access").get_json()
    # Friday -> Monday 7 (1), Tuesday 8 (2): due at the end of Tuesday.
    assert datetime.fromisoformat(body["due_at"]) == _end_of_local_day(date(2026, 12, 8))
    assert "Decree 356/2025" in body["rule"] and "2 working days" in body["rule"]
    assert body["complete_by"] is None  # an access request has no second period


def test_viet_nam_public_holiday_moves_the_answer_a_day(app, client, periods, api_token):
    with app.app_context():
        db.session.add(PublicHoliday(country="VN", day=date(2026, 12, 7), name="Test holiday"))
        # Indonesia's holidays are not Viet Nam's: this one must not count.
        db.session.add(PublicHoliday(country="ID", day=date(2026, 12, 8), name="Other country"))
        db.session.commit()
    client_id = new_client(app, VN_COMMUNE)
    with time_machine.travel(FRIDAY, tick=False):
        body = _post(client, api_token("officer_vn"), client_id, "access").get_json()
    assert datetime.fromisoformat(body["due_at"]) == _end_of_local_day(date(2026, 12, 9))


def test_viet_nam_withdrawal_is_completed_in_15_days_or_20_where_processors_act(
    app, client, periods, api_token
):
    alone = new_client(app, VN_COMMUNE)
    shared = new_client(app, VN_COMMUNE)
    with app.app_context():
        programme = factories.make_programme("VN-VSS-TEST", agency_code="VSS", country="VN")
        referral = factories.make_referral(db.session.get(factories.Client, shared), programme)
        referral.delivered_at = FRIDAY - timedelta(days=30)
        db.session.commit()
    with time_machine.travel(FRIDAY, tick=False):
        headers = api_token("officer_vn")
        first = _post(client, headers, alone, "withdrawal").get_json()
        second = _post(client, headers, shared, "withdrawal").get_json()
    assert datetime.fromisoformat(first["due_at"]) == _end_of_local_day(date(2026, 12, 8))
    assert datetime.fromisoformat(first["complete_by"]) == _end_of_local_day(date(2026, 12, 19))
    # An agency holds the data and must act too: 20 days.
    assert datetime.fromisoformat(second["complete_by"]) == _end_of_local_day(date(2026, 12, 24))
    assert "20 days" in second["rule"]


def test_viet_nam_one_extension_of_at_most_15_days(app, client, periods, login_as):
    client_id = new_client(app, VN_COMMUNE)
    with time_machine.travel(FRIDAY, tick=False):
        browser = login_as("officer_vn")
        browser.post(f"/clients/{client_id}/requests", data={"kind": "objection", "received_via": "letter"})
    browser = login_as("officer_vn")
    with app.app_context():
        request = db.session.scalar(
            select(DataSubjectRequest).where(DataSubjectRequest.client_id == client_id)
        )
        request_id, complete_by = request.id, request.complete_by
    too_long = browser.post(
        f"/requests/{request_id}/extend", data={"days": "16", "reason": "Agencies must act"}
    )
    assert too_long.status_code == 422
    assert "1 to 15" in too_long.get_data(as_text=True)
    no_reason = browser.post(f"/requests/{request_id}/extend", data={"days": "10"})
    assert no_reason.status_code == 422
    ok = browser.post(f"/requests/{request_id}/extend", data={"days": "15", "reason": "Agencies must act"})
    assert ok.status_code == 302
    again = browser.post(f"/requests/{request_id}/extend", data={"days": "5", "reason": "More"})
    assert again.status_code == 409
    with app.app_context():
        request = db.session.get(DataSubjectRequest, request_id)
        assert request.extended_until == complete_by + timedelta(days=15)


def test_periods_are_rows_not_code(app, client, periods, api_token):
    """Amending the table (a new decree) changes the next request's clock; no code changes."""
    with app.app_context():
        db.session.execute(
            update(LegalPeriod)
            .where(LegalPeriod.country == "ID", LegalPeriod.kind == "access")
            .values(amount=48, article="art. 32 (amended)")
        )
        db.session.commit()
    client_id = new_client(app)
    with time_machine.travel(FRIDAY, tick=False):
        body = _post(client, api_token("officer"), client_id, "access").get_json()
    assert datetime.fromisoformat(body["due_at"]) == FRIDAY + timedelta(hours=48)
    assert "amended" in body["rule"]


def test_a_country_without_a_period_is_refused_not_guessed(app, client, periods, api_token):
    with app.app_context():
        db.session.execute(LegalPeriod.__table__.delete().where(LegalPeriod.country == "ID"))
        db.session.commit()
    client_id = new_client(app)
    response = _post(client, api_token("officer"), client_id, "access")
    assert response.status_code == 422
    assert "kind" in response.get_json()["errors"]
    with app.app_context():
        assert db.session.scalar(select(DataSubjectRequest.id)) is None


def test_every_kind_has_a_period_in_both_countries(app, periods):
    from srs.privacy.models import REQUEST_KINDS

    with app.app_context():
        rows = {(p.country, p.kind) for p in db.session.scalars(select(LegalPeriod))}
    assert {(c, k) for c in ("ID", "VN") for k in REQUEST_KINDS} <= rows


def test_viet_nam_answer_stops_the_first_clock_and_the_completion_clock_runs_on(app, periods, login_as):
    from srs.privacy import requests as ledger

    client_id = new_client(app, VN_COMMUNE)
    with time_machine.travel(FRIDAY, tick=False):
        login_as("officer_vn").post(
            f"/clients/{client_id}/requests", data={"kind": "restriction", "received_via": "phone"}
        )
    with app.app_context():
        request_id = db.session.scalar(select(DataSubjectRequest.id))

    def overdue_at(moment: datetime) -> tuple[bool, bool]:
        with app.app_context(), time_machine.travel(moment, tick=False):
            found = db.session.get(DataSubjectRequest, request_id)
            in_sql = (
                db.session.scalar(select(DataSubjectRequest.id).where(ledger.overdue_condition())) is not None
            )
            return ledger.is_overdue(found), in_sql

    wednesday = datetime(2026, 12, 9, 3, 0, tzinfo=UTC)  # past the 2 working days, within the 15 days
    assert overdue_at(wednesday) == (True, True)
    assert login_as("officer_vn").post(f"/requests/{request_id}/answer").status_code == 302
    assert overdue_at(wednesday) == (False, False)
    assert overdue_at(datetime(2026, 12, 20, 3, 0, tzinfo=UTC)) == (True, True)  # the 15 days are over

"""Creating referrals: one per programme, consent, duplicates, due dates, one transaction with the outbox."""

from __future__ import annotations

from datetime import UTC, date, datetime
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from srs.core.errors import Conflict, ValidationFailed
from srs.core.workdays import PublicHoliday
from srs.extensions import db
from srs.referrals import services as svc
from srs.referrals.models import OutboxMessage, Referral, ReferralEvent
from tests.factories import agency, give_consent, make_programme, make_screening, user

from .conftest import make_client, run_jobs


def _new(client, programmes, **kw):  # type: ignore[no-untyped-def]
    return svc.NewReferrals(client=client, programme_ids=[p.id for p in programmes], **kw)


def test_one_referral_per_programme_with_event_outbox_and_region(ref_ctx):
    client = make_client()
    programmes = [
        make_programme("ID-A"),
        make_programme("ID-B", "BPJSKES"),
        make_programme("ID-C", "KEMNAKER"),
    ]
    referrals = svc.create_referrals(
        _new(client, programmes, note="Needs help", consent_confirmed=True), user("officer.id1")
    )
    assert len(referrals) == 3
    for referral in referrals:
        assert referral.status == "pending"
        assert referral.region_id == client.region_id
        assert [e.status for e in referral.events] == ["pending"]
        assert referral.events[0].by_id == user("officer.id1").id
    channels = sorted(db.session.scalars(select(OutboxMessage.channel)))
    # Every agency gets its inbox; KEMNAKER (e-mail agency) also an e-mail.
    assert channels == ["email", "inbox", "inbox", "inbox"]


def test_no_consent_is_refused_unless_a_supervisor_overrides_with_a_reason(ref_ctx):
    client = make_client(consent_given=False)
    programme = make_programme()
    with pytest.raises(ValidationFailed) as info:
        svc.create_referrals(_new(client, [programme], consent_confirmed=True), user("officer.id1"))
    assert "consent" in info.value.errors
    with pytest.raises(ValidationFailed) as info:
        svc.create_referrals(_new(client, [programme], consent_override_reason="urgent"), user("officer.id1"))
    assert "consent_override_reason" in info.value.errors
    [referral] = svc.create_referrals(
        _new(client, [programme], consent_override_reason="Client is in hospital; family agreed"),
        user("supervisor.id"),
    )
    assert referral.consent_override_reason.startswith("Client is in hospital")


def test_consent_must_be_confirmed_on_the_form(ref_ctx):
    with pytest.raises(ValidationFailed) as info:
        svc.create_referrals(_new(make_client(), [make_programme()]), user("officer.id1"))
    assert "consent" in info.value.errors


def test_open_referral_to_the_same_programme_is_refused_and_nothing_is_saved(ref_ctx):
    client = make_client()
    first, second = make_programme("ID-A"), make_programme("ID-B", "BPJSKES")
    svc.create_referrals(_new(client, [first], consent_confirmed=True), user("officer.id1"))
    db.session.commit()
    with pytest.raises(Conflict):
        svc.create_referrals(_new(client, [second, first], consent_confirmed=True), user("officer.id1"))
    db.session.rollback()
    assert db.session.scalar(select(func.count(Referral.id))) == 1


def test_due_date_counts_working_days_and_skips_holidays(ref_ctx):
    bpjstk = agency("BPJSTK")
    bpjstk.response_days = 3
    db.session.add(PublicHoliday(country="ID", day=date(2026, 12, 1), name="Test holiday"))
    db.session.flush()
    # Friday 27 November 2026, 10:00 in Jakarta: Mon 30 Nov, (Tue 1 Dec holiday), Wed 2, Thu 3 Dec.
    friday = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    with time_machine.travel(friday, tick=False):
        [referral] = svc.create_referrals(
            _new(make_client(), [make_programme()], consent_confirmed=True), user("officer.id1")
        )
    local_due = referral.due_at.astimezone(ZoneInfo("Asia/Jakarta"))
    assert (local_due.date(), local_due.hour, local_due.minute) == (date(2026, 12, 3), 23, 59)


def test_failed_transaction_leaves_no_outbox_row(app, demo, login_as):
    with app.app_context():
        client_id = make_client().id
        programme_id = make_programme().id
        db.session.commit()
    officer = login_as("officer")
    with mock.patch("srs.referrals.services.audit.record", side_effect=RuntimeError("disk full")):
        app.config["PROPAGATE_UNEXPECTED"] = False
        try:
            response = officer.post(
                "/referrals/new", data={"client_id": client_id, "programmes": [programme_id], "consent": "y"}
            )
        finally:
            app.config.pop("PROPAGATE_UNEXPECTED")
    assert response.status_code == 500
    with app.app_context():
        assert db.session.scalar(select(func.count(Referral.id))) == 0
        assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0
        assert db.session.scalar(select(func.count(ReferralEvent.id))) == 0


def test_officer_refers_from_the_form_and_sees_errors_next_to_fields(app, demo, login_as):
    with app.app_context():
        client = make_client(consent_given=False)
        client_id = client.id
        a, b = make_programme("ID-A"), make_programme("ID-B", "BPJSKES")
        screening_id = make_screening(client, {a: "eligible", b: "not_eligible"}).id
        ids = (a.id, b.id)
        db.session.commit()
    officer = login_as("officer")
    page = officer.get(f"/referrals/new?client_id={client_id}&screening_id={screening_id}").get_data(
        as_text=True
    )
    assert page.index("Programme ID-A") < page.index("Programme ID-B")  # eligible first
    assert f'value="{ids[0]}" id="refer-{ids[0]}"\n          checked' in page
    response = officer.post(
        "/referrals/new",
        data={
            "client_id": client_id,
            "screening_id": screening_id,
            "programmes": [ids[0]],
            "note": "typed text",
        },
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "No consent to share is recorded" in body and "typed text" in body
    with app.app_context():
        assert db.session.scalar(select(func.count(Referral.id))) == 0
        give_consent(db.session.get(type(client), client_id))
        db.session.commit()
    response = officer.post(
        "/referrals/new",
        data={"client_id": client_id, "screening_id": screening_id, "programmes": list(ids), "consent": "y"},
    )
    assert response.status_code == 302
    with app.app_context():
        run_jobs()
        assert sorted(db.session.scalars(select(Referral.status))) == ["delivered", "delivered"]


def test_officer_of_another_district_cannot_refer_the_client(app, demo, login_as):
    with app.app_context():
        client_id = make_client().id
        programme_id = make_programme().id
        db.session.commit()
    response = login_as("officer2").post(
        "/referrals/new", data={"client_id": client_id, "programmes": [programme_id], "consent": "y"}
    )
    assert response.status_code == 404


def test_client_screening_and_programme_ids_past_any_record_are_refused_not_500(app, demo, login_as, client):
    huge = 99999999999999999999  # past every id column; SQLite could not even bind it
    with app.app_context():
        client_id = make_client().id
        make_programme()
        db.session.commit()
    officer = login_as("officer")
    assert officer.get(f"/referrals/new?client_id={huge}").status_code == 404
    assert officer.get(f"/referrals/new?client_id={client_id}&screening_id={huge}").status_code == 404
    response = officer.post(
        "/referrals/new", data={"client_id": client_id, "programmes": [str(huge)], "consent": "y"}
    )
    assert response.status_code == 422
    assert officer.get(f"/referrals/?client_id={huge}").status_code == 200
    token = client.post("/api/v1/auth/token", json={"username": "officer.id1", "password": demo["password"]})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    body = {"client_id": client_id, "programme_code": "ID-BPJSTK-BPU", "screening_id": huge}
    response = client.post("/api/v1/referrals", json=body, headers=headers)
    assert response.status_code == 422 and "screening_id" in response.get_json()["errors"]
    response = client.post(
        "/api/v1/referrals", json={**body, "screening_id": None, "client_id": huge}, headers=headers
    )
    assert response.status_code == 422 and "client_id" in response.get_json()["errors"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Referral.id))) == 0


def test_the_referral_list_for_a_client_id_naming_no_record_is_empty_not_everything(app, demo, login_as):
    with app.test_request_context():
        from tests.factories import refer

        referral = refer()
        client_id, reference = referral.client_id, f'href="/referrals/{referral.id}"'
        db.session.commit()
    officer = login_as("officer")
    assert reference in officer.get(f"/referrals/?client_id={client_id}").get_data(as_text=True)
    for unknown in ("0", "abc", "99999999999999999999", str(client_id + 1000)):
        assert reference not in officer.get(f"/referrals/?client_id={unknown}").get_data(as_text=True)
    assert reference in officer.get("/referrals/?client_id=").get_data(as_text=True)

"""Consent binds the referrals (API.md "Consent"): from a withdrawal on, no agency sees the person's data,
open referrals are cancelled with ``consent_withdrawn`` and each agency is told, deliveries check consent
when they send, a new referral is refused until consent is given again; a supervisor's override stays
possible, audited and shown to the agency; an officer's is refused."""

from __future__ import annotations

import email
from pathlib import Path

from sqlalchemy import select

from srs.core.models import AuditEntry
from srs.core.transaction import commit
from srs.extensions import db
from srs.referrals import jobs, messages
from srs.referrals import services as svc
from srs.referrals.models import OutboxMessage, Referral
from srs.registry import consent
from srs.registry.models import Client
from tests.factories import agency, give_consent, make_programme, refer, user

from .conftest import make_client, run_jobs

PERSONAL = ("Sri Wahyuni", "081234567890", "1985-04-12", "Jl. Majapahit 1")


def _delivered(app, *, channel: str = "inbox", note: str = "Please help") -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """A delivered referral of a consenting street vendor to BPJSTK: (client id, referral id)."""
    with app.test_request_context():
        bpjstk = agency("BPJSTK")
        if channel == "email":
            bpjstk.channel, bpjstk.contact_email = "email", "referrals@bpjstk.example"
        client = make_client()
        referral = refer(client, make_programme(shared=["full_name", "phone", "date_of_birth", "address"]))
        referral.note = note
        ids = client.id, referral.id
        commit()
        run_jobs()
        return ids


def _withdraw_by_api(http, headers, client_id: int, reason: str = "Asked at the office") -> dict:  # type: ignore[no-untyped-def]
    version = http.get(f"/api/v1/clients/{client_id}", headers=headers).get_json()["version"]
    response = http.patch(
        f"/api/v1/clients/{client_id}",
        json={"version": version, "consent": {"given": False, "reason": reason}},
        headers=headers,
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _no_personal_data(text: str) -> None:
    for value in PERSONAL:
        assert value not in text, value


# ---------------------------------------------------------------- withdrawal cancels and withholds


def test_withdrawal_by_api_cancels_open_referrals_and_the_agency_sees_no_data(app, demo, api_token):
    client_id, referral_id = _delivered(app, note="Lives with her mother at Jl. Majapahit 1")
    http = app.test_client()
    staff = api_token("agency_staff")
    before = http.get(f"/api/v1/referrals/{referral_id}", headers=staff).get_json()
    assert before["client"]["full_name"] == "Sri Wahyuni" and before["client_withheld"] is False

    body = _withdraw_by_api(http, api_token("officer"), client_id)
    assert body["consent"]["given"] is False and body["consent"]["withdrawn_at"]

    after = http.get(f"/api/v1/referrals/{referral_id}", headers=staff)
    data = after.get_json()
    assert data["status"] == "cancelled" and data["cancel_reason"] == "consent_withdrawn"
    assert data["client"] is None and data["client_withheld"] is True and data["note"] is None
    _no_personal_data(after.get_data(as_text=True))
    listed = http.get("/api/v1/referrals?status=cancelled", headers=staff)
    assert [i["id"] for i in listed.get_json()["items"]] == [referral_id]
    assert listed.get_json()["items"][0]["client"] is None
    _no_personal_data(listed.get_data(as_text=True))
    # The officer still reads their own client's referral (the data never left SRS for them).
    officer_view = http.get(f"/api/v1/referrals/{referral_id}", headers=api_token("officer")).get_json()
    assert officer_view["cancel_reason"] == "consent_withdrawn"
    with app.app_context():
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action.in_(("consent.withdraw", "referral.cancel")))
        ).all()
        assert {e.action for e in entries} == {"consent.withdraw", "referral.cancel"}
        cancel = next(e for e in entries if e.action == "referral.cancel")
        assert cancel.details["reason"] == "consent_withdrawn" and cancel.username == "officer.id1"


def test_closed_referrals_stay_closed_but_withhold_the_data_too(app, demo, api_token):
    client_id, referral_id = _delivered(app)
    http = app.test_client()
    staff = api_token("agency_staff")
    version = http.get(f"/api/v1/referrals/{referral_id}", headers=staff).get_json()["version"]
    http.post(
        f"/api/v1/referrals/{referral_id}/decline",
        json={"version": version, "reason": "quota_full"},
        headers=staff,
    )
    _withdraw_by_api(http, api_token("officer"), client_id)
    data = http.get(f"/api/v1/referrals/{referral_id}", headers=staff).get_json()
    assert data["status"] == "declined" and data["cancel_reason"] is None
    assert data["client"] is None


def test_withdrawal_on_the_profile_as_officer_and_supervisor_and_the_agency_pages(app, demo, login_as):
    for role in ("officer", "supervisor"):
        client_id, referral_id = _delivered(app)
        page = login_as(role).get(f"/clients/{client_id}").get_data(as_text=True)
        assert 'data-testid="withdraw-consent-form"' in page
        browser = login_as(role)
        response = browser.post(f"/clients/{client_id}/consent/withdraw", data={"reason": "By phone"})
        assert response.status_code == 302
        profile = browser.get(f"/clients/{client_id}").get_data(as_text=True)
        assert 'data-testid="consent-withdrawn-badge"' in profile and "By phone" in profile
        agency_browser = login_as("agency_staff")
        detail = agency_browser.get(f"/referrals/{referral_id}").get_data(as_text=True)
        assert 'data-testid="client-withheld"' in detail
        assert "Sri Wahyuni" not in detail and "081234567890" not in detail and "Please help" not in detail
        inbox = agency_browser.get("/referrals/inbox?status=all").get_data(as_text=True)
        assert 'data-testid="client-withheld"' in inbox and "Sri Wahyuni" not in inbox
        with app.app_context():
            referral = db.session.get(Referral, referral_id)
            assert referral.status == "cancelled" and referral.cancel_reason == "consent_withdrawn"


def test_agency_staff_and_admin_cannot_withdraw_or_record_through_pages_they_may_not(app, demo, login_as):
    client_id, _referral_id = _delivered(app)
    staff = login_as("agency_staff")
    assert staff.post(f"/clients/{client_id}/consent/withdraw", data={}).status_code == 403
    assert staff.post(f"/clients/{client_id}/consent", data={}).status_code == 403
    supervisor = login_as("supervisor")
    assert supervisor.post(f"/clients/{client_id}/consent", data={}).status_code == 403
    page = supervisor.get(f"/clients/{client_id}").get_data(as_text=True)
    assert 'data-testid="record-consent-form"' not in page  # a supervisor withdraws, never records


# ---------------------------------------------------------------- a new referral needs consent again


def test_a_new_referral_after_withdrawal_is_422_until_consent_is_given_again(app, demo, api_token, login_as):
    client_id, _referral_id = _delivered(app)
    http = app.test_client()
    officer = api_token("officer")
    _withdraw_by_api(http, officer, client_id)
    refused = http.post(
        "/api/v1/referrals", json={"client_id": client_id, "programme_code": "ID-BPJSTK-BPU"}, headers=officer
    )
    assert refused.status_code == 422
    assert "withdrew their consent" in refused.get_json()["errors"]["consent"][0]
    with app.app_context():
        programme_id = make_programme().id
    form = login_as("officer").post(
        "/referrals/new",
        data={"client_id": client_id, "programmes": [programme_id], "consent": "y"},
    )
    assert form.status_code == 422
    assert "withdrew their consent" in form.get_data(as_text=True)
    given = http.post(
        f"/api/v1/clients/{client_id}/consents",
        json={"date": "2026-01-02", "scope": "Referral to BPJSTK", "agencies": ["BPJSTK"]},
        headers=officer,
    )
    assert given.status_code == 201, given.get_json()
    again = http.post(
        "/api/v1/referrals", json={"client_id": client_id, "programme_code": "ID-BPJSTK-BPU"}, headers=officer
    )
    assert again.status_code == 201, again.get_json()


def test_a_consent_for_listed_agencies_covers_those_only(app, demo, api_token):
    with app.test_request_context():
        client = make_client(consent_given=False)
        give_consent(client, agencies=["BPJSKES"])
        make_programme()
        make_programme("ID-JKN", "BPJSKES")
        commit()
        client_id = client.id
    http = app.test_client()
    officer = api_token("officer")
    refused = http.post(
        "/api/v1/referrals", json={"client_id": client_id, "programme_code": "ID-BPJSTK-BPU"}, headers=officer
    )
    assert refused.status_code == 422 and "does not cover" in refused.get_json()["errors"]["consent"][0]
    ok = http.post(
        "/api/v1/referrals", json={"client_id": client_id, "programme_code": "ID-JKN"}, headers=officer
    )
    assert ok.status_code == 201


def test_a_consent_without_the_referral_purpose_refers_nobody(app, demo, api_token):
    with app.test_request_context():
        client = make_client(consent_given=False)
        give_consent(client, purposes=["screening"])
        make_programme()
        commit()
        client_id = client.id
    response = app.test_client().post(
        "/api/v1/referrals",
        json={"client_id": client_id, "programme_code": "ID-BPJSTK-BPU"},
        headers=api_token("officer"),
    )
    assert response.status_code == 422


# ---------------------------------------------------------------- the supervisor's override


def test_supervisor_override_is_possible_audited_and_shown_to_the_agency(app, demo, api_token, login_as):
    client_id, _first = _delivered(app)
    http = app.test_client()
    _withdraw_by_api(http, api_token("officer"), client_id)
    officer_try = http.post(
        "/api/v1/referrals",
        json={"client_id": client_id, "programme_code": "ID-BPJSTK-BPU", "consent_override_reason": "Urgent"},
        headers=api_token("officer"),
    )
    assert officer_try.status_code == 422
    assert "Only a supervisor" in officer_try.get_json()["errors"]["consent_override_reason"][0]
    response = http.post(
        "/api/v1/referrals",
        json={
            "client_id": client_id,
            "programme_code": "ID-BPJSTK-BPU",
            "consent_override_reason": "Work accident: the injury benefit cannot wait",
        },
        headers=api_token("supervisor"),
    )
    assert response.status_code == 201, response.get_json()
    referral_id = response.get_json()["id"]
    with app.app_context():
        run_jobs()
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "referral.create").order_by(AuditEntry.id.desc())
        )
        assert entry.details["consent_override"] is True
        assert entry.details["consent_override_reason"].startswith("Work accident")
    staff_view = http.get(f"/api/v1/referrals/{referral_id}", headers=api_token("agency_staff")).get_json()
    assert staff_view["consent_override_reason"].startswith("Work accident")
    # Made after the withdrawal, the override lets the agency act on it with the data.
    assert staff_view["client"]["full_name"] == "Sri Wahyuni"
    page = login_as("agency_staff").get(f"/referrals/{referral_id}").get_data(as_text=True)
    assert 'data-testid="consent-override"' in page and "Work accident" in page


def test_supervisor_override_on_the_form(app, demo, login_as):
    with app.test_request_context():
        client = make_client(consent_given=False)
        programme_id = make_programme().id
        commit()
        client_id = client.id
    officer = login_as("officer").post(
        "/referrals/new",
        data={"client_id": client_id, "programmes": [programme_id], "consent_override_reason": "Urgent"},
    )
    assert officer.status_code == 422 and "Only a supervisor" in officer.get_data(as_text=True)
    supervisor = login_as("supervisor")
    form_page = supervisor.get(f"/referrals/new?client_id={client_id}").get_data(as_text=True)
    assert 'name="consent_override_reason"' in form_page
    response = supervisor.post(
        "/referrals/new",
        data={"client_id": client_id, "programmes": [programme_id], "consent_override_reason": "Urgent"},
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Referral.consent_override_reason)) == "Urgent"


# ---------------------------------------------------------------- channels and send time


def test_an_email_agency_is_told_by_mail_without_personal_data(app, demo, api_token, tmp_path):
    app.config["MAIL_OUTBOX_DIR"] = str(tmp_path)
    try:
        client_id, referral_id = _delivered(app, channel="email")
        before = set(Path(tmp_path).glob("*.eml"))
        _withdraw_by_api(app.test_client(), api_token("officer"), client_id)
        with app.app_context():
            run_jobs()
            message = db.session.scalar(
                select(OutboxMessage).where(
                    OutboxMessage.referral_id == referral_id, OutboxMessage.channel == "cancellation"
                )
            )
            assert message.status == "done"
        new = set(Path(tmp_path).glob("*.eml")) - before
        assert len(new) == 1
        mail = email.message_from_bytes(new.pop().read_bytes())
        text = mail.get_payload(decode=True).decode()
        assert f"#{referral_id}" in mail["Subject"] and "cancelled" in mail["Subject"]
        assert "withdrew their consent" in text
        _no_personal_data(text + mail["Subject"])
    finally:
        app.config["MAIL_OUTBOX_DIR"] = str(Path(app.instance_path) / "mail")


def test_a_delivery_already_on_the_queue_is_stopped_at_send_time(app, demo):
    """The webhook job was enqueued before the withdrawal; when it runs, it sends nothing."""
    with app.test_request_context():
        bpjstk = agency("BPJSTK")
        bpjstk.channel, bpjstk.webhook_url, bpjstk.webhook_secret = (
            "webhook",
            "http://127.0.0.1:9/x",
            "s" * 24,
        )
        client = make_client()
        referral = refer(client, make_programme())
        commit()
        message = db.session.scalar(
            select(OutboxMessage).where(
                OutboxMessage.referral_id == referral.id, OutboxMessage.channel == "webhook"
            )
        )
        message.status = "enqueued"  # the relay put it on the queue
        commit()
        consent.withdraw(db.session.get(Client, client.id), user("officer.id1"), "Phoned in")
        commit()
        sent: list[dict] = []
        original = jobs.channels.post_webhook
        jobs.channels.post_webhook = lambda url, secret, key, payload, timeout: sent.append(payload) or 200  # type: ignore[assignment]
        try:
            assert jobs._deliver(message.id) == "nothing to do"
            run_jobs()
        finally:
            jobs.channels.post_webhook = original  # type: ignore[assignment]
        assert [p["event"] for p in sent] == ["referral.cancelled"]
        assert sent[0]["referral"]["client"] is None
        assert sent[0]["referral"]["cancel_reason"] == "consent_withdrawn"
        db.session.expire_all()
        assert db.session.get(OutboxMessage, message.id).status == "cancelled"


def test_the_webhook_payload_reads_consent_when_it_is_built(app, demo):
    with app.test_request_context():
        client = make_client()
        referral = refer(client, make_programme())
        commit()
        assert messages.webhook_referral(referral)["client"]["full_name"] == "Sri Wahyuni"
        consent.withdraw(client, user("officer.id1"))
        payload = messages.webhook_referral(referral)
        assert payload["client"] is None and payload["note"] is None
        assert svc.shared_client_fields(referral) == []

"""Correction through the normal edit, linked to the request; each agency holding the field is told."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from srs.core.models import AuditEntry
from srs.core.transaction import commit
from srs.extensions import db
from srs.privacy.models import DataSubjectRequest
from srs.referrals import jobs
from srs.referrals.models import OutboxMessage
from srs.registry.models import Client
from tests import factories
from tests.privacy.conftest import new_client
from tests.referrals.agency_server import AgencyServer


def _delivered(app: Any, client_id: int, programme_code: str, agency_code: str, shared: list[str]) -> int:
    with app.test_request_context():
        programme = factories.make_programme(programme_code, agency_code, shared=shared)
        referral = factories.refer(db.session.get(Client, client_id), programme)
        commit()
        for message in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.referral_id == referral.id)
        ):
            assert jobs.deliver(message.id) in ("delivered", "already delivered") or jobs.deliver_many(
                [message.id]
            )
        db.session.commit()
        return referral.id


def _correction(client, headers, client_id):  # type: ignore[no-untyped-def]
    body = {"kind": "correction", "received_via": "in_person", "note": "New phone number"}
    return client.post(f"/api/v1/clients/{client_id}/requests", json=body, headers=headers).get_json()["id"]


def test_a_correction_tells_each_agency_that_received_the_field_through_its_channel(
    app, client, periods, api_token
):
    client_id = new_client(app)
    with AgencyServer() as server:
        with app.app_context():
            bpjstk = factories.agency("BPJSTK")
            bpjstk.channel, bpjstk.webhook_url, bpjstk.webhook_secret = "webhook", server.url, "s3cret"
            db.session.commit()
        with_phone = _delivered(app, client_id, "ID-BPJSTK-BPU", "BPJSTK", ["full_name", "phone"])
        without_phone = _delivered(app, client_id, "ID-KEMENSOS-X", "KEMENSOS", ["full_name"])
        server.requests.clear()
        headers = api_token("officer")
        request_id = _correction(client, headers, client_id)
        version = client.get(f"/api/v1/clients/{client_id}", headers=headers).get_json()["version"]
        response = client.patch(
            f"/api/v1/clients/{client_id}",
            json={"version": version, "phone": "081299998888", "request_id": request_id},
            headers=headers,
        )
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["phone"] == "+6281299998888"  # normalised by the registry
        with app.test_request_context():
            notices = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.event.is_not(None))))
            assert {n.referral_id for n in notices} == {with_phone}  # KEMENSOS never received the phone
            assert {n.channel for n in notices} == {"inbox", "webhook"}
            webhook = next(n for n in notices if n.channel == "webhook")
            assert jobs.deliver(webhook.id) == "delivered"
            request = db.session.get(DataSubjectRequest, request_id)
            assert request.served_by_kind == "client" and request.served_by_id == client_id
            entry = db.session.scalar(
                select(AuditEntry).where(AuditEntry.action == "privacy.request.correct")
            )
            assert entry.details["fields"] == ["phone"] and entry.details["agencies_told"] == [with_phone]
        [sent] = server.requests
        body = json.loads(sent["body"])
        assert body["event"] == "client.corrected"
        assert body["referral_id"] == with_phone and body["fields"] == {"phone": "+6281299998888"}
        assert without_phone != with_phone
    # The export's trail shows the notice's delivery to the agency.
    data = client.get(f"/api/v1/clients/{client_id}/export", headers=headers).get_json()
    assert {"action": "delivery.client.corrected", "recipient": "BPJSTK"}.items() <= next(
        p for p in data["processing"] if p["action"] == "delivery.client.corrected"
    ).items()


def test_a_correction_request_of_another_kind_or_client_is_refused(app, client, periods, api_token):
    client_id = new_client(app)
    other_id = new_client(app, full_name="Another Person")
    headers = api_token("officer")
    access_id = client.post(
        f"/api/v1/clients/{client_id}/requests",
        json={"kind": "access", "received_via": "phone"},
        headers=headers,
    ).get_json()["id"]
    correction_id = _correction(client, headers, other_id)
    version = client.get(f"/api/v1/clients/{client_id}", headers=headers).get_json()["version"]
    for request_id in (access_id, correction_id):
        response = client.patch(
            f"/api/v1/clients/{client_id}",
            json={"version": version, "phone": "0811", "request_id": request_id},
            headers=headers,
        )
        assert response.status_code == 422
        assert "request_id" in response.get_json()["errors"]
    with app.app_context():
        assert db.session.get(Client, client_id).phone == factories.STREET_VENDOR["phone"]  # nothing changed


def test_correcting_through_the_edit_page(app, periods, login_as):
    client_id = new_client(app)
    officer = login_as("officer")
    officer.post(f"/clients/{client_id}/requests", data={"kind": "correction", "received_via": "letter"})
    with app.app_context():
        request_id = db.session.scalar(select(DataSubjectRequest.id))
        version = db.session.get(Client, client_id).version
    page = officer.get(f"/requests/{request_id}/correct")
    assert page.status_code == 200 and 'data-testid="correction-banner"' in page.get_data(as_text=True)
    form = {
        "full_name": "Sri Wahyuningsih",
        "sex": "female",
        "date_of_birth": "1985-04-12",
        "region_code": "35.16.08.2003",
        "id_type": "none",
        "phone": factories.STREET_VENDOR["phone"],
        "address": factories.STREET_VENDOR["address"],
        "monthly_income": "1500000",
        "occupation": "Street vendor",
        "poverty_status": "unknown",
        "consent_given": "y",
        "consent_date": "2026-01-05",
        "consent_scope": "Referrals",
        "version": str(version),
    }
    bad = officer.post(f"/requests/{request_id}/correct", data={**form, "date_of_birth": "not a date"})
    assert bad.status_code == 422
    saved = officer.post(f"/requests/{request_id}/correct", data=form)
    assert saved.status_code == 302, saved.get_data(as_text=True)[:2000]
    with app.app_context():
        assert db.session.get(Client, client_id).full_name == "Sri Wahyuningsih"
        assert db.session.get(DataSubjectRequest, request_id).served_by_kind == "client"
    assert login_as("supervisor").get(f"/requests/{request_id}/correct").status_code == 403


def test_an_e_mail_agency_is_told_which_fields_changed_never_the_values(app, client, periods, api_token):
    client_id = new_client(app)
    with app.app_context():
        kemnaker = factories.agency("KEMNAKER")
        kemnaker.contact_email = "referrals@kemnaker.example"
        db.session.commit()
    referral_id = _delivered(app, client_id, "ID-PRAKERJA-X", "KEMNAKER", ["full_name", "address"])
    headers = api_token("officer")
    request_id = _correction(client, headers, client_id)
    version = client.get(f"/api/v1/clients/{client_id}", headers=headers).get_json()["version"]
    body = {"version": version, "address": "Jl. Baru 7", "request_id": request_id}
    assert client.patch(f"/api/v1/clients/{client_id}", json=body, headers=headers).status_code == 200
    with app.test_request_context():
        [mail] = db.session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.event == "client.corrected", OutboxMessage.channel == "email"
            )
        )
        assert mail.referral_id == referral_id
        assert jobs.deliver(mail.id) == "delivered"
    from srs.referrals.channels import mail_dir

    with app.app_context():
        eml = mail_dir() / f"srs-email-{mail.id}.eml"
        text = eml.read_text(encoding="utf-8")
    assert "Correction to the record" in text and "address" in text
    assert "Jl. Baru 7" not in text

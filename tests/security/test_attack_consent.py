"""Attack: withdraw consent while a webhook delivery to the agency is pending, then run the relay.

Before: the pending delivery went out after the withdrawal with the person's name, phone, address and
birth date. After: the agency's system receives no personal data, only the cancellation notice
(``referral.cancelled``, reason ``consent_withdrawn``, ``client`` null), signed like every delivery.
"""

from __future__ import annotations

import json

from sqlalchemy import select

from srs.core.models import AuditEntry
from srs.core.transaction import commit
from srs.extensions import db
from srs.referrals import channels
from srs.referrals.models import OutboxMessage, Referral
from tests.factories import STREET_VENDOR, agency, make_client, make_programme, refer
from tests.referrals.agency_server import AgencyServer
from tests.referrals.conftest import run_jobs

SECRET = "agency-webhook-secret-0123456789"
PERSONAL = ("Sri Wahyuni", "081234567890", "1985-04-12", "Jl. Majapahit 1", "Street vendor")


def _pending_webhook_referral(app, url: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """A referral whose webhook delivery is saved in the outbox and not yet relayed."""
    with app.test_request_context():
        bpjstk = agency("BPJSTK")
        bpjstk.channel, bpjstk.webhook_url, bpjstk.webhook_secret = "webhook", url, SECRET
        programme = make_programme(shared=["full_name", "phone", "date_of_birth", "address", "occupation"])
        client = make_client(**STREET_VENDOR)
        referral = refer(client, programme)
        ids = client.id, referral.id
        commit()
    return ids


def _withdraw(app, api_token, client_id: int) -> None:  # type: ignore[no-untyped-def]
    http = app.test_client()
    officer = api_token("officer")
    version = http.get(f"/api/v1/clients/{client_id}", headers=officer).get_json()["version"]
    response = http.patch(
        f"/api/v1/clients/{client_id}",
        json={"version": version, "consent": {"given": False, "reason": "The person asked at the office"}},
        headers=officer,
    )
    assert response.status_code == 200, response.get_json()


def _assert_only_the_cancellation(server: AgencyServer, referral_id: int) -> None:
    bodies = [request["body"].decode() for request in server.requests]
    for body in bodies:
        for value in PERSONAL:
            assert value not in body, f"{value!r} reached the agency: {body}"
    events = [json.loads(body) for body in bodies]
    assert [e["event"] for e in events] == ["referral.cancelled"]
    notice = events[0]["referral"]
    assert notice["id"] == referral_id and notice["cancel_reason"] == "consent_withdrawn"
    assert notice["client"] is None
    assert channels.verify(server.requests[0]["body"], SECRET, server.requests[0]["signature"])


def test_withdrawn_while_the_webhook_is_pending_the_agency_gets_only_the_cancellation(app, demo, api_token):
    with AgencyServer() as server:
        client_id, referral_id = _pending_webhook_referral(app, server.url)
        _withdraw(app, api_token, client_id)
        with app.app_context():
            run_jobs()  # the relay, then every delivery it queues
        _assert_only_the_cancellation(server, referral_id)
        with app.app_context():
            statuses = dict(
                db.session.execute(
                    select(OutboxMessage.channel, OutboxMessage.status).where(
                        OutboxMessage.referral_id == referral_id
                    )
                ).all()
            )
            assert statuses == {"inbox": "cancelled", "webhook": "cancelled", "cancellation": "done"}
            referral = db.session.get(Referral, referral_id)
            assert referral.status == "cancelled" and referral.delivered_at is None
            assert (
                db.session.scalar(select(AuditEntry.id).where(AuditEntry.action == "consent.withdraw"))
                is not None
            )
    # The agency's API view of the referral says nothing of the person either.
    staff = app.test_client().get(f"/api/v1/referrals/{referral_id}", headers=api_token("agency_staff"))
    assert staff.status_code == 404  # never delivered: not in the agency's scope at all


def test_withdrawn_after_the_relay_queued_the_webhook_it_still_sends_no_data(app, demo, api_token):
    """The relay has put the delivery on the queue; the withdrawal commits before a worker runs it."""
    with AgencyServer() as server:
        client_id, referral_id = _pending_webhook_referral(app, server.url)
        with app.app_context():
            from srs.referrals.jobs import relay

            assert relay() == 2  # inbox and webhook, now on the queue
        _withdraw(app, api_token, client_id)
        with app.app_context():
            run_jobs()
        _assert_only_the_cancellation(server, referral_id)


def test_withdrawn_after_delivery_the_agency_is_told_and_reads_no_data(app, demo, api_token):
    with AgencyServer() as server:
        client_id, referral_id = _pending_webhook_referral(app, server.url)
        with app.app_context():
            run_jobs()
        assert [json.loads(r["body"])["event"] for r in server.requests] == ["referral.delivered"]
        assert json.loads(server.requests[0]["body"])["referral"]["client"]["full_name"] == "Sri Wahyuni"
        _withdraw(app, api_token, client_id)
        with app.app_context():
            run_jobs()
        notices = [json.loads(r["body"]) for r in server.requests[1:]]
        assert [n["event"] for n in notices] == ["referral.cancelled"]
        assert notices[0]["referral"]["client"] is None
        for value in PERSONAL:
            assert value not in server.requests[1]["body"].decode()
    staff = app.test_client().get(f"/api/v1/referrals/{referral_id}", headers=api_token("agency_staff"))
    body = staff.get_json()
    assert body["client"] is None and body["cancel_reason"] == "consent_withdrawn"
    for value in PERSONAL:
        assert value not in staff.get_data(as_text=True)

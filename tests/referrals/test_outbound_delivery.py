"""The delivery job checks the webhook address again when it sends: stored, rebound or redirected."""

from __future__ import annotations

import socket
from typing import Any

from sqlalchemy import select

from srs.core.transaction import commit
from srs.extensions import db
from srs.referrals.models import Delivery, OutboxMessage
from tests.core.test_outbound import _Server
from tests.factories import agency, refer

from .agency_server import AgencyServer
from .conftest import run_jobs


def _send_to(url: str) -> int:
    """A referral to BPJSTK, whose webhook address is ``url`` (written past the form, as old data)."""
    bpjstk = agency("BPJSTK")
    bpjstk.channel, bpjstk.webhook_url, bpjstk.webhook_secret = "webhook", url, "s" * 24
    referral_id = refer().id
    commit()
    run_jobs()
    return referral_id


def _webhook_message(referral_id: int) -> OutboxMessage:
    db.session.expire_all()
    return db.session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.referral_id == referral_id, OutboxMessage.channel == "webhook"
        )
    )


def test_a_stored_metadata_address_is_refused_at_send_time(app, demo):
    with app.test_request_context():
        referral_id = _send_to("http://169.254.169.254/latest/meta-data/")
        message = _webhook_message(referral_id)
        assert message.status == "pending" and message.attempts == 1  # a failed attempt, retried later
        assert (
            "refused by the outbound guard" in message.last_error and "169.254.169.254" in message.last_error
        )
        assert db.session.scalar(select(Delivery).where(Delivery.outbox_id == message.id)) is None


def test_dns_rebinding_to_a_metadata_address_is_refused_at_send_time(app, demo, monkeypatch):
    """The name answered the agency's server when saved; when the job sends, it answers metadata."""
    with AgencyServer() as server:
        port = server.server.server_address[1]
        real = socket.getaddrinfo
        answer = {"address": "127.0.0.1"}

        def getaddrinfo(host: Any, port_: Any, *args: Any, **kwargs: Any) -> Any:
            if host == "hook.agency.example":
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer["address"], int(port_)))]
            return real(host, port_, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        with app.test_request_context():
            url = f"http://hook.agency.example:{port}/srs-webhook"
            from srs.core import outbound

            outbound.check_url(url)  # fine when the admin saved it
            answer["address"] = "169.254.169.254"
            referral_id = _send_to(url)
            message = _webhook_message(referral_id)
            assert "169.254.169.254" in message.last_error and message.status == "pending"
        assert server.requests == []
        # Once the name answers the agency's server again, the retry goes out.
        answer["address"] = "127.0.0.1"
        with app.test_request_context():
            message = _webhook_message(referral_id)
            message.available_at = message.created_at
            commit()
            from srs.referrals import jobs

            assert jobs.deliver(message.id) == "delivered"
        assert len(server.requests) == 1


def test_a_redirect_is_a_failed_delivery_and_is_not_followed(app, demo):
    target = _Server(200)
    redirector = _Server(302, location=target.url)
    try:
        with app.test_request_context():
            referral_id = _send_to(redirector.url)
            message = _webhook_message(referral_id)
            assert message.status == "pending" and "302" in message.last_error
            assert "redirects are not followed" in message.last_error
            assert db.session.scalar(select(Delivery).where(Delivery.outbox_id == message.id)) is None
        assert redirector.hits == ["POST /hook"]
        assert target.hits == []
    finally:
        target.close()
        redirector.close()

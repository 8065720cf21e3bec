"""A referral is delivered when the agency first has it, whichever channel; its history says so once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select, update

from srs.core import clock
from srs.extensions import db
from srs.referrals import channels, jobs
from srs.referrals.models import Delivery, OutboxMessage, Referral, ReferralEvent
from tests.factories import agency, refer

from .agency_server import AgencyServer
from .conftest import run_jobs


def _webhook_referral(url: str) -> int:
    bpjstk = agency("BPJSTK")
    bpjstk.channel, bpjstk.webhook_url, bpjstk.webhook_secret = "webhook", url, "s3cret"
    referral_id = refer().id
    db.session.commit()  # no relay after commit: each test runs the channels in its own order
    return referral_id


def _outbox(referral_id: int, channel: str) -> OutboxMessage:
    return db.session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.referral_id == referral_id, OutboxMessage.channel == channel
        )
    )


def _story(referral_id: int) -> list[str]:
    stmt = select(ReferralEvent.status).where(ReferralEvent.referral_id == referral_id)
    return list(db.session.scalars(stmt.order_by(ReferralEvent.id)))


def test_the_webhook_reaching_the_agency_first_marks_the_referral_delivered(app, demo, login_as):
    with AgencyServer() as server, app.test_request_context():
        referral_id = _webhook_referral(server.url)
        webhook_id = _outbox(referral_id, "webhook").id
        before = clock.now()
        assert jobs.deliver(webhook_id) == "delivered"  # the inbox job has not run yet
        [request] = server.requests
        referral = db.session.get(Referral, referral_id)
        # What the webhook told the agency is what SRS records, in the same transaction.
        assert referral.status == "delivered" and b'"status":"delivered"' in request["body"]
        assert referral.delivered_at >= before
        delivered_at = referral.delivered_at
        db.session.rollback()
    # Agency staff see it in SRS as soon as their system has it.
    assert login_as("agency_staff").get(f"/referrals/{referral_id}").status_code == 200
    with app.test_request_context():
        assert jobs.relay() == 1  # the inbox row (the webhook row is done)
        run_jobs()  # now the inbox channel: recorded, but the story is not told twice
        assert _outbox(referral_id, "inbox").status == "done"
        assert db.session.scalar(select(func.count(Delivery.id))) == 2
        assert _story(referral_id) == ["pending", "delivered"]
        assert db.session.get(Referral, referral_id).delivered_at == delivered_at


def test_the_inbox_first_then_the_webhook_tells_the_story_once(app, demo):
    with AgencyServer() as server, app.test_request_context():
        referral_id = _webhook_referral(server.url)
        inbox_id, webhook_id = _outbox(referral_id, "inbox").id, _outbox(referral_id, "webhook").id
        assert jobs.deliver_many([inbox_id]) == 1
        delivered_at = db.session.get(Referral, referral_id).delivered_at
        assert jobs.deliver(webhook_id) == "delivered"
        assert len(server.requests) == 1
        assert _story(referral_id) == ["pending", "delivered"]
        assert db.session.get(Referral, referral_id).delivered_at == delivered_at


def test_both_channels_at_the_same_moment_one_delivered_entry_and_one_webhook_call(app, demo, monkeypatch):
    """The inbox marks the referral while the webhook is on the wire: the webhook's recording meets a
    newer version of the referral, records its own delivery alone and does not call the agency again."""
    real_post = channels.post_webhook
    calls: list[str] = []

    def post_while_the_inbox_delivers(*args: Any, **kwargs: Any) -> int:
        calls.append(args[2])
        status = real_post(*args, **kwargs)
        with db.engine.begin() as other:  # another worker, another connection
            other.execute(
                update(Referral)
                .where(Referral.id == referral_id)
                .values(status="delivered", delivered_at=clock.now(), version=Referral.version + 1)
            )
            other.execute(
                insert(ReferralEvent).values(referral_id=referral_id, status="delivered", at=clock.now())
            )
        return status

    with AgencyServer() as server, app.test_request_context():
        referral_id = _webhook_referral(server.url)
        webhook_id = _outbox(referral_id, "webhook").id
        monkeypatch.setattr(channels, "post_webhook", post_while_the_inbox_delivers)
        assert jobs.deliver(webhook_id) == "delivered"
        assert len(calls) == len(server.requests) == 1
        assert _story(referral_id) == ["pending", "delivered"]
        assert _outbox(referral_id, "webhook").status == "done"
        assert db.session.scalar(select(func.count(Delivery.id)).where(Delivery.channel == "webhook")) == 1


def test_an_email_agency_has_it_by_email(app, demo):
    from tests.factories import make_programme

    with app.test_request_context():
        agency("KEMNAKER").contact_email = "referrals@kemnaker.example"
        referral_id = refer(programme=make_programme("ID-PRAKERJA", "KEMNAKER")).id
        db.session.commit()
        assert jobs.deliver(_outbox(referral_id, "email").id) == "delivered"
        assert db.session.get(Referral, referral_id).status == "delivered"
        assert _story(referral_id) == ["pending", "delivered"]

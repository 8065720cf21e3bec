"""Webhook signature, e-mail files and the admin mail page, escalation, timeline and slots."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from srs.core.clock import now as utcnow
from srs.core.slots import render_slot, timeline_for
from srs.core.transaction import commit
from srs.extensions import db
from srs.referrals import channels, jobs
from srs.referrals.models import Delivery, OutboxMessage, Referral
from srs.registry.models import Client
from tests.factories import agency, make_programme, make_screening, refer, user

from .agency_server import AgencyServer
from .conftest import make_client, run_jobs


def test_webhook_is_signed_with_the_agency_secret(app, demo):
    with AgencyServer() as server:
        with app.test_request_context():
            bpjstk = agency("BPJSTK")
            bpjstk.channel, bpjstk.webhook_url, bpjstk.webhook_secret = "webhook", server.url, "s3cret"
            referral_id = refer().id
            commit()
            run_jobs()
        [request] = server.requests
        body = json.loads(request["body"])
        assert body["event"] == "referral.delivered" and body["referral"]["id"] == referral_id
        assert set(body["referral"]["client"]) == {"full_name", "sex", "date_of_birth", "phone"}
        assert request["key"].startswith("srs-webhook-")
        assert channels.verify(request["body"], "s3cret", request["signature"])
        assert not channels.verify(request["body"], "another-secret", request["signature"])
        assert not channels.verify(request["body"] + b" ", "s3cret", request["signature"])


def test_email_agency_gets_an_eml_file_admins_can_read(app, demo, login_as):
    with app.test_request_context():
        kemnaker = agency("KEMNAKER")
        kemnaker.contact_email = "referrals@kemnaker.example"
        referral_id = refer(programme=make_programme("ID-PRAKERJA", "KEMNAKER")).id
        commit()
        run_jobs()
        run_jobs()  # a second run writes nothing new
        assert db.session.scalar(select(func.count(Delivery.id)).where(Delivery.channel == "email")) == 1
    files = list((app.config["MAIL_OUTBOX_DIR"]).glob("srs-email-*.eml"))
    assert len(files) >= 1
    admin = login_as("admin")
    listing = admin.get("/admin/mail").get_data(as_text=True)
    assert f"New referral #{referral_id}" in listing
    name = next(p.name for p in files if f"#{referral_id} " in p.read_text())
    mail = admin.get(f"/admin/mail/{name}").get_data(as_text=True)
    assert "referrals@kemnaker.example" in mail and f"/referrals/{referral_id}" in mail
    assert admin.get("/admin/mail/..%2Fsecret_key").status_code == 404
    assert login_as("officer").get("/admin/mail").status_code == 403


def test_overdue_referral_is_escalated_once_and_shown_to_the_supervisor(app, demo, login_as):
    with app.test_request_context():
        referral_id = refer().id
        commit()
        run_jobs()
        referral = db.session.get(Referral, referral_id)
        referral.due_at = utcnow() - timedelta(hours=1)
        db.session.commit()
        assert jobs.check_deadlines() == 1
        assert jobs.check_deadlines() == 0  # once only
        run_jobs()
        referral = db.session.get(Referral, referral_id)
        assert referral.escalated_at is not None
        message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.channel == "escalation"))
        assert message.status == "done"
    mails = [p.read_text() for p in app.config["MAIL_OUTBOX_DIR"].glob("srs-escalation-*.eml")]
    mail = next(m for m in mails if f"Overdue referral #{referral_id}" in m)
    assert "supervisor.id@example.org" in mail and "agency.bpjstk@example.org" in mail
    supervisor = login_as("supervisor")
    home = supervisor.get("/").get_data(as_text=True)
    assert 'data-testid="overdue-count">1<' in home and f"Referral #{referral_id}" in home
    assert f">{referral_id}</a>" in supervisor.get("/referrals/overdue").get_data(as_text=True)
    assert "Overdue" in login_as("officer").get(f"/referrals/{referral_id}").get_data(as_text=True)


def test_timeline_and_slots_show_referrals(app, demo, login_as):
    officer = login_as("officer")  # noqa: F841  (signed in so current_user in slots is the officer)
    with app.test_request_context():
        from flask_login import login_user

        login_user(user("officer.id1"))
        client = make_client()
        programme = make_programme()
        other = make_programme("ID-PBI", "BPJSKES")
        screening = make_screening(client, {programme: "needs_information", other: "eligible"})
        referral_id = refer(client, programme).id
        client_id, screening_id = client.id, screening.id
        commit()
        run_jobs()
        login_user(user("officer.id1"))  # the jobs ended the session the first login lived in
        client = db.session.get(Client, client_id)
        items = [i for i in timeline_for(client) if i.kind == "referral"]
        assert [i.title for i in items][:2] == [
            "Referral to Programme ID-BPJSTK-BPU: Delivered",
            "Referral to Programme ID-BPJSTK-BPU: Pending",
        ]
        screening = db.session.get(type(screening), screening_id)
        html = str(render_slot("screening_result", client=client, screening=screening))
        assert html.index("Programme ID-PBI") < html.index("Programme ID-BPJSTK-BPU")  # eligible first
        assert "Already referred" in html
        panel = str(render_slot("client_profile", client=client))
        assert f">{referral_id}</a>" in panel


def test_admin_sees_queues_failed_jobs_and_backlog_and_requeues(app, demo, login_as):
    from rq.registry import FailedJobRegistry

    from srs.core.queue import get_queue

    with app.test_request_context():
        refer()
        commit()  # one referral waiting in the outbox (the relay job is queued, not run)
        job = get_queue().enqueue(jobs.deliver_many, None)  # fails: no list of ids
        from rq import SimpleWorker
        from rq.serializers import JSONSerializer

        from srs.core.redis import get_redis

        worker = SimpleWorker([get_queue()], connection=get_redis(), serializer=JSONSerializer)
        get_queue().empty()
        get_queue().enqueue_job(job)
        worker.work(burst=True)
        assert job.id in FailedJobRegistry(queue=get_queue()).get_job_ids()
    admin = login_as("admin")
    page = admin.get("/admin/queues").get_data(as_text=True)
    assert job.id in page and "pending: 1" in page
    assert admin.post(f"/admin/queues/failed/{job.id}/requeue").status_code == 302
    with app.app_context():
        assert job.id in get_queue().get_job_ids()
    assert admin.post("/admin/queues/failed/nope/requeue").status_code == 404


def test_notices_are_written_in_each_readers_language(app, demo):
    from srs.accounts.models import User

    # Earlier tests leave mails behind, and record ids start again at 1 in each test.
    for old in app.config["MAIL_OUTBOX_DIR"].glob("*.eml"):
        old.unlink()
    with app.test_request_context():
        for username, locale in (("agency.bpjstk", "id"), ("supervisor.id", "vi")):
            db.session.scalar(select(User).where(User.username == username)).locale = locale
        referral_id = refer().id
        commit()
        run_jobs()
        referral = db.session.get(Referral, referral_id)
        referral.due_at = utcnow() - timedelta(hours=1)
        db.session.commit()
        assert jobs.check_deadlines() == 1
        run_jobs()
    import email
    from email import policy

    parsed = [
        email.message_from_bytes(p.read_bytes(), policy=policy.default)
        for p in app.config["MAIL_OUTBOX_DIR"].glob("srs-escalation-*.eml")
    ]
    mine = [m for m in parsed if f"#{referral_id} " in m["Subject"]]
    to_staff = next(m for m in mine if "agency.bpjstk@example.org" in m["To"])
    to_supervisor = next(m for m in mine if "supervisor.id@example.org" in m["To"])
    assert "supervisor.id@example.org" not in to_staff["To"]  # one message per language
    assert "rujukan" in (to_staff["Subject"] + to_staff.get_content()).lower()
    assert "chuyển gửi" in (to_supervisor["Subject"] + to_supervisor.get_content()).lower()

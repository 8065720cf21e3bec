"""Background jobs: the outbox relay, the reconciler, delivery and the deadline check.

The outbox in the database is the truth; Redis only carries work. The relay puts due outbox rows on
the queue (noting on each row the job that carries it), the reconciler puts back rows whose job Redis
lost at once and rows nobody finished after the stuck cutoff, and delivery records each message in a
``Delivery`` row whose unique idempotency key makes a second run (a duplicated job, a job RQ wrongly
thought abandoned, a worker killed after the agency got the request) a no-op. The first channel that
reaches the agency (its SRS inbox, its webhook or its e-mail) marks the referral delivered, in the
same transaction as that channel's own success.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import force_locale
from redis.exceptions import RedisError
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from srs.agencies.models import Agency
from srs.core import audit, clock
from srs.core.queue import enqueue_after_commit, get_queue, job
from srs.core.redis import get_redis
from srs.core.transaction import changed_rows
from srs.extensions import db
from srs.programmes.models import Programme
from srs.referrals import channels, messages, notices
from srs.referrals import services as svc
from srs.referrals.models import Delivery, OutboxMessage, Referral

log = logging.getLogger(__name__)

# Channels by which the agency has the referral: the first to succeed marks it delivered.
AGENCY_CHANNELS = ("inbox", "webhook", "email")
# Outcomes of a delivery job that are not worth a log line (another job did, or does, the work).
QUIET_OUTCOMES = ("nothing to do", "taken by another worker")
# A job in one of these states will never deliver the row that is still waiting for it.
ENDED_JOB_STATES = frozenset(
    status.value for status in (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)
)


def idempotency_key(message: OutboxMessage) -> str:
    """The same delivery always carries the same key, across retries and workers."""
    return f"srs-{message.channel}-{message.id}"


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff: base, 2*base, 4*base ... capped at an hour."""
    base = float(current_app.config["REFERRAL_RETRY_BASE_SECONDS"])
    return min(base * (2 ** max(attempts - 1, 0)), 3600.0)


# ---------------------------------------------------------------- relay


@job(summary=lambda count, *_a, **_k: f"relay: {count} outbox row(s) queued" if count else None)
def relay(limit: int = 500) -> int:
    """Put due pending outbox rows on the queue; returns how many.

    On PostgreSQL several relays may run at once (FOR UPDATE SKIP LOCKED hands each row to one);
    SQLite has no SKIP LOCKED, so a Redis lock keeps it to a single relay there.
    """
    postgres = db.engine.dialect.name == "postgresql"
    redis = get_redis()
    lock = None
    if not postgres:
        lock = redis.lock("srs:referrals:relay", timeout=60, blocking_timeout=5)
        if not lock.acquire():
            return 0
    total = 0
    try:
        queue = get_queue()
        timeout = job_timeout()
        while True:
            now = clock.now()
            stmt = (
                select(OutboxMessage)
                .where(OutboxMessage.status == "pending", OutboxMessage.available_at <= now)
                .order_by(OutboxMessage.available_at, OutboxMessage.id)
                .limit(limit)
            )
            if postgres:
                stmt = stmt.with_for_update(skip_locked=True)
            rows = list(db.session.scalars(stmt))
            if not rows:
                db.session.rollback()
                break
            for row in rows:
                row.status = "enqueued"
                row.enqueued_at = now
            datas = _delivery_jobs(queue, rows, timeout)
            db.session.flush()
            try:
                queue.enqueue_many(datas)
            except RedisError:
                db.session.rollback()  # rows stay pending for the next relay
                raise
            # A job may start before this commit; it accepts a row still marked pending.
            db.session.commit()
            total += len(rows)
            if len(rows) < limit:
                break
    finally:
        if lock is not None:
            try:
                lock.release()
            except RedisError:
                log.warning("could not release the relay lock; it expires by itself")
    return total


def job_timeout() -> int:
    """Seconds a delivery job may run; RQ stops a job past it (the work horse enforces it itself)."""
    return int(float(current_app.config["REFERRAL_WEBHOOK_TIMEOUT_SECONDS"]) * 2 + 60)


def _delivery_jobs(queue: Any, rows: list[OutboxMessage], timeout: int) -> list[Any]:
    """Inbox messages go in batches (pure database work); outside channels one job each.

    Each row notes the id of the job that carries it, so the reconciler can tell a row whose job
    Redis lost from one that is merely waiting its turn.
    """
    batch = max(1, int(current_app.config["REFERRAL_INBOX_BATCH"]))
    inbox = [row for row in rows if row.channel == "inbox"]
    datas = []
    for i in range(0, len(inbox), batch):
        chunk = inbox[i : i + batch]
        job_id = str(uuid.uuid4())
        for row in chunk:
            row.job_id = job_id
        datas.append(
            queue.prepare_data(
                deliver_many, args=([row.id for row in chunk],), timeout=timeout, result_ttl=60, job_id=job_id
            )
        )
    for row in rows:
        if row.channel != "inbox":
            row.job_id = str(uuid.uuid4())
            datas.append(
                queue.prepare_data(deliver, args=(row.id,), timeout=timeout, result_ttl=60, job_id=row.job_id)
            )
    return datas


# ---------------------------------------------------------------- reconciler


@job(summary=lambda count: None)  # what it put back has its own warning line
def reconcile(limit: int = 10_000) -> int:
    """Put back outbox rows whose queue job is lost, and rows stuck past the cutoff; returns how many.

    A row 'enqueued' whose job Redis no longer holds (Redis restarted empty, a job lost) or whose job
    ended without delivering it will never be delivered by that job: it goes back at once (a row
    'sending' once no work horse can still hold it, see ``_put_back_lost``). Rows still
    'enqueued' or 'sending' after the stuck cutoff (``SRS_REFERRAL_STUCK_SECONDS``) go back too;
    that cutoff stays long because a row may be merely slow (a long queue, an agency answering
    slowly). RQ notices a job whose worker was killed only on its own maintenance pass (every 10
    minutes by default), so the reconciler runs the started-job registry cleanup itself first.
    """
    for name in current_app.config["QUEUE_NAMES"]:
        try:
            queue = get_queue(name)
            StartedJobRegistry(queue=queue).cleanup()
        except RedisError:
            log.warning("Redis not answering; started-job cleanup skipped")
    now = clock.now()
    lost = _put_back_lost(now, limit)
    stuck_seconds = float(current_app.config["REFERRAL_STUCK_SECONDS"])
    stuck = changed_rows(
        update(OutboxMessage)
        .where(
            OutboxMessage.status.in_(("enqueued", "sending")),
            OutboxMessage.enqueued_at < now - timedelta(seconds=stuck_seconds),
        )
        .values(status="pending", available_at=now)
    )
    if lost or stuck:
        log.warning(
            "reconciler put back %d outbox row(s) whose queue job was lost and %d stuck past %g s",
            lost,
            stuck,
            stuck_seconds,
        )
        enqueue_after_commit(relay, result_ttl=60, unless_waiting=True)
    return lost + stuck


def _put_back_lost(now: Any, limit: int) -> int:
    """Rows whose job Redis lost or that ended: back to 'pending' now.

    A row 'enqueued' waits for its job to start. A row 'sending' was claimed by a job; it goes back
    only once that job is lost or ended and claimed longer ago than a job may run, when no work
    horse can still be sending it (a second send would carry the same key anyway).
    """
    orphan = or_(
        OutboxMessage.status == "enqueued",
        and_(
            OutboxMessage.status == "sending",
            OutboxMessage.enqueued_at < now - timedelta(seconds=job_timeout() + 30),
        ),
    )
    job_ids: list[str] = list(
        db.session.scalars(
            select(OutboxMessage.job_id)
            .where(orphan, OutboxMessage.job_id.is_not(None))
            .distinct()
            .limit(limit)
        )
    )
    if not job_ids:
        return 0
    try:
        lost = lost_jobs(job_ids)
    except RedisError:
        log.warning("Redis not answering; lost jobs are looked for on the next pass")
        return 0
    if not lost:
        return 0
    return changed_rows(
        update(OutboxMessage)
        # Only rows still waiting for that very job: one the job delivered meanwhile is left alone.
        .where(orphan, OutboxMessage.job_id.in_(lost))
        .values(status="pending", available_at=now, job_id=None)
        .execution_options(synchronize_session=False)
    )


def lost_jobs(job_ids: list[str]) -> list[str]:
    """Of ``job_ids``, those Redis no longer holds or that have ended (one round trip)."""
    pipe = get_redis().pipeline(transaction=False)
    for job_id in job_ids:
        pipe.hget(Job.key_for(job_id), "status")
    statuses = pipe.execute()
    return [
        job_id
        for job_id, status in zip(job_ids, statuses, strict=True)
        if status is None or (status.decode() if isinstance(status, bytes) else status) in ENDED_JOB_STATES
    ]


# ---------------------------------------------------------------- delivery


def _delivery_line(outcome: str, outbox_id: int) -> str | None:
    return None if outcome in QUIET_OUTCOMES else f"outbox {outbox_id}: {outcome}"


# One job per message: its line goes to the log file; the relay's line says what went out.
@job(summary=_delivery_line, console=False)
def deliver(outbox_id: int) -> str:
    """Deliver one outbox message exactly once; returns what happened (for logs and tests)."""
    for _attempt in range(3):
        try:
            return _deliver(outbox_id)
        except StaleDataError:
            # Someone acted on the referral at the same moment: reload and decide again.
            db.session.rollback()
    raise RuntimeError(f"outbox {outbox_id}: referral kept changing during delivery")


def _claim(message_id: int) -> bool:
    now = clock.now()
    claimed = changed_rows(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.status.in_(("pending", "enqueued")),
            OutboxMessage.available_at <= now,
        )
        .values(status="sending", attempts=OutboxMessage.attempts + 1, enqueued_at=now)
        .execution_options(synchronize_session=False)
    )
    return claimed == 1


def _deliver(outbox_id: int) -> str:
    inbox = _deliver_inbox(outbox_id)
    if inbox is not None:
        return inbox
    message = db.session.get(OutboxMessage, outbox_id)
    if message is None or message.status not in ("pending", "enqueued", "sending"):
        return "nothing to do"
    if message.channel == "inbox":
        return "taken by another worker"
    key = idempotency_key(message)
    if db.session.scalar(select(Delivery.id).where(Delivery.idempotency_key == key)) is not None:
        message.status = "done"
        db.session.commit()
        return "already delivered"
    if not _claim(message.id):
        db.session.rollback()
        return "taken by another worker"
    db.session.refresh(message)
    referral = db.session.get_one(Referral, message.referral_id)
    # A notice about the client still goes to an agency that received the data before the cancel.
    if referral.status == "cancelled" and message.channel in AGENCY_CHANNELS and not message.event:
        message.status = "cancelled"
        db.session.commit()
        return "cancelled"
    # The claim is committed before the outside call so another worker leaves the row alone; a
    # worker killed from here on leaves the row 'sending' for the reconciler to put back.
    db.session.commit()
    # Checked again at send time, after the claim's commit: a cancellation (a withdrawn consent) that
    # committed meanwhile stops the delivery, and the payload below reads the consent as it is now.
    db.session.refresh(referral)
    if referral.status == "cancelled" and message.channel in AGENCY_CHANNELS:
        _cancel_message(outbox_id)
        return "cancelled"
    try:
        response_status = _send_outside(message, referral)
    except channels.DeliveryError as exc:
        _record_failure(outbox_id, str(exc))
        return "failed attempt"
    return _record_sent(outbox_id, message.referral_id, message.channel, key, response_status)


def _cancel_message(outbox_id: int) -> None:
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id)
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def _record_sent(
    outbox_id: int, referral_id: int, channel: str, key: str, response_status: int | None
) -> str:
    """Record a message the agency has; the first channel to reach it marks the referral delivered.

    The Delivery row, the outbox row's 'done' and the referral's 'delivered' are one transaction.
    When another channel marks the referral at the same moment (a version conflict), only this
    recording is retried: the message went out once and is not sent again.
    """
    for _attempt in range(3):
        now = clock.now()
        try:
            db.session.add(
                Delivery(
                    outbox_id=outbox_id,
                    idempotency_key=key,
                    channel=channel,
                    delivered_at=now,
                    response_status=response_status,
                )
            )
            db.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == outbox_id)
                .values(status="done", done_at=now, last_error=None)
                .execution_options(synchronize_session=False)
            )
            if channel in AGENCY_CHANNELS:
                svc.mark_delivered(db.session.get_one(Referral, referral_id), now)
            db.session.commit()
        except IntegrityError:
            # Another run (a duplicate job, a horse that outlived its killed worker) recorded it first.
            db.session.rollback()
            return "already delivered"
        except StaleDataError:
            db.session.rollback()  # the inbox (or another channel) marked it first: record ours alone
            continue
        return "delivered"
    raise RuntimeError(f"outbox {outbox_id}: referral kept changing while its delivery was recorded")


def _apply_inbox(outbox_id: int, now: Any) -> str | None:
    """Claim an inbox message and record its delivery in the current transaction (no commit).

    None when it is not an inbox message ready to go (the general path then decides). The claim
    moves the row to 'done' in the same transaction as the Delivery row and the status change, so
    a second run finds nothing to claim.
    """
    referral_id = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == outbox_id,
            OutboxMessage.channel == "inbox",
            OutboxMessage.status.in_(("pending", "enqueued")),
            OutboxMessage.available_at <= now,
        )
        .values(
            status="done", attempts=OutboxMessage.attempts + 1, enqueued_at=now, done_at=now, last_error=None
        )
        .returning(OutboxMessage.referral_id)
        .execution_options(synchronize_session=False)
    ).scalar()
    if referral_id is None:
        return None
    referral = db.session.get_one(Referral, referral_id)
    db.session.add(
        Delivery(
            outbox_id=outbox_id, idempotency_key=f"srs-inbox-{outbox_id}", channel="inbox", delivered_at=now
        )
    )
    if referral.status == "pending":
        svc.mark_delivered(referral, now)
        return "delivered"
    return referral.status


def _deliver_inbox(outbox_id: int) -> str | None:
    """The in-SRS channel: claim, record and show in the agency's inbox in one transaction."""
    outcome = _apply_inbox(outbox_id, clock.now())
    if outcome is None:
        db.session.rollback()
        return None
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return "already delivered"
    return outcome


@job(summary=lambda count, *_a, **_k: f"inbox: {count} referral(s) delivered" if count else None)
def deliver_many(outbox_ids: list[int]) -> int:
    """Deliver a batch of inbox messages in one transaction; returns how many were delivered.

    A handful of statements and one commit for the whole batch save most of the per-delivery cost.
    Each message keeps its own idempotency (the claim moves it to 'done' in the same transaction as
    its unique Delivery row); if anything in the batch goes wrong, the batch is rolled back and each
    message is delivered on its own.
    """
    now = clock.now()
    try:
        claimed = db.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(outbox_ids),
                OutboxMessage.channel == "inbox",
                OutboxMessage.status.in_(("pending", "enqueued")),
                OutboxMessage.available_at <= now,
            )
            .values(
                status="done",
                attempts=OutboxMessage.attempts + 1,
                enqueued_at=now,
                done_at=now,
                last_error=None,
            )
            .returning(OutboxMessage.id, OutboxMessage.referral_id)
            .execution_options(synchronize_session=False)
        ).all()
        referrals = {
            r.id: r
            for r in db.session.scalars(select(Referral).where(Referral.id.in_({row[1] for row in claimed})))
        }
        delivered = 0
        for outbox_id, referral_id in claimed:
            db.session.add(
                Delivery(
                    outbox_id=outbox_id,
                    idempotency_key=f"srs-inbox-{outbox_id}",
                    channel="inbox",
                    delivered_at=now,
                )
            )
            if svc.mark_delivered(referrals[referral_id], now):
                delivered += 1
        db.session.commit()
    except (IntegrityError, StaleDataError):
        db.session.rollback()
        return sum(deliver(outbox_id) == "delivered" for outbox_id in outbox_ids)
    done = {row[0] for row in claimed}
    for outbox_id in outbox_ids:
        if outbox_id not in done:
            # Not an inbox message ready to go: the general path decides (usually: nothing to do).
            deliver(outbox_id)
    return delivered


def _record_failure(message_id: int, error: str) -> None:
    db.session.rollback()
    message = db.session.get(OutboxMessage, message_id)
    if message is None:  # deleted while the call was out: nothing left to retry
        return
    message.last_error = error[:500]
    maximum = int(current_app.config["REFERRAL_MAX_ATTEMPTS"])
    if message.attempts >= maximum:
        message.status = "failed"
        log.warning(
            "referral #%d: %s delivery failed after %d attempts (%s); an officer may retry it",
            message.referral_id,
            message.channel,
            message.attempts,
            message.last_error,
        )
        # A flag, not a status change: no version bump, so it never collides with a decision.
        db.session.execute(
            update(Referral).where(Referral.id == message.referral_id).values(delivery_failed=True)
        )
        audit.record("referral.delivery_failed", "referral", message.referral_id, channel=message.channel)
    else:
        message.status = "pending"
        message.available_at = clock.now() + timedelta(seconds=backoff_seconds(message.attempts))
    db.session.commit()


def _send_outside(message: OutboxMessage, referral: Referral) -> int | None:
    agency = db.session.get_one(Agency, referral.agency_id)
    key = idempotency_key(message)
    if message.channel == "cancellation":
        return _send_cancellation(agency, referral, key)
    if message.channel == "webhook":
        if not agency.webhook_url:
            raise channels.DeliveryError("the agency has no webhook URL")
        if message.event:
            payload = {"event": message.event, **(message.payload or {})}
        else:
            payload = {"event": "referral.delivered", "referral": messages.webhook_referral(referral)}
        timeout = float(current_app.config["REFERRAL_WEBHOOK_TIMEOUT_SECONDS"])
        return channels.post_webhook(agency.webhook_url, agency.webhook_secret or "", key, payload, timeout)
    if message.channel in ("email", "escalation"):
        recipients = messages.agency_recipients(agency)
        if message.channel == "escalation":
            recipients += messages.supervisor_recipients(referral)
        if not recipients:
            raise channels.DeliveryError("nobody to send the e-mail to")
        programme = db.session.get_one(Programme, referral.programme_id)
        groups = messages.by_language(recipients)
        for locale, addresses in groups.items():
            # Each person reads the notice in the language they chose in SRS.
            with force_locale(locale):
                if message.event:
                    subject, text = notices.mail_text(message, referral)
                else:
                    subject, text = messages.mail_text(message.channel, referral, programme, agency)
            mail_key = key if len(groups) == 1 else f"{key}-{locale}"
            channels.send_mail(addresses, subject, text, mail_key)
        return None
    raise channels.DeliveryError(f"unknown channel {message.channel}")


def _send_cancellation(agency: Agency, referral: Referral, key: str) -> int | None:
    """Tell the agency, through its own channel, that a referral is cancelled (no personal data)."""
    if agency.channel == "webhook" and agency.webhook_url:
        payload = {"event": "referral.cancelled", "referral": messages.cancelled_referral(referral)}
        timeout = float(current_app.config["REFERRAL_WEBHOOK_TIMEOUT_SECONDS"])
        return channels.post_webhook(agency.webhook_url, agency.webhook_secret or "", key, payload, timeout)
    if agency.channel == "email":
        recipients = messages.agency_recipients(agency)
        if not recipients:
            raise channels.DeliveryError("nobody to send the e-mail to")
        programme = db.session.get_one(Programme, referral.programme_id)
        groups = messages.by_language(recipients)
        for locale, addresses in groups.items():
            with force_locale(locale):
                subject, text = messages.mail_text("cancellation", referral, programme, agency)
            channels.send_mail(addresses, subject, text, key if len(groups) == 1 else f"{key}-{locale}")
        return None
    return None  # the agency works in the SRS inbox only, which shows the referral cancelled


# ---------------------------------------------------------------- deadlines


@job(summary=lambda count: f"deadlines: {count} overdue referral(s) escalated" if count else None)
def check_deadlines() -> int:
    """Escalate each overdue referral once: stamp escalated_at and notify agency and supervisors."""
    now = clock.now()
    candidates = list(db.session.scalars(svc.escalation_due(now).limit(500)))
    escalated = 0
    for referral in candidates:
        stamped = changed_rows(
            update(Referral)
            .where(Referral.id == referral.id, Referral.escalated_at.is_(None))
            .values(escalated_at=now)
            .execution_options(synchronize_session=False)
        )
        if stamped == 1:
            db.session.add(OutboxMessage(referral_id=referral.id, channel="escalation", available_at=now))
            audit.record("referral.escalate", "referral", referral.id, due_at=referral.due_at.isoformat())
            escalated += 1
    if escalated:
        enqueue_after_commit(relay, result_ttl=60, unless_waiting=True)
    return escalated

"""DCI background jobs: deliver callbacks and notifications from the outbox, and turn changes into events.

The outbox row is the truth; Redis only carries work. A callback keeps its ``message_id`` across
every attempt, is signed afresh at each attempt (a signature lives 300 seconds, a retry may come
later), is claimed by one worker at a time, and is retried with backoff until it is taken or has
failed too often. An async search is run once, by the first attempt, and its answer kept in the row
until it is delivered; then the row forgets it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from flask import current_app
from flask_babel import force_locale
from redis.exceptions import RedisError
from sqlalchemy import delete, exists, select, update
from sqlalchemy.exc import IntegrityError

from srs.core import audit, clock
from srs.core.queue import get_queue, job, job_name
from srs.core.redis import get_redis
from srs.core.transaction import changed_rows
from srs.dci import envelope as env
from srs.dci import services as svc
from srs.dci import transport
from srs.dci.models import DciChange, DciOutbox, DciPartner, DciSubscription, DciTransaction
from srs.dci.query import QueryError, base_condition, compile_query
from srs.dci.records import group_record, load_clients, load_households, member_record
from srs.extensions import db
from srs.registry.models import Client

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff: base, 2*base, 4*base ... capped at an hour."""
    base = float(svc.setting("RETRY_BASE_SECONDS", 30.0))
    return min(base * (2 ** max(attempts - 1, 0)), 3600.0)


def enqueue_delivery(outbox_id: int) -> None:
    """Put one delivery on the queue now (after the commit that wrote its row)."""
    try:
        get_queue().enqueue(job_name(deliver), outbox_id, job_timeout=120, result_ttl=60)
    except RedisError:
        log.warning("Redis not answering; the DCI relay will send outbox row %s", outbox_id)


# ---------------------------------------------------------------- relay and reconciler


@job(summary=lambda count, *_a, **_k: f"dci relay: {count} outbox row(s) queued" if count else None)
def relay(limit: int = 500) -> int:
    """Put due pending outbox rows on the queue; returns how many (SKIP LOCKED on PostgreSQL)."""
    postgres = db.engine.dialect.name == "postgresql"
    lock = None
    if not postgres:
        lock = get_redis().lock("srs:dci:relay", timeout=60, blocking_timeout=5)
        if not lock.acquire():
            return 0
    try:
        now = clock.now()
        stmt = (
            select(DciOutbox)
            .where(DciOutbox.status == "pending", DciOutbox.available_at <= now)
            .order_by(DciOutbox.available_at, DciOutbox.id)
            .limit(limit)
        )
        if postgres:
            stmt = stmt.with_for_update(skip_locked=True)
        rows = list(db.session.scalars(stmt))
        if not rows:
            db.session.rollback()
            return 0
        for row in rows:
            row.status = "enqueued"
            row.enqueued_at = now
        db.session.flush()
        queue = get_queue()
        try:
            queue.enqueue_many(
                [
                    queue.prepare_data(job_name(deliver), args=(row.id,), timeout=120, result_ttl=60)
                    for row in rows
                ]
            )
        except RedisError:
            db.session.rollback()
            raise
        db.session.commit()
        return len(rows)
    finally:
        if lock is not None:
            try:
                lock.release()
            except RedisError:
                log.warning("could not release the DCI relay lock; it expires by itself")


@job(summary=lambda count, *_a, **_k: f"dci reconcile: {count} row(s) put back" if count else None)
def reconcile() -> int:
    """Put back outbox rows stuck 'enqueued' or 'sending' (a worker died) past the deadline."""
    now = clock.now()
    cutoff = now - timedelta(seconds=float(svc.setting("STUCK_SECONDS", 300.0)))
    put_back = changed_rows(
        update(DciOutbox)
        .where(DciOutbox.status.in_(("enqueued", "sending")), DciOutbox.enqueued_at < cutoff)
        .values(status="pending", available_at=now)
    )
    db.session.commit()
    return put_back


# ---------------------------------------------------------------- delivery


def _claim(outbox_id: int) -> bool:
    now = clock.now()
    claimed = changed_rows(
        update(DciOutbox)
        .where(
            DciOutbox.id == outbox_id,
            DciOutbox.status.in_(("pending", "enqueued")),
            DciOutbox.available_at <= now,
        )
        .values(status="sending", attempts=DciOutbox.attempts + 1, enqueued_at=now)
        .execution_options(synchronize_session=False)
    )
    return claimed == 1


def build_search_callback(row: DciOutbox) -> None:
    """Run the async search of ``row``'s transaction once and keep its answer in the row."""
    tx = db.session.get_one(DciTransaction, row.transaction_row_id)
    partner = db.session.get_one(DciPartner, row.partner_id)
    response: dict[str, Any]
    if tx.request is None:
        # Built before by an attempt that then died before keeping it: nothing left to run.
        response, status = (
            {"transaction_id": tx.transaction_id, "correlation_id": tx.correlation_id, "search_response": []},
            "rjct",
        )
    else:
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            response, status = svc.run_search(partner, tx, tx.request)
    count = len(response["search_response"])
    row.header = env.response_header(
        "on-search",
        partner.sender_id,
        "succ" if status == "succ" else "rjct",
        count,
        count,
        message_id=row.message_id,
    )
    row.message = response
    tx.request = None  # the question may name a person; the answer is in the row until delivered


@job(console=False)
def deliver(outbox_id: int) -> str:
    """Send one callback or notification; returns what happened (for logs and tests)."""
    row = db.session.get(DciOutbox, outbox_id)
    if row is None or row.status not in ("pending", "enqueued", "sending"):
        return "nothing to do"
    if not _claim(outbox_id):
        db.session.rollback()
        return "taken by another worker"
    db.session.refresh(row)
    if row.message is None and row.action == "on-search":
        build_search_callback(row)
    # The claim (and a built answer) is committed before the call, so another worker leaves the row
    # alone; a worker killed from here leaves it 'sending' for the reconciler to put back.
    db.session.commit()
    # Every row is queued with its header except an async search's, built just above.
    assert row.header is not None
    payload = env.envelope(row.header, row.message)
    timeout = float(svc.setting("CALLBACK_TIMEOUT_SECONDS", 10.0))
    try:
        status = transport.post_json(row.url, payload, timeout)
    except transport.CallbackError as exc:
        _record_failure(outbox_id, str(exc))
        return "failed attempt"
    now = clock.now()
    db.session.execute(
        update(DciOutbox)
        .where(DciOutbox.id == outbox_id, DciOutbox.status == "sending")
        .values(
            status="done", done_at=now, response_status=status, last_error=None, header=None, message=None
        )
        .execution_options(synchronize_session=False)
    )
    if row.transaction_row_id:
        tx = db.session.get(DciTransaction, row.transaction_row_id)
        if tx is not None and tx.status in ("rcvd", "pdng"):
            tx.status = "succ"
    db.session.commit()
    return "delivered"


def _record_failure(outbox_id: int, error: str) -> None:
    db.session.rollback()
    row = db.session.get(DciOutbox, outbox_id)
    if row is None:  # deleted while the call was out: nothing left to retry
        return
    row.last_error = error[:500]
    if row.attempts >= int(svc.setting("MAX_ATTEMPTS", 6)):
        row.status = "failed"
        row.header = row.message = None
        # callback_action, not action: that name is audit.record's own (the entry's action).
        audit.record(
            "dci.callback_failed",
            "dci_partner",
            row.partner_id,
            callback_action=row.action,
            error=row.last_error,
        )
    else:
        row.status = "pending"
        row.available_at = clock.now() + timedelta(seconds=backoff_seconds(row.attempts))
    db.session.commit()


# ---------------------------------------------------------------- changes to notifications


@job(summary=lambda count: f"dci changes: {count} dispatched change(s) pruned" if count else None)
def prune_changes() -> int:
    """Delete registry changes dispatched more than ``DCI_CHANGES_KEEP_DAYS`` ago; returns how many.

    A dispatched change is only needed while its notifications may still be retried (one outbox row
    per subscription, kept unique by ``change_id``); once none of them is pending, the change is
    history the outbox rows already carry. Their ``change_id`` is cleared first, so the delivery
    record stays whatever the database does with foreign keys.
    """
    cutoff = clock.now() - timedelta(days=float(svc.setting("CHANGES_KEEP_DAYS", 30)))
    unsent = exists().where(
        DciOutbox.change_id == DciChange.id, DciOutbox.status.in_(("pending", "enqueued", "sending"))
    )
    old = select(DciChange.id).where(
        DciChange.dispatched_at.is_not(None), DciChange.dispatched_at < cutoff, ~unsent
    )
    ids = list(db.session.scalars(old.limit(5000)))
    if not ids:
        db.session.rollback()
        return 0
    db.session.execute(
        update(DciOutbox).where(DciOutbox.change_id.in_(ids)).values(change_id=None),
        execution_options={"synchronize_session": False},
    )
    db.session.execute(
        delete(DciChange).where(DciChange.id.in_(ids)), execution_options={"synchronize_session": False}
    )
    db.session.commit()
    return len(ids)


def _matches(sub: DciSubscription, partner: DciPartner, client_id: int, kind: str) -> bool:
    """Does the change concern this subscription: its filter, consent, and its time window."""
    try:
        compiled = compile_query(
            sub.filter_type, sub.filter, partner.id_types, partner.attributes, "rjct.filter.invalid"
        )
    except QueryError:
        return False  # the profile narrowed since: a filter it may no longer use matches nothing
    condition = compiled.condition
    if kind != "DELETE":
        condition = base_condition() & condition
    else:
        # A record merged away is news only if the partner could have seen it (it had consent); a
        # withdrawn consent is news to anyone who could see it before.
        condition = condition & ((Client.merged_into_id.is_(None)) | Client.consent_given.is_(True))
    return db.session.scalar(select(exists().where(Client.id == client_id, condition))) or False


def _in_window(sub: DciSubscription, at: Any) -> bool:
    if not sub.frequency:
        return True
    start = env.parse_timestamp(sub.frequency.get("start_time"))
    end = env.parse_timestamp(sub.frequency.get("end_time"))
    return (start is None or at >= start) and (end is None or at <= end)


def _notify_record(
    sub: DciSubscription, partner: DciPartner, client: Client, kind: str
) -> tuple[Any, list[int]]:
    fields = set(partner.record_fields)
    if kind == "DELETE":
        # The record is gone for the partner: only the identifiers it already held.
        record = member_record(client, {"identifiers"} & fields)
        record.pop("demographic_info", None)
        return record, []
    if sub.notify_record_type == "Group":
        households = load_households([client.household_id]) if client.household_id else []
        if not households:
            return None, []
        return group_record(households[0], fields)
    return member_record(client, fields), [client.id]


@job(summary=lambda count, *_a, **_k: f"dci changes: {count} notification(s) queued" if count else None)
def dispatch_changes(limit: int = 500) -> int:
    """Match pending registry changes with the subscriptions; queue one notify per match. Returns how many."""
    postgres = db.engine.dialect.name == "postgresql"
    lock = None
    if not postgres:
        lock = get_redis().lock("srs:dci:dispatch", timeout=120, blocking_timeout=5)
        if not lock.acquire():
            return 0
    queued: list[int] = []
    try:
        stmt = select(DciChange).where(DciChange.dispatched_at.is_(None)).order_by(DciChange.id).limit(limit)
        if postgres:
            stmt = stmt.with_for_update(skip_locked=True)
        changes = list(db.session.scalars(stmt))
        if not changes:
            db.session.rollback()
            return 0
        subs = list(db.session.scalars(select(DciSubscription).where(DciSubscription.status == "subscribe")))
        partners = {p.id: p for p in db.session.scalars(select(DciPartner))}
        clients = {c.id: c for c in load_clients({ch.client_id for ch in changes})}
        now = clock.now()
        for change in changes:
            change.dispatched_at = now
            client = clients.get(change.client_id)
            if client is None:
                continue
            for sub in subs:
                partner = partners.get(sub.partner_id)
                if partner is None or not partner.user.active or sub.reg_event_type != change.event:
                    continue
                if not _in_window(sub, change.at) or not _matches(sub, partner, client.id, change.event):
                    continue
                record, shared = _notify_record(sub, partner, client, change.event)
                if record is None:
                    continue
                row = _notify_row(sub, partner, change, record)
                if row is None:
                    continue
                assert row.message is not None  # _notify_row builds the message with the row
                svc._audit_shared(partner, shared, row.message["transaction_id"], sub.code, "notify")
                queued.append(row.id)
        db.session.commit()
    finally:
        if lock is not None:
            try:
                lock.release()
            except RedisError:
                log.warning("could not release the DCI dispatch lock; it expires by itself")
    for outbox_id in queued:
        enqueue_delivery(outbox_id)
    return len(queued)


def _notify_row(
    sub: DciSubscription, partner: DciPartner, change: DciChange, record: Any
) -> DciOutbox | None:
    """A notify message for one change and one subscription; None when it was queued before."""
    already = db.session.scalar(
        select(DciOutbox.id).where(DciOutbox.change_id == change.id, DciOutbox.subscription_id == sub.id)
    )
    if already is not None:
        return None
    data: dict[str, Any] = {
        "version": env.VERSION,
        "reg_type": sub.reg_type or svc.REG_TYPE,
        "reg_record_type": sub.notify_record_type,
        "reg_records": record,
    }
    # The spec's notify enum knows REGISTER and NewHouseHoldMember only; a LINK (a person joining a
    # household) is the latter, and every event travels in event_type beside it.
    spec_event = {"REGISTER": "REGISTER", "LINK": "NewHouseHoldMember"}.get(change.event)
    if spec_event:
        data["reg_event_type"] = spec_event
    event: dict[str, Any] = {
        "reference_id": f"{sub.code}-{change.id}",
        "timestamp": env.timestamp(change.at),
        "event_type": change.event,
        "subscription_code": sub.code,
        "data": data,
    }
    if sub.locale:
        event["locale"] = sub.locale
    message = {"transaction_id": f"{sub.code}-{change.id}"[:99], "notify_event": [event]}
    header = env.response_header("notify", partner.sender_id, "succ", 1, 1)
    header["meta"] = {"subscription_code": sub.code, "event_type": change.event}
    savepoint = db.session.begin_nested()
    try:
        row = svc.queue_callback(
            partner, "notify", sub.sender_uri, None, header, message, subscription=sub, change_id=change.id
        )
        savepoint.commit()
    except IntegrityError:
        savepoint.rollback()  # another dispatcher queued it first
        return None
    return row


# ---------------------------------------------------------------- SRS as a registry client


@job(summary=lambda count, *_a, **_k: f"national registry: {count} new client(s) checked" if count else None)
def check_new_registrations(limit: int = 50, within_hours: int = 24) -> int:
    """Check newly registered clients against their country's Social Registry; returns how many.

    "At registration" without slowing a registration down: the check runs here, seconds later,
    for clients registered in the last ``within_hours`` with a NIK or Vietnamese ID and no check
    yet. A registry that is down leaves a failed check (the officer retries from the profile); it
    is not retried here, so a registry outage costs one call per new client, not one per tick.
    """
    from srs.dci import lookup
    from srs.dci.models import NationalRegistry, RegistryCheck
    from srs.regions.models import Region

    countries = list(
        db.session.scalars(
            select(NationalRegistry.country)
            .where(NationalRegistry.kind == "social", NationalRegistry.active.is_(True))
            .distinct()
        )
    )
    if not countries:
        return 0
    since = clock.now() - timedelta(hours=within_hours)
    unchecked = ~exists().where(RegistryCheck.client_id == Client.id)
    clients = list(
        db.session.scalars(
            select(Client)
            .join(Region, Region.id == Client.region_id)
            .where(
                Client.created_at >= since,
                Client.merged_into_id.is_(None),
                Client.id_type.in_(("nik", "vn_pid")),
                Client.id_number.is_not(None),
                Region.country.in_(countries),
                unchecked,
            )
            .order_by(Client.id)
            .limit(limit)
        )
    )
    for client in clients:
        lookup.start_check(client, None)
        db.session.commit()  # each answer kept as it comes: a slow registry holds no lock on the rest
    return len(clients)

"""What the referral pages, home sections, slots and timeline read (read-only; views stay thin).

Each query takes records already loaded in the reader's scope, or the reader, and scopes by them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from srs.accounts.models import User
from srs.extensions import db
from srs.programmes.models import Programme, Screening
from srs.referrals import overdue as overdue_measures
from srs.referrals import policies
from srs.referrals import services as svc
from srs.referrals.models import OutboxMessage, Referral, ReferralEvent
from srs.registry.models import Client

# What an outbox row is while it still waits to go out.
WAITING = ("pending", "enqueued", "sending")


def programme_options(client: Client, screening: Screening | None, locale: str) -> list[dict[str, Any]]:
    """Programmes to refer to, eligible first (pre-checked), with the screening's outcome."""
    open_ids = set(
        db.session.scalars(
            select(Referral.programme_id).where(
                Referral.client_id == client.id, Referral.status.in_(("pending", "delivered", "accepted"))
            )
        )
    )
    options: list[dict[str, Any]] = []
    if screening is not None:
        for result in screening.results:
            programme = result.programme
            if programme.active:
                options.append({"programme": programme, "outcome": result.outcome})
    else:
        stmt = select(Programme).where(Programme.active.is_(True), Programme.country == client.region.country)
        options = [{"programme": p, "outcome": None} for p in db.session.scalars(stmt)]
    rank = {"eligible": 0, "needs_information": 1, None: 2, "not_eligible": 3}
    for option in options:
        option["open"] = option["programme"].id in open_ids
        option["name"] = option["programme"].name_in(locale)
        option["checked"] = option["outcome"] == "eligible" and not option["open"]
    return sorted(options, key=lambda o: (rank.get(o["outcome"], 2), o["name"]))


def programme_choices(user: User) -> list[Programme]:
    """The programmes a list may be filtered by: an agency's own, or all of them."""
    stmt = select(Programme)
    if policies.works_for_agency(user):
        stmt = stmt.where(Programme.agency_id == user.agency_id)
    return list(db.session.scalars(stmt.order_by(Programme.code)))


def rows(referrals: Iterable[Referral], user: User | None = None) -> list[dict[str, Any]]:
    """List rows: each referral with its programme, client and overdue kind (two queries in all).

    For agency staff (``user``), a client whose consent does not (or no longer) cover the agency is
    withheld: no name on the row.
    """
    referrals = list(referrals)
    programmes = {
        p.id: p
        for p in db.session.scalars(
            select(Programme).where(Programme.id.in_({r.programme_id for r in referrals}))
        )
    }
    # Agency staff lists show the client's name only; the referral page shows the shared fields.
    clients = {
        c.id: c
        for c in db.session.scalars(select(Client).where(Client.id.in_({r.client_id for r in referrals})))
    }
    agency = user is not None and policies.works_for_agency(user)
    states = svc.consent_states(referrals) if agency else {}
    result = []
    for r in referrals:
        withheld = agency and not svc.shares_client_data(r, states[r.client_id])
        result.append(
            {
                "referral": r,
                "programme": programmes.get(r.programme_id),
                "client": None if withheld else clients.get(r.client_id),
                "withheld": withheld,
                "overdue": svc.overdue_kind(r),
            }
        )
    return result


def client_rows(client: Client, user: User) -> list[dict[str, Any]]:
    """The client's referrals ``user`` may see, newest first, as list rows."""
    stmt = select(Referral).where(Referral.client_id == client.id, svc.scope_condition(user))
    return rows(db.session.scalars(stmt.order_by(Referral.created_at.desc())), user)


def client_of(referral: Referral) -> Client:
    """The referral's client (a foreign key: always there)."""
    return db.session.get_one(Client, referral.client_id)


def failed_messages(referral: Referral) -> list[OutboxMessage]:
    """The referral's deliveries that failed (shown to the referring side with a retry button)."""
    stmt = select(OutboxMessage).where(
        OutboxMessage.referral_id == referral.id, OutboxMessage.status == "failed"
    )
    return list(db.session.scalars(stmt))


def outbox_backlog() -> dict[str, int]:
    """How many outbox rows there are in each status."""
    stmt = select(OutboxMessage.status, func.count(OutboxMessage.id)).group_by(OutboxMessage.status)
    return {status: count for status, count in db.session.execute(stmt).all()}


def problem_messages(limit: int = 50) -> list[OutboxMessage]:
    """The newest outbox rows that failed or still wait (the admin's queue page)."""
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.status.in_(("failed", "pending")))
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def delivery_health() -> dict[str, int]:
    """The admin's home figures: referrals whose delivery failed, outbox rows still waiting."""
    failed = db.session.scalar(select(func.count(Referral.id)).where(Referral.delivery_failed.is_(True)))
    backlog = db.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.status.in_(WAITING)))
    return {"failed": failed or 0, "backlog": backlog or 0}


def latest_delivered(user: User, limit: int = 5) -> list[Referral]:
    """The newest referrals delivered to ``user``'s agency."""
    return list(db.session.scalars(svc.list_query(user, "delivered").limit(limit)))


def timeline_events(client: Client) -> tuple[list[Any], dict[int, str]]:
    """The client's referral events (event, referral, programme), oldest first, and who acted."""
    events = db.session.execute(
        select(ReferralEvent, Referral, Programme)
        .join(Referral, Referral.id == ReferralEvent.referral_id)
        .join(Programme, Programme.id == Referral.programme_id)
        .where(Referral.client_id == client.id)
        .order_by(ReferralEvent.id)
    ).all()
    by_ids = {e.by_id for e, _r, _p in events if e.by_id}
    users = {u.id: u.username for u in db.session.scalars(select(User).where(User.id.in_(by_ids)))}
    return list(events), users


def escalations(client: Client) -> list[Any]:
    """The client's referrals that were escalated as overdue, with their programmes."""
    stmt = (
        select(Referral, Programme)
        .join(Programme, Programme.id == Referral.programme_id)
        .where(Referral.client_id == client.id, Referral.escalated_at.is_not(None))
    )
    return list(db.session.execute(stmt).all())


def attention_for(user: User, limit: int = 20) -> list[Referral]:
    """The officer's own referrals (created by them) that need attention."""
    stmt = (
        select(Referral)
        .where(svc.scope_condition(user), Referral.created_by_id == user.id, svc.attention_condition())
        .order_by(Referral.created_at.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def overdue_counts(user: User, now: datetime | None = None) -> dict[str, int]:
    """Overdue referrals in ``user``'s scope per measure (``overdue.KINDS``), from one grouped count."""
    rows = db.session.execute(
        select(Referral.status, func.count())
        .where(svc.scope_condition(user), overdue_measures.referral_condition(now=now))
        .group_by(Referral.status)
    )
    return overdue_measures.by_kind((status, n) for status, n in rows)


def inbox_counts(user: User) -> dict[str, Any]:
    """Counts for an agency's inbox: what waits for a decision, what is accepted, what is overdue
    (``overdue``: the total; ``overdue_by_kind``: per measure)."""
    base = select(func.count(Referral.id)).where(svc.scope_condition(user))
    by_kind = overdue_counts(user)
    return {
        "new": db.session.scalar(base.where(Referral.status == "delivered")) or 0,
        "accepted": db.session.scalar(base.where(Referral.status == "accepted")) or 0,
        "overdue": sum(by_kind.values()),
        "overdue_by_kind": by_kind,
    }


def escalated_for(user: User, limit: int = 50) -> list[Referral]:
    """Escalated referrals still waiting on the agency's decision, in the supervisor's regions."""
    stmt = (
        select(Referral)
        .where(
            svc.scope_condition(user),
            Referral.escalated_at.is_not(None),
            overdue_measures.referral_condition(overdue_measures.AWAITING_DECISION),
        )
        .order_by(Referral.due_at)
        .limit(limit)
    )
    return list(db.session.scalars(stmt))

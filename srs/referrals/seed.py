"""Demo referrals (seed order 50): referrals of screened demo clients in every state, some overdue.

Each consenting client in a region that a demo officer or supervisor covers is referred to the
programmes their latest screening found them eligible for (clients never screened: to the first
programme of their country). One eligible client in four is left unreferred, so the coverage gap
shows. Creation dates are spread over the last six months and decisions follow a fixed pattern, so
the dashboard, the agency inboxes and the overdue list all have something real to show.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from srs.accounts.models import User
from srs.core import clock
from srs.core.workdays import due_date, end_of_day
from srs.extensions import db
from srs.programmes.models import Programme, Screening
from srs.referrals import services as svc
from srs.referrals.jobs import idempotency_key
from srs.referrals.models import Delivery, OutboxMessage, Referral
from srs.registry.models import Client

# What happens to the n-th referral (repeating): left pending for the worker, delivered (open),
# accepted, declined, completed successfully or not.
PATTERN = ["delivered", "accepted", "completed", "declined", "delivered", "completed_unsuccessful", "pending"]


def _referrer(client: Client, users: list[User]) -> User | None:
    for user in users:
        if any(client.region.path.startswith(r.path) for r in user.regions):
            return user
    return None


def _targets(client: Client, programmes: list[Programme]) -> list[int]:
    screening = db.session.scalar(
        select(Screening)
        .where(Screening.client_id == client.id)
        .order_by(Screening.screened_at.desc())
        .limit(1)
    )
    if screening is not None:
        return [r.programme_id for r in screening.results if r.outcome == "eligible"]
    first = next((p for p in programmes if p.country == client.region.country), None)
    return [first.id] if first else []


def _deliver(referral: Referral, when: Any) -> None:
    for message in db.session.scalars(select(OutboxMessage).where(OutboxMessage.referral_id == referral.id)):
        message.status = "done"
        message.done_at = when
        db.session.flush()
        db.session.add(
            Delivery(outbox_id=message.id, idempotency_key=idempotency_key(message), channel=message.channel)
        )
    svc.mark_delivered(referral, now=when)


def seed_referrals(password: str) -> list[str]:
    """Idempotent: does nothing once any referral exists, or while clients or programmes are missing."""
    if db.session.scalar(select(func.count(Referral.id))):
        return ["Referrals: already present"]
    referrers = list(
        db.session.scalars(
            select(User).where(User.role == "officer", User.active.is_(True)).order_by(User.id)
        )
    ) + list(db.session.scalars(select(User).where(User.role == "supervisor").order_by(User.id)))
    staff_by_agency = {
        u.agency_id: u
        for u in db.session.scalars(select(User).where(User.role == "agency_staff").order_by(User.id))
    }
    clients = list(
        db.session.scalars(
            select(Client)
            .where(Client.consent_given.is_(True), Client.merged_into_id.is_(None))
            .order_by(Client.id)
            .limit(220)
        )
    )
    programmes = list(
        db.session.scalars(select(Programme).where(Programme.active.is_(True)).order_by(Programme.code))
    )
    if not referrers or not clients or not programmes:
        return ["Referrals: skipped (no demo clients or programmes yet)"]
    now = clock.now()
    timezone = current_app.config["BABEL_DEFAULT_TIMEZONE"]
    created = overdue = 0
    for index, client in enumerate(clients):
        user = _referrer(client, referrers)
        targets = _targets(client, programmes)
        if user is None or not targets or index % 4 == 3:
            continue
        referrals = svc.create_referrals(
            svc.NewReferrals(
                client=client, programme_ids=targets, note="Demo referral", consent_confirmed=True
            ),
            user,
        )
        for referral in referrals:
            fate = PATTERN[created % len(PATTERN)]
            created += 1
            # Spread creation over six months; the newest pending ones stay for the worker to deliver.
            age_days = 0 if fate == "pending" else 3 + (created * 11) % 180
            # Never before the client was registered and screened (the seed backdates both).
            when = min(max(now - timedelta(days=age_days), client.created_at + timedelta(hours=2)), now)
            referral.created_at = when
            agency = db.session.get_one(Programme, referral.programme_id).agency
            referral.due_at = end_of_day(
                due_date(agency.country, clock.local_date(when), agency.response_days), timezone
            )
            for event in referral.events:
                event.at = when
            if fate == "pending":
                continue
            # Delivered an hour later and decided days later, but never after now (no future times).
            _deliver(referral, min(when + timedelta(hours=1), now))
            staff = staff_by_agency.get(agency.id)
            if fate == "delivered" or staff is None:
                overdue += int(referral.due_at < now)
                continue
            if fate == "declined":
                svc.apply_action(
                    referral,
                    svc.Action("decline", reason="documents_missing", note="KTP copy missing"),
                    staff,
                )
            else:
                svc.apply_action(referral, svc.Action("accept", note="Registration started"), staff)
                if fate.startswith("completed"):
                    outcome = "unsuccessful" if fate.endswith("unsuccessful") else "successful"
                    svc.apply_action(
                        referral, svc.Action("complete", outcome=outcome, note="Demo outcome"), staff
                    )
            decided = min(when + timedelta(days=1 + created % 9), now)
            referral.decided_at = decided
            if referral.closed_at is not None:
                referral.closed_at = decided
            for event in referral.events:
                if event.status not in ("pending", "delivered"):
                    event.at = decided
        db.session.flush()
    return [f"Referrals: {created} demo referrals ({overdue} overdue, waiting for their agencies)"]

"""Demo referrals (seed order 50): a few in various states for the demo clients, when there are any."""

from __future__ import annotations

from sqlalchemy import func, select

from srs.accounts.models import User
from srs.extensions import db
from srs.programmes.models import Programme
from srs.referrals import services as svc
from srs.referrals.jobs import idempotency_key
from srs.referrals.models import Delivery, OutboxMessage, Referral
from srs.registry.models import Client


def seed_referrals(password: str) -> list[str]:
    """Idempotent: does nothing once any referral exists, or while clients or programmes are missing."""
    if db.session.scalar(select(func.count(Referral.id))):
        return ["Referrals: already present"]
    officer = db.session.scalar(select(User).where(User.username == "officer.id1"))
    staff = db.session.scalar(select(User).where(User.username == "agency.bpjstk"))
    clients = list(
        db.session.scalars(select(Client).where(Client.consent_given.is_(True)).order_by(Client.id).limit(40))
    )
    programmes = list(
        db.session.scalars(select(Programme).where(Programme.active.is_(True)).order_by(Programme.code))
    )
    if officer is None or not clients or not programmes:
        return ["Referrals: skipped (no demo clients or programmes yet)"]
    plan = ["delivered", "accepted", "declined", "completed", "pending", "delivered"]
    created = 0
    for client in clients:
        if created >= len(plan):
            break
        country = client.region.country
        programme = next((p for p in programmes if p.country == country), None)
        if programme is None or not officer.regions:
            continue
        if not any(client.region.path.startswith(r.path) for r in officer.regions):
            continue
        target = plan[created]
        [referral] = svc.create_referrals(
            svc.NewReferrals(
                client=client,
                programme_ids=[programme.id],
                note="Demo referral",
                consent_confirmed=True,
            ),
            officer,
        )
        if target != "pending":
            for message in db.session.scalars(
                select(OutboxMessage).where(OutboxMessage.referral_id == referral.id)
            ):
                message.status = "done"
                db.session.flush()
                db.session.add(
                    Delivery(
                        outbox_id=message.id,
                        idempotency_key=idempotency_key(message),
                        channel=message.channel,
                    )
                )
            svc.mark_delivered(referral)
            db.session.flush()
        actor = staff if staff is not None and staff.agency_id == referral.agency_id else None
        if actor is not None and target in ("accepted", "declined", "completed"):
            if target == "declined":
                svc.apply_action(
                    referral,
                    svc.Action("decline", reason="documents_missing", note="KTP copy missing"),
                    actor,
                )
            else:
                svc.apply_action(referral, svc.Action("accept", note="Registration started"), actor)
            if target == "completed":
                svc.apply_action(
                    referral, svc.Action("complete", outcome="successful", note="Enrolled"), actor
                )
        created += 1
    db.session.flush()
    return [f"Referrals: {created} demo referrals"]

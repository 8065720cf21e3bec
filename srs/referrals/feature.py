"""What the referrals add to the app: pages, navigation, home sections, slots, timeline, jobs, seed."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from srs.accounts.models import User
from srs.core.wiring import (
    AdminLink,
    Feature,
    HomeSection,
    NavEntry,
    PeriodicJob,
    SeedStep,
    Slot,
    TimelineItem,
)
from srs.extensions import db
from srs.referrals import jobs, overdue, seed, services, views


def _referral_timeline(client: Any) -> list[TimelineItem]:
    from srs.programmes.models import Programme
    from srs.referrals import services as svc
    from srs.referrals.models import Referral, ReferralEvent

    rows = db.session.execute(
        select(ReferralEvent, Referral, Programme)
        .join(Referral, Referral.id == ReferralEvent.referral_id)
        .join(Programme, Programme.id == Referral.programme_id)
        .where(Referral.client_id == client.id)
        .order_by(ReferralEvent.id)
    ).all()
    users = {
        u.id: u.username
        for u in db.session.scalars(
            select(User).where(User.id.in_({e.by_id for e, _r, _p in rows if e.by_id}))
        )
    }
    items = []
    for event, referral, programme in rows:
        items.append(
            TimelineItem(
                at=event.at,
                kind="referral",
                title=_(
                    "Referral to %(programme)s: %(status)s",
                    programme=programme.name_in("en"),
                    status=svc.STATUS_LABELS[event.status],
                ),
                detail=event.note,
                by=users.get(event.by_id) if event.by_id else None,
                url=url_for("referrals.detail", referral_id=referral.id),
            )
        )
    for referral, programme in db.session.execute(
        select(Referral, Programme)
        .join(Programme, Programme.id == Referral.programme_id)
        .where(Referral.client_id == client.id, Referral.escalated_at.is_not(None))
    ).all():
        if referral.escalated_at is None:  # never: the query asks for escalated referrals only
            continue
        items.append(
            TimelineItem(
                at=referral.escalated_at,
                kind="referral",
                title=_("Referral to %(programme)s is overdue; escalated", programme=programme.name_in("en")),
                url=url_for("referrals.detail", referral_id=referral.id),
            )
        )
    return items


def _agency_home(user: User) -> dict[str, Any]:
    from srs.referrals import services as svc

    latest = list(db.session.scalars(svc.list_query(user, "delivered").limit(5)))
    return {"counts": svc.inbox_counts(user), "latest": latest}


def _officer_home(user: User) -> dict[str, Any]:
    from srs.referrals import services as svc
    from srs.referrals.views import _rows

    return {"rows": _rows(svc.attention_for(user)), "overdue_by_kind": svc.overdue_counts(user)}


def _supervisor_home(user: User) -> dict[str, Any]:
    from srs.referrals import services as svc

    by_kind = svc.overdue_counts(user)
    return {
        "escalated": svc.escalated_for(user, limit=10),
        "overdue_count": sum(by_kind.values()),
        "overdue_by_kind": by_kind,
    }


def _admin_home(user: User) -> dict[str, Any]:
    from srs.referrals.models import OutboxMessage, Referral

    return {
        "failed": db.session.scalar(select(func.count(Referral.id)).where(Referral.delivery_failed.is_(True)))
        or 0,
        "backlog": db.session.scalar(
            select(func.count(OutboxMessage.id)).where(
                OutboxMessage.status.in_(("pending", "enqueued", "sending"))
            )
        )
        or 0,
    }


class ReferralUI:
    """Helpers for the slot templates rendered on other features' pages."""

    @staticmethod
    def options(client: Any, screening: Any) -> list[dict[str, Any]]:
        from srs.referrals.views import programme_options

        return programme_options(client, screening)

    @staticmethod
    def form(client: Any, screening: Any) -> Any:
        from srs.referrals.forms import CreateReferralsForm

        return CreateReferralsForm(
            formdata=None, data={"client_id": client.id, "screening_id": getattr(screening, "id", "")}
        )

    @staticmethod
    def for_client(client: Any) -> list[dict[str, Any]]:
        from srs.referrals import services as svc
        from srs.referrals.models import Referral
        from srs.referrals.views import _rows

        stmt = select(Referral).where(Referral.client_id == client.id, svc.scope_condition(current_user))
        return _rows(list(db.session.scalars(stmt.order_by(Referral.created_at.desc()))))

    @staticmethod
    def can_refer() -> bool:
        return current_user.is_authenticated and current_user.role in ("officer", "supervisor")


FEATURE = Feature(
    name="referrals",
    blueprints=(views.bp, views.admin_bp),
    nav=(
        NavEntry("referrals.inbox", _l("Inbox"), {"agency_staff"}, order=10),
        NavEntry("referrals.index", _l("Referrals"), {"officer", "supervisor", "admin"}, order=40),
        NavEntry("referrals.overdue", _l("Overdue"), {"supervisor"}, order=41),
    ),
    admin_links=(
        AdminLink("referrals_admin.queues", _l("Queues and delivery outbox"), order=60),
        AdminLink("referrals_admin.mail_list", _l("Mail written by SRS"), order=61),
    ),
    home_sections=(
        HomeSection({"agency_staff"}, "referrals/_home_agency.html", _agency_home, order=5),
        HomeSection({"officer"}, "referrals/_home_officer.html", _officer_home, order=20),
        HomeSection({"supervisor"}, "referrals/_home_supervisor.html", _supervisor_home, order=5),
        HomeSection({"admin"}, "referrals/_home_admin.html", _admin_home, order=30),
    ),
    slots=(
        Slot("screening_result", "referrals/_slot_screening.html", order=50),
        Slot("client_profile", "referrals/_slot_client.html", order=50),
    ),
    timeline_sources=(_referral_timeline,),
    periodic_jobs=(
        PeriodicJob(jobs.relay, every="REFERRAL_RELAY_SECONDS"),
        PeriodicJob(jobs.reconcile, every="REFERRAL_RECONCILE_SECONDS"),
        PeriodicJob(jobs.check_deadlines, every="REFERRAL_DEADLINE_SECONDS"),
    ),
    seed_steps=(SeedStep(50, seed.seed_referrals),),
    template_globals={
        "referral_ui": ReferralUI(),
        "referral_status_labels": services.STATUS_LABELS,
        "referral_decline_reasons": services.DECLINE_REASONS,
        "referral_outcomes": services.OUTCOMES,
        "referral_overdue_labels": overdue.LABELS,
        "referral_overdue_badges": overdue.BADGES,
        "referral_overdue_phrases": overdue.PHRASES,
    },
)

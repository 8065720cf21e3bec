"""What the referrals add to the app: pages, navigation, home sections, slots, timeline, jobs, seed."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from srs.accounts.models import User
from srs.core.wiring import (
    AdminLink,
    Feature,
    HomeSection,
    Hook,
    NavEntry,
    PeriodicJob,
    SeedStep,
    Slot,
    TimelineItem,
)
from srs.referrals import jobs, overdue, policies, queries, seed, services, views
from srs.registry.consent import CONSENT_WITHDRAWN


def _referral_timeline(client: Any) -> list[TimelineItem]:
    events, users = queries.timeline_events(client)
    items = []
    for event, referral, programme in events:
        items.append(
            TimelineItem(
                at=event.at,
                kind="referral",
                title=_(
                    "Referral to %(programme)s: %(status)s",
                    programme=programme.name_in("en"),
                    status=services.STATUS_LABELS[event.status],
                ),
                detail=event.note,
                by=users.get(event.by_id) if event.by_id else None,
                url=url_for("referrals.detail", referral_id=referral.id),
            )
        )
    for referral, programme in queries.escalations(client):
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
    return {"counts": queries.inbox_counts(user), "latest": queries.latest_delivered(user, 5)}


def _officer_home(user: User) -> dict[str, Any]:
    return {
        "rows": queries.rows(queries.attention_for(user), user),
        "overdue_by_kind": queries.overdue_counts(user),
    }


def _supervisor_home(user: User) -> dict[str, Any]:
    by_kind = queries.overdue_counts(user)
    return {
        "escalated": queries.escalated_for(user, limit=10),
        "overdue_count": sum(by_kind.values()),
        "overdue_by_kind": by_kind,
    }


def _admin_home(user: User) -> dict[str, Any]:
    return queries.delivery_health()


class ReferralUI:
    """Helpers for the slot templates rendered on other features' pages."""

    @staticmethod
    def options(client: Any, screening: Any) -> list[dict[str, Any]]:
        return queries.programme_options(client, screening, str(get_locale()))

    @staticmethod
    def form(client: Any, screening: Any) -> Any:
        from srs.referrals.forms import CreateReferralsForm

        return CreateReferralsForm(
            formdata=None, data={"client_id": client.id, "screening_id": getattr(screening, "id", "")}
        )

    @staticmethod
    def for_client(client: Any) -> list[dict[str, Any]]:
        return queries.client_rows(client, current_user)

    @staticmethod
    def can_refer() -> bool:
        return policies.can_refer(current_user)


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
    policies=(
        policies.can_refer,
        policies.can_override_consent,
        policies.can_decide_referral,
        policies.can_cancel_referral,
        policies.can_see_delivery_failures,
        policies.can_take_action,
    ),
    # A withdrawn consent cancels the client's open referrals and tells each agency (registry/consent.py).
    hooks=(Hook(CONSENT_WITHDRAWN, services.on_consent_withdrawn),),
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

"""What privacy adds to the app: the request ledger, exports, pages, home sections, jobs, seed.

Each module of the package adds its pieces to the tuples below, one entry a line, so that work on
erasure, restriction, retention, breaches and records of processing merges without conflicts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint
from flask_babel import lazy_gettext as _l

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
from srs.privacy import jobs, ops_wiring, policies, views
from srs.privacy import requests as ledger
from srs.privacy.legal import seed_legal_periods


def _seed(_password: str) -> list[str]:
    return [f"Legal periods for data-subject requests added: {seed_legal_periods()}"]


BLUEPRINTS: tuple[Blueprint, ...] = (
    views.bp,  # requests, exports, correction
)
NAV: tuple[NavEntry, ...] = (
    NavEntry("privacy.list_requests", _l("Data requests"), {"officer", "supervisor", "admin"}, order=47),
)
HOME_SECTIONS: tuple[HomeSection, ...] = (
    HomeSection({"officer"}, "privacy/_home_officer.html", views.home_officer, order=35),
    HomeSection({"supervisor"}, "privacy/_home_supervisor.html", views.home_supervisor, order=22),
)
ADMIN_LINKS: tuple[AdminLink, ...] = ()
SLOTS: tuple[Slot, ...] = (Slot("client_profile", "privacy/_profile_panel.html", order=70),)
TIMELINE_SOURCES: tuple[Callable[[Any], list[TimelineItem]], ...] = (views.request_timeline,)
PERIODIC_JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob(jobs.escalate_overdue_requests, jobs.ESCALATION_EVERY_SECONDS),
)
TEMPLATE_GLOBALS: dict[str, Any] = {
    "privacy_panel": views.profile_panel,
    "privacy_kinds": ledger.KIND_LABELS,
    "privacy_overdue": ledger.is_overdue,
}
SEED_STEPS: tuple[SeedStep, ...] = (
    SeedStep(8, _seed),  # the legal periods (after regions and agencies, before anything that uses them)
)

FEATURE = Feature(
    name="privacy",
    blueprints=BLUEPRINTS + ops_wiring.BLUEPRINTS,
    nav=NAV + ops_wiring.NAV,
    home_sections=HOME_SECTIONS,
    admin_links=ADMIN_LINKS + ops_wiring.ADMIN_LINKS,
    slots=SLOTS + ops_wiring.SLOTS,
    timeline_sources=TIMELINE_SOURCES,
    periodic_jobs=PERIODIC_JOBS + ops_wiring.PERIODIC_JOBS,
    seed_steps=SEED_STEPS,
    template_globals={**TEMPLATE_GLOBALS, **ops_wiring.TEMPLATE_GLOBALS},
    policies=(
        policies.can_read_requests,
        policies.can_serve_requests,
        policies.can_review_screenings,
        policies.may_review_own_referral,
        policies.can_set_legal_hold,
    ),
)

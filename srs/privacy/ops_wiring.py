"""What erasure, restriction, objection, retention, breaches and the records of processing add to the
privacy feature (srs/privacy/feature.py adds these to its own tuples)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from srs.core.wiring import AdminLink, NavEntry, PeriodicJob, Slot
from srs.privacy import retention, rights_views

BLUEPRINTS: tuple[Blueprint, ...] = (rights_views.bp,)
NAV: tuple[NavEntry, ...] = (
    NavEntry("privacy_ops.records_page", _l("Records of processing"), {"supervisor", "admin"}, order=80),
)
ADMIN_LINKS: tuple[AdminLink, ...] = (
    AdminLink("privacy_ops.retention_page", _l("Retention"), order=70),
    AdminLink("privacy_ops.breaches_page", _l("Data breaches"), order=71),
)
SLOTS: tuple[Slot, ...] = (
    Slot("client_profile", "privacy/_ops_panel.html", order=60),
    Slot("referral_detail", "privacy/_referral_reviews.html", order=60),
)
PERIODIC_JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob(retention.run_retention, every="RETENTION_JOB_SECONDS"),
)
TEMPLATE_GLOBALS: dict[str, Any] = {
    "privacy_ops_panel": rights_views.privacy_panel,
    "referral_reviews": rights_views.referral_reviews,
}

"""What core adds to the app: the health check, the audit log and its sealer, the setup page, the
idempotency purge."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from srs.core import idempotency, jobs, views
from srs.core.actor import Actor
from srs.core.home import admin_links
from srs.core.wiring import AdminLink, Feature, HomeSection, NavEntry, PeriodicJob


def _admin_setup(user: Actor) -> dict[str, Any]:
    return {"links": admin_links()}


FEATURE = Feature(
    name="core",
    blueprints=(views.bp,),
    nav=(
        NavEntry("core.admin_index", _l("Setup"), {"admin"}, order=90),
        NavEntry("core.audit_log", _l("Audit log"), {"admin"}, order=95),
    ),
    home_sections=(HomeSection({"admin"}, "home/_admin_setup.html", _admin_setup, order=10),),
    admin_links=(AdminLink("core.audit_log", _l("Audit log"), order=90),),
    # The audit entries committed since the last pass are chained every few seconds (a no-op pass is
    # one query); idempotency keys older than their 30 days are deleted once an hour.
    periodic_jobs=(
        PeriodicJob(jobs.seal_audit_chain, every="AUDIT_SEAL_SECONDS"),
        PeriodicJob(idempotency.purge_expired, 3600),
    ),
)

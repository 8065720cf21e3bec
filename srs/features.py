"""Feature blueprints beyond the foundation; each feature adds its registration here."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l

from srs.core.home import admin_links, register_admin_link, register_home_section, register_nav
from srs.core.periodic import register_periodic

# Idempotency keys older than their 30 days are deleted once an hour.
PURGE_IDEMPOTENCY_EVERY_SECONDS = 3600


def _my_regions(user: Any) -> dict[str, Any]:
    return {"regions": user.regions}


def register_features(app: Flask) -> None:
    """Register every feature's blueprints, navigation and home-page sections."""
    register_periodic("srs.core.idempotency.purge_expired", PURGE_IDEMPOTENCY_EVERY_SECONDS)
    from srs.registry import init_feature as init_registry

    init_registry(app)
    register_nav("core.admin_index", _l("Setup"), {"admin"}, order=90)
    register_nav("admin_users.list_users", _l("Users"), {"admin"}, order=91)
    register_nav("regions.index", _l("Regions"), {"admin"}, order=92)
    register_nav("core.audit_log", _l("Audit log"), {"admin"}, order=95)

    register_home_section({"officer", "supervisor"}, "home/_my_regions.html", _my_regions, order=900)
    register_admin_link("admin_users.list_users", _l("Users and roles"), order=10)
    register_admin_link("regions.index", _l("Regions"), order=20)
    register_admin_link("core.audit_log", _l("Audit log"), order=90)
    register_home_section(
        {"admin"}, "home/_admin_setup.html", lambda user: {"links": admin_links()}, order=10
    )
    from srs.programmes import init_feature as init_programmes

    init_programmes(app)

    from srs.cases import init_feature as init_cases

    init_cases(app)
    from srs.referrals.feature import init_feature as init_referrals

    init_referrals(app)

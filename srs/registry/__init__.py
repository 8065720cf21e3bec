"""Clients, households, ID numbers, duplicates, search and bulk import."""

from __future__ import annotations

from flask import Flask


def init_feature(app: Flask) -> None:
    """Register the registry's pages, navigation, home section, timeline source and demo seed."""
    from flask_babel import lazy_gettext as _l

    from srs.core.audit import mask_id_number
    from srs.core.home import register_home_section, register_nav
    from srs.core.slots import register_timeline_source
    from srs.registry import timeline, views
    from srs.registry.seed import seed_clients
    from srs.seed import register_seed_step

    app.register_blueprint(views.bp)
    app.add_template_filter(mask_id_number, "mask_id")
    register_nav("registry.index", _l("Clients"), {"officer", "supervisor", "admin"}, order=10)
    register_nav("registry.review", _l("Review queue"), {"supervisor", "admin"}, order=12)
    register_nav("registry.import_page", _l("Import"), {"officer", "admin"}, order=14)
    register_home_section(
        {"officer", "supervisor", "admin"}, "registry/_home.html", views.home_context, order=5
    )
    register_timeline_source(timeline.registry_timeline)
    register_seed_step(30, seed_clients)

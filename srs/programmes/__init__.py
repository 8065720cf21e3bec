"""Agencies, programmes, eligibility rules, screening and simulation."""

from __future__ import annotations

from typing import Any

from flask import Flask, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l


def _screening_timeline(client: Any) -> list[Any]:
    from srs.accounts.models import User
    from srs.core.slots import TimelineItem
    from srs.extensions import db
    from srs.programmes.screening import grouped, screenings_of

    items = []
    for screening in screenings_of(client):
        by = db.session.get(User, screening.screened_by_id) if screening.screened_by_id else None
        counts = grouped(screening)
        items.append(
            TimelineItem(
                at=screening.screened_at,
                kind="screening",
                title=_("Screened for programmes"),
                detail=_(
                    "%(e)d eligible, %(n)d need information, %(x)d not eligible",
                    e=len(counts["eligible"]),
                    n=len(counts["needs_information"]),
                    x=len(counts["not_eligible"]),
                ),
                by=(by.full_name or by.username) if by else _("automatic re-screening"),
                url=url_for("programmes.screening_result", screening_id=screening.id),
            )
        )
    return items


def _profile_context_ok(client: Any = None, **_ctx: Any) -> bool:
    return client is not None


def init_feature(app: Flask) -> None:
    """Register the programmes feature: pages, navigation, slots, timeline, home section, seed step."""
    from srs.core.home import register_admin_link, register_home_section, register_nav
    from srs.core.slots import register_slot, register_timeline_source
    from srs.programmes import views
    from srs.programmes.screening import grouped, latest_screening
    from srs.programmes.seed import seed_catalogue, seed_screenings
    from srs.seed import register_seed_step

    app.register_blueprint(views.bp)
    app.jinja_env.globals["programme_latest_screening"] = latest_screening
    app.jinja_env.globals["programme_counts"] = lambda s: {k: len(v) for k, v in grouped(s).items()}
    register_nav("programmes.programmes", _l("Programmes"), {"admin", "supervisor"}, order=50)
    register_admin_link("programmes.agencies", _l("Agencies"), order=30)
    register_admin_link("programmes.programmes", _l("Programmes and eligibility rules"), order=31)
    register_slot("client_profile", "programmes/_profile_panel.html", order=20, when=_profile_context_ok)
    register_timeline_source(_screening_timeline)
    register_home_section(
        {"officer"}, "programmes/_newly_eligible.html", views.newly_eligible_context, order=20
    )
    register_seed_step(20, seed_catalogue)
    register_seed_step(40, seed_screenings)

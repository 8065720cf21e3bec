"""What the programmes add to the app: the catalogue pages, screening, the newly-eligible notices."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from srs.accounts.models import User
from srs.core.wiring import AdminLink, Feature, HomeSection, NavEntry, SeedStep, Slot, TimelineItem
from srs.extensions import db
from srs.programmes import enrolments, policies, views
from srs.programmes.screening import grouped, latest_screening, screenings_of
from srs.programmes.seed import seed_catalogue, seed_screenings


def _screening_timeline(client: Any) -> list[Any]:
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


def _install_listeners(_app: Any) -> None:
    enrolments.install()


def _profile_context_ok(client: Any = None, **_ctx: Any) -> bool:
    return client is not None


def _counts(screening: Any) -> dict[str, int]:
    return {k: len(v) for k, v in grouped(screening).items()}


FEATURE = Feature(
    name="programmes",
    blueprints=(views.bp,),
    nav=(NavEntry("programmes.programmes", _l("Programmes"), {"admin", "supervisor"}, order=50),),
    admin_links=(
        AdminLink("programmes.agencies", _l("Agencies"), order=30),
        AdminLink("programmes.programmes", _l("Programmes and eligibility rules"), order=31),
    ),
    slots=(
        Slot("client_profile", "programmes/_profile_panel.html", order=20, when=_profile_context_ok),
        Slot("client_profile", "programmes/_coverage_panel.html", order=21, when=_profile_context_ok),
    ),
    timeline_sources=(_screening_timeline,),
    home_sections=(
        HomeSection({"officer"}, "programmes/_newly_eligible.html", views.newly_eligible_context, order=20),
    ),
    seed_steps=(SeedStep(20, seed_catalogue), SeedStep(40, seed_screenings)),
    template_globals={
        "programme_latest_screening": latest_screening,
        "programme_counts": _counts,
        "client_coverage": views.coverage_panel_context,
    },
    setup=_install_listeners,
    policies=(
        policies.can_manage_programmes,
        policies.can_publish_rules,
        policies.can_screen_client,
        policies.can_edit_rules,
        policies.can_record_enrolment,
    ),
)

"""What the regions add to the app: the regions page, "my regions" on the home page, the demo tree."""

from __future__ import annotations

from typing import Any, Protocol

from flask_babel import lazy_gettext as _l

from srs.core.actor import Actor
from srs.core.wiring import AdminLink, Feature, HomeSection, NavEntry, SeedStep
from srs.regions import views
from srs.regions.models import Region
from srs.regions.seed import seed_regions


class _ActorWithRegions(Actor, Protocol):
    """A user as the regions home section reads them: with the regions they work in."""

    @property
    def regions(self) -> list[Region]: ...


def _my_regions(user: _ActorWithRegions) -> dict[str, Any]:
    return {"regions": user.regions}


def _seed(_password: str) -> list[str]:
    return [f"Regions in the tree: {seed_regions()}"]


FEATURE = Feature(
    name="regions",
    blueprints=(views.bp,),
    nav=(NavEntry("regions.index", _l("Regions"), {"admin"}, order=92),),
    home_sections=(HomeSection({"officer", "supervisor"}, "home/_my_regions.html", _my_regions, order=900),),
    admin_links=(AdminLink("regions.index", _l("Regions"), order=20),),
    seed_steps=(SeedStep(0, _seed),),
)

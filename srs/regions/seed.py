"""Load the demo region tree."""

from __future__ import annotations

from srs.regions.demo_data import DEMO_REGIONS, RegionSpec
from srs.regions.models import Region
from srs.regions.services import add_region, get_by_code


def _load(specs: list[RegionSpec], country: str, parent: Region | None) -> int:
    count = 0
    for code, name, level, children in specs:
        region = get_by_code(code) or add_region(code, name, level, country, parent)
        count += 1 + _load(children, country, region)
    return count


def seed_regions() -> int:
    """Create the demo regions that are missing; returns how many the tree holds."""
    return sum(_load(specs, country, None) for country, specs in DEMO_REGIONS.items())

"""What the agencies add to the app: the demo agencies (their pages are the catalogue's, in programmes)."""

from __future__ import annotations

from srs.agencies.seed import seed_agencies
from srs.core.wiring import Feature, SeedStep


def _seed(_password: str) -> list[str]:
    return [f"Agencies added: {seed_agencies()}"]


FEATURE = Feature(name="agencies", seed_steps=(SeedStep(5, _seed),))

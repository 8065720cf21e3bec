"""What privacy adds to the app: the request ledger, exports, pages, home sections, jobs, seed.

Each module of the package adds its pieces to the tuples below, one entry a line, so that work on
erasure, restriction, retention, breaches and records of processing merges without conflicts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint

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
from srs.privacy import ops_wiring
from srs.privacy.legal import seed_legal_periods


def _seed(_password: str) -> list[str]:
    return [f"Legal periods for data-subject requests added: {seed_legal_periods()}"]


BLUEPRINTS: tuple[Blueprint, ...] = ()
NAV: tuple[NavEntry, ...] = ()
HOME_SECTIONS: tuple[HomeSection, ...] = ()
ADMIN_LINKS: tuple[AdminLink, ...] = ()
SLOTS: tuple[Slot, ...] = ()
TIMELINE_SOURCES: tuple[Callable[[Any], list[TimelineItem]], ...] = ()
PERIODIC_JOBS: tuple[PeriodicJob, ...] = ()
TEMPLATE_GLOBALS: dict[str, Any] = {}
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
)

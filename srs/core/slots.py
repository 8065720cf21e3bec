"""Extension points: one feature's page shows panels and timeline entries of other features.

A page declares a slot (``{{ render_slot("client_profile", client=client) }}``); features register
templates for it. The registry's client profile thus shows screenings, referrals and cases without
importing those features, and a feature that is not installed simply adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import render_template
from markupsafe import Markup


@dataclass(frozen=True)
class SlotEntry:
    template: str
    order: int
    when: Callable[..., bool] | None


_SLOTS: dict[str, list[SlotEntry]] = {}


def register_slot(
    name: str, template: str, order: int = 100, when: Callable[..., bool] | None = None
) -> None:
    """Render ``template`` wherever slot ``name`` appears (with the slot's context), if ``when`` allows."""
    entries = _SLOTS.setdefault(name, [])
    if all(entry.template != template for entry in entries):
        entries.append(SlotEntry(template, order, when))
        entries.sort(key=lambda entry: entry.order)


def render_slot(name: str, **context: Any) -> Markup:
    parts = []
    for entry in _SLOTS.get(name, []):
        if entry.when is None or entry.when(**context):
            parts.append(render_template(entry.template, **context))
    return Markup("\n".join(parts))  # noqa: S704 - templates are autoescaped files of ours


@dataclass
class TimelineItem:
    """One line on a client's timeline."""

    at: datetime
    kind: str  # registration, edit, screening, referral, note, ...
    title: str
    detail: str | None = None
    by: str | None = None
    url: str | None = None


_TIMELINE_SOURCES: list[Callable[[Any], list[TimelineItem]]] = []


def register_timeline_source(source: Callable[[Any], list[TimelineItem]]) -> None:
    """``source(client)`` returns the timeline items a feature contributes for that client."""
    if source not in _TIMELINE_SOURCES:
        _TIMELINE_SOURCES.append(source)


def timeline_for(client: Any) -> list[TimelineItem]:
    """Every feature's items for ``client``, newest first."""
    items: list[TimelineItem] = []
    for source in _TIMELINE_SOURCES:
        items.extend(source(client))
    return sorted(items, key=lambda item: item.at, reverse=True)

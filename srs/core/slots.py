"""Extension points: one feature's page shows panels and timeline entries of other features.

A page declares a slot (``{{ render_slot("client_profile", client=client) }}``); features describe
templates for it (``Slot`` in their ``Feature``). The registry's client profile thus shows
screenings, referrals and cases without importing those features, and a feature that is not
installed simply adds nothing.
"""

from __future__ import annotations

from typing import Any

from flask import render_template
from markupsafe import Markup

from srs.core.wiring import TimelineItem, wiring


def render_slot(name: str, **context: Any) -> Markup:
    """Every template the features put in slot ``name``, rendered with the slot's context."""
    parts = []
    for entry in wiring().slots.get(name, []):
        if entry.when is None or entry.when(**context):
            parts.append(render_template(entry.template, **context))
    return Markup("\n".join(parts))  # noqa: S704 - templates are autoescaped files of ours


def timeline_for(client: Any) -> list[TimelineItem]:
    """Every feature's items for ``client``, newest first."""
    items: list[TimelineItem] = []
    for source in wiring().timeline_sources:
        items.extend(source(client))
    return sorted(items, key=lambda item: item.at, reverse=True)

"""Each role's home page, navigation and setup page are built from what the features describe.

A feature adds what its users need on their first screen (an officer's search box, an agency's
inbox counts, a supervisor's overdue list) without the accounts feature knowing about it.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from srs.core.access import has_role
from srs.core.actor import Actor
from srs.core.wiring import wiring


def home_sections(user: Actor) -> list[tuple[str, dict[str, Any]]]:
    """The (template, context) of every home section for the user's role, in order."""
    return [
        (s.template, s.context(user) if s.context else {})
        for s in wiring().home_sections
        if has_role(user, *s.roles)
    ]


def nav_for(user: Any) -> list[tuple[str, Any]]:
    """The (endpoint, label) of every navigation entry for the user's role, in order."""
    if not (user and user.is_authenticated):
        return []
    return [(e.endpoint, e.label) for e in wiring().nav if has_role(user, *e.roles)]


def admin_links() -> list[tuple[str, Any]]:
    """The (endpoint, label) of every link on the administrator's setup page, in order."""
    return [(link.endpoint, link.label) for link in wiring().admin_links]


ROLE_LABELS = {
    "officer": _l("District officer"),
    "agency_staff": _l("Agency staff"),
    "supervisor": _l("Supervisor"),
    "admin": _l("Administrator"),
    "partner": _l("Partner system (DCI)"),
}

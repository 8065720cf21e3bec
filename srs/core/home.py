"""Each role's home page is built from sections that features register.

A feature adds what its users need on their first screen (an officer's search box, an agency's
inbox counts, a supervisor's overdue list) without the accounts feature knowing about it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l


@dataclass
class HomeSection:
    roles: frozenset[str]
    template: str
    context: Callable[[Any], dict[str, Any]]
    order: int = 100


_SECTIONS: list[HomeSection] = []


def register_home_section(
    roles: set[str] | frozenset[str],
    template: str,
    context: Callable[[Any], dict[str, Any]] | None = None,
    order: int = 100,
) -> None:
    """Show ``template`` on the home page of users with one of ``roles``."""
    if any(s.template == template for s in _SECTIONS):
        return
    _SECTIONS.append(HomeSection(frozenset(roles), template, context or (lambda user: {}), order))


def home_sections(user: Any) -> list[tuple[str, dict[str, Any]]]:
    sections = sorted((s for s in _SECTIONS if user.role in s.roles), key=lambda s: s.order)
    return [(s.template, s.context(user)) for s in sections]


# Navigation entries by role: (endpoint, label, roles, order). Features append theirs.
NAV: list[tuple[str, Any, frozenset[str], int]] = []


def register_nav(endpoint: str, label: Any, roles: set[str] | frozenset[str], order: int = 100) -> None:
    if any(entry[0] == endpoint for entry in NAV):
        return
    NAV.append((endpoint, label, frozenset(roles), order))


def nav_for(user: Any) -> list[tuple[str, Any]]:
    if not (user and user.is_authenticated):
        return []
    return [(e, label) for e, label, roles, _o in sorted(NAV, key=lambda x: x[3]) if user.role in roles]


ROLE_LABELS = {
    "officer": _l("District officer"),
    "agency_staff": _l("Agency staff"),
    "supervisor": _l("Supervisor"),
    "admin": _l("Administrator"),
    "partner": _l("Partner system (DCI)"),
}


# Links on the admin's setup page: (endpoint, label, order). Features append theirs.
ADMIN_LINKS: list[tuple[str, Any, int]] = []


def register_admin_link(endpoint: str, label: Any, order: int = 100) -> None:
    if all(link[0] != endpoint for link in ADMIN_LINKS):
        ADMIN_LINKS.append((endpoint, label, order))


def admin_links() -> list[tuple[str, Any]]:
    return [(endpoint, label) for endpoint, label, _o in sorted(ADMIN_LINKS, key=lambda x: x[2])]

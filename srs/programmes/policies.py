"""Who may do what with the programme catalogue and screenings: the ``can_*`` policies beside them."""

from __future__ import annotations

from typing import Any

from srs.core.access import has_role

# Officers (and admins) screen clients; supervisors read screenings and draft rules for their countries.
SCREENERS = ("officer", "admin")


def can_manage_programmes(user: Any) -> bool:
    """Create and change agencies and programmes, import and export the catalogue (admins)."""
    return has_role(user, "admin")


def can_publish_rules(user: Any, programme: Any = None) -> bool:
    """Put a draft rule version in force (admins; supervisors only draft)."""
    return has_role(user, "admin")


def can_screen_client(user: Any, client: Any = None) -> bool:
    """Screen a client against the programmes' rules now."""
    return has_role(user, *SCREENERS)


def rule_countries(user: Any) -> set[str] | None:
    """The countries whose programmes' rules ``user`` may draft: None for every country (admins).

    A supervisor drafts for the countries of the regions they cover; nobody else drafts.
    """
    if has_role(user, "admin"):
        return None
    if has_role(user, "supervisor"):
        return {region.country for region in user.regions}
    return set()


def can_edit_rules(user: Any, programme: Any) -> bool:
    """Whether ``user`` may save drafts of ``programme``'s rules."""
    countries = rule_countries(user)
    return countries is None or programme.country in countries


def can_record_enrolment(user: Any, client: Any = None) -> bool:
    """Record or end that a client is covered by a programme (who screens them records it)."""
    return has_role(user, *SCREENERS)

"""Who may do what with the national registries' answers: the ``can_*`` policies of the DCI client."""

from __future__ import annotations

from typing import Any

from srs.core.access import has_role

# Officers and supervisors correct a client's record from the registry's answer; admins configure.
CORRECTORS = ("officer", "supervisor")


def can_take_over_registry_values(user: Any, client: Any = None) -> bool:
    """Copy values the national registry holds into the client's record."""
    return has_role(user, *CORRECTORS)

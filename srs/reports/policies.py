"""Who may do what with the reports: the ``can_*`` policies of the reports feature."""

from __future__ import annotations

from typing import Any

from srs.core.access import has_role


def can_import_population(user: Any) -> bool:
    """Import the population figures the SDG 1.3.1 series divide by (admins)."""
    return has_role(user, "admin")

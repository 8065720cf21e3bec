"""Who may do what with the reports: the ``can_*`` policies of the reports feature."""

from __future__ import annotations

from typing import Any

from srs.core.access import has_role


def can_import_population(user: Any) -> bool:
    """Import the population figures the SDG 1.3.1 series divide by (admins)."""
    return has_role(user, "admin")


# Who prints the referral letter a person takes home (the staff who meet people; not agencies).
LETTER_ROLES = ("officer", "supervisor", "admin")


def can_print_referral_letter(user: Any) -> bool:
    """Print a referral's letter for the person (A4 or phone-sized, in their language)."""
    return has_role(user, *LETTER_ROLES)

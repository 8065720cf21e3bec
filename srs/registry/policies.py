"""Who may do what with a client's record: the ``can_*`` policies beside the client aggregate.

Views and templates ask these (templates through the registry's template globals) instead of
comparing roles; the routes' ``roles_required`` declarations use the same role sets.
"""

from __future__ import annotations

from typing import Any

from srs.core.access import has_role

# Who reads the register, and who writes it (supervisors read and decide on duplicates).
READERS = ("officer", "supervisor", "admin")
WRITERS = ("officer", "admin")
REVIEWERS = ("supervisor", "admin")


def can_read_clients(user: Any) -> bool:
    """Search the register and open a client's record."""
    return has_role(user, *READERS)


def can_register_client(user: Any) -> bool:
    """Register a new client (by hand or from a file)."""
    return has_role(user, *WRITERS)


def can_edit_client(user: Any, client: Any = None) -> bool:
    """Change a client's record and household (the client is already loaded in the user's scope)."""
    return has_role(user, *WRITERS)


# Who records a person's consent, and who may take it back on the person's word.
CONSENT_RECORDERS = ("officer", "admin")
CONSENT_WITHDRAWERS = ("officer", "supervisor", "admin")


def can_record_consent(user: Any) -> bool:
    """Record a consent the person gave (with its purposes, agencies and evidence)."""
    return has_role(user, *CONSENT_RECORDERS)


def can_withdraw_consent(user: Any) -> bool:
    """Record that the person withdrew their consent."""
    return has_role(user, *CONSENT_WITHDRAWERS)


def can_review_duplicates(user: Any) -> bool:
    """Work the queue of possible duplicates: merge a pair or mark it as two people."""
    return has_role(user, *REVIEWERS)


def can_edit_field(user: Any, field: Any) -> bool:
    """Change one field of a client's record (the field table says who may: ``edit_roles``)."""
    return has_role(user, *field.edit_roles)


def role_may_edit_field(role: str | None, field: Any) -> bool:
    """The same for a role by name (``GET /api/v1/fields/clients`` describes the fields per role)."""
    return role in field.edit_roles

"""Who may do what with a case file or a complaint: the ``can_*`` policies beside the aggregates."""

from __future__ import annotations

from typing import Any

from srs.core.access import has_role

# The staff who keep case files and take complaints; supervisors (and admins) decide on closures.
STAFF = ("officer", "supervisor", "admin")
DECIDERS = ("supervisor", "admin")


def can_work_cases(user: Any) -> bool:
    """Open and keep case files, follow up tasks, take complaints."""
    return has_role(user, *STAFF)


def can_decide_closure(user: Any, case: Any = None) -> bool:
    """Approve a requested closure, or send the case back to its officer."""
    return has_role(user, *DECIDERS)


def can_reassign_case(user: Any, case: Any = None) -> bool:
    """Hand a case to another officer."""
    return has_role(user, *DECIDERS)

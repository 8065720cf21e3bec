"""Who may do what with a person's data-protection requests and rights: the privacy ``can_*`` policies.

Views and templates ask these (templates through the privacy feature's template globals) instead of
comparing roles; the routes' ``roles_required`` declarations use the same role sets.
"""

from __future__ import annotations

from typing import Any

from srs.core.access import has_role

# Who sees a person's requests, and who records and serves them (the front line: officers and
# their supervisors; administrators configure, they do not serve people).
READERS = ("officer", "supervisor", "admin")
STAFF = ("officer", "supervisor")
# Who may review an automated screening result a person objected to.
REVIEWER_ROLES = ("officer", "supervisor")


def can_read_requests(user: Any) -> bool:
    """See a person's data-protection requests and the privacy panel on the profile."""
    return has_role(user, *READERS)


def can_serve_requests(user: Any) -> bool:
    """Record, answer, extend and close a person's requests; give the copy of their data."""
    return has_role(user, *STAFF)


def can_review_screenings(user: Any) -> bool:
    """Be named to review an automated screening result a person objected to."""
    return has_role(user, *REVIEWER_ROLES)


def may_review_own_referral(user: Any) -> bool:
    """A supervisor may review a result they asked a review of themselves; an officer may not."""
    return has_role(user, "supervisor")


def can_set_legal_hold(user: Any) -> bool:
    """Set or lift a legal hold (the record may then not be erased), and erase a record."""
    return has_role(user, "supervisor")

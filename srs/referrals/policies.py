"""Who may do what with a referral: the ``can_*`` policies beside the referral aggregate.

The state machine (``services.TRANSITIONS``) says from which statuses an action may start; these
say who may take it. Views, services and templates (through the referrals' template globals) ask
these instead of comparing roles.
"""

from __future__ import annotations

from typing import Any

from srs.core.access import has_role

# Officers and supervisors refer clients and cancel what they referred; the agency decides.
REFERRERS = ("officer", "supervisor")
DECIDERS = ("agency_staff",)
DECISIONS = ("accept", "decline", "complete")


def works_for_agency(user: Any) -> bool:
    """The user answers referrals for an agency: sees its inbox and only the fields it is shared."""
    return has_role(user, "agency_staff")


def can_refer(user: Any) -> bool:
    """Refer a client to a programme."""
    return has_role(user, *REFERRERS)


def can_override_consent(user: Any) -> bool:
    """Refer a client who has not consented to share, with a written reason (supervisors only)."""
    return has_role(user, "supervisor")


def can_decide_referral(user: Any, referral: Any = None) -> bool:
    """Accept, decline or complete a referral (delivered to the user's agency: the loader checks)."""
    return has_role(user, *DECIDERS)


def can_cancel_referral(user: Any, referral: Any = None) -> bool:
    """Cancel a referral that is still open."""
    return has_role(user, *REFERRERS)


def can_take_action(user: Any, action: str, referral: Any = None) -> bool:
    """Whether ``user`` may take ``action`` (accept | decline | complete | cancel)."""
    if action in DECISIONS:
        return can_decide_referral(user, referral)
    if action == "cancel":
        return can_cancel_referral(user, referral)
    return False


def can_see_delivery_failures(user: Any, referral: Any = None) -> bool:
    """See why a delivery to the agency failed and retry it (the referring side, not the agency)."""
    return not works_for_agency(user)

"""Restriction of processing (UU 27/2022 art. 11; Law 91/2025): a restricted record is kept but
read-only, and left out of new referrals, rule simulations and what partners and agencies receive,
until the restriction is lifted.

The mark is ``clients.restricted_at`` so that the floors below privacy (the registry's edit, the
referral service, the simulation, the DCI query) check it without importing this package.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from srs.accounts.models import User
from srs.core import audit, clock
from srs.core.errors import Conflict, ValidationFailed
from srs.registry.models import Client


def restrict(client: Client, user: User, reason: Any) -> Client:
    """Mark the record restricted (in the caller's transaction)."""
    if reason is not None and not isinstance(reason, str):
        raise ValidationFailed(_("Say why processing is restricted."), {"reason": [_("Must be text.")]})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            _("Say why processing is restricted."), {"reason": [_("A reason is required.")]}
        )
    if len(reason) > 1000:
        raise ValidationFailed(_("The reason is too long."), {"reason": [_("At most 1000 characters.")]})
    if client.restricted_at is not None:
        raise Conflict(_("The record is already restricted."))
    if client.anonymised_at is not None:
        raise Conflict(_("The record has been erased."))
    client.restricted_at = clock.now()
    # The reason is the person's own words about their situation: kept out of the log.
    audit.record("client.restrict", "client", client.id, user=user, reason_length=len(reason))
    return client


def lift(client: Client, user: User) -> Client:
    if client.restricted_at is None:
        raise Conflict(_("The record is not restricted."))
    client.restricted_at = None
    audit.record("client.restriction_lifted", "client", client.id, user=user)
    return client

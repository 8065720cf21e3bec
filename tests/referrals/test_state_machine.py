"""The referral state machine: every legal change, every illegal one refused with a clear 409."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from srs.core.errors import Conflict, ValidationFailed
from srs.core.models import AuditEntry
from srs.extensions import db
from srs.referrals import services as svc
from srs.referrals.models import Referral
from tests.factories import refer, user

from .conftest import deliver_all

ALL = ("pending", "delivered", "accepted", "declined", "completed", "cancelled")
ACTIONS = {
    "accept": ("agency.bpjstk", {}),
    "decline": ("agency.bpjstk", {"reason": "documents_missing"}),
    "complete": ("agency.bpjstk", {"outcome": "successful"}),
    "cancel": ("officer.id1", {"reason": "Client moved away"}),
}
LEGAL = {
    ("delivered", "accept"),
    ("delivered", "decline"),
    ("accepted", "complete"),
    ("pending", "cancel"),
    ("delivered", "cancel"),
    ("accepted", "cancel"),
}


def _referral_in(status: str) -> Referral:
    referral = refer()
    if status == "pending":
        return referral
    referral_id = referral.id
    deliver_all()
    referral = db.session.get(Referral, referral_id)
    assert referral.status == "delivered"
    path = {
        "delivered": [],
        "accepted": ["accept"],
        "declined": ["decline"],
        "completed": ["accept", "complete"],
        "cancelled": ["cancel"],
    }[status]
    for name in path:
        who, extra = ACTIONS[name]
        svc.apply_action(referral, svc.Action(name, **extra), user(who))
    assert referral.status == status
    return referral


@pytest.mark.parametrize("start", ALL)
@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_transition(ref_ctx, start, action):
    referral = _referral_in(start)
    who, extra = ACTIONS[action]
    if (start, action) in LEGAL:
        version = referral.version
        svc.apply_action(referral, svc.Action(action, note="a note", **extra), user(who))
        assert referral.status == svc.TARGET[action]
        assert referral.version == version + 1
        last = referral.events[-1]
        assert (last.status, last.by_id) == (svc.TARGET[action], user(who).id)
        assert "a note" in last.note
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == f"referral.{action}"))
    else:
        with pytest.raises(Conflict) as info:
            svc.apply_action(referral, svc.Action(action, **extra), user(who))
        assert "cannot be" in info.value.detail
        assert db.session.get(Referral, referral.id).status == start


def test_decline_needs_a_reason_from_the_list(ref_ctx):
    referral = _referral_in("delivered")
    with pytest.raises(ValidationFailed) as info:
        svc.apply_action(referral, svc.Action("decline", reason="because"), user("agency.bpjstk"))
    assert "reason" in info.value.errors


def test_complete_needs_an_outcome_and_cancel_a_reason(ref_ctx):
    referral = _referral_in("accepted")
    with pytest.raises(ValidationFailed) as info:
        svc.apply_action(referral, svc.Action("complete", outcome="great"), user("agency.bpjstk"))
    assert "outcome" in info.value.errors
    with pytest.raises(ValidationFailed) as info:
        svc.apply_action(referral, svc.Action("cancel", reason=" "), user("officer.id1"))
    assert "reason" in info.value.errors


def test_stale_version_is_a_conflict(ref_ctx):
    referral = _referral_in("delivered")
    with pytest.raises(Conflict):
        svc.apply_action(referral, svc.Action("accept", version=referral.version - 1), user("agency.bpjstk"))

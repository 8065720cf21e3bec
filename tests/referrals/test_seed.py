"""The demo seed step for referrals: skips without clients, creates referrals in every state, idempotent."""

from __future__ import annotations

from sqlalchemy import select

from srs.extensions import db
from srs.referrals.models import Referral
from srs.referrals.seed import seed_referrals
from tests.factories import make_programme

from .conftest import make_client


def test_seed_skips_without_clients_then_creates_varied_referrals_once(ref_ctx):
    assert "skipped" in seed_referrals("x")[0]
    make_programme()
    for i in range(12):
        make_client(full_name=f"Demo {i}")
    lines = seed_referrals("x")
    assert lines[0].startswith("Referrals: 9 demo referrals")
    statuses = set(db.session.scalars(select(Referral.status)))
    assert {"pending", "delivered", "accepted", "declined", "completed"} <= statuses
    outcomes = set(db.session.scalars(select(Referral.outcome).where(Referral.status == "completed")))
    assert outcomes == {"successful", "unsuccessful"}
    assert seed_referrals("x") == ["Referrals: already present"]

"""The demo step for cases and complaints: idempotent, and one complaint already escalated."""

from __future__ import annotations

from sqlalchemy import func, select

from srs.cases.models import Case, Complaint
from srs.cases.seed import seed_cases
from srs.extensions import db
from tests.cases.conftest import acting_as, make_client


def test_seed_skips_without_clients(app, demo):
    with acting_as(app):
        assert "no demo clients" in seed_cases("x")[0]


def test_seed_opens_cases_and_takes_complaints_once(app, demo):
    with acting_as(app):
        make_client("35.16.08.2003")
        make_client("35.76.01.1007")
        seed_cases("x")
    with acting_as(app):
        seed_cases("x")
        assert db.session.scalar(select(func.count()).select_from(Case)) == 2
        complaints = db.session.scalars(select(Complaint)).all()
        assert len(complaints) == 3
        assert sum(1 for c in complaints if c.escalated_at is not None) == 1

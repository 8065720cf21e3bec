"""A small known world for the dashboard tests: what officers and agencies did, and the numbers it gives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from srs.cases import complaints as complaint_service
from srs.cases.models import Complaint, ComplaintCategory
from srs.core import clock
from srs.extensions import db
from tests.cases.conftest import acting_as, make_client
from tests.factories import make_programme, make_referral, make_screening, region


@dataclass
class World:
    a: int
    b: int
    c: int
    d: int
    e: int
    overdue_referral: int


def build_world(app) -> World:  # type: ignore[no-untyped-def]
    """Ani, Bambang, Citra and Dian register at the clock's now: they count in this month at any instant."""
    now = clock.now()
    today = clock.today()
    with acting_as(app):
        p = make_programme("ID-BPJSTK-BPU", "BPJSTK")
        q = make_programme("ID-JKN-PBI", "BPJSKES")
        a = make_client(
            "35.16.08.2003",
            full_name="Ani Lestari",
            sex="female",
            date_of_birth=date(1990, 3, 1),
            created_at=now,
        )
        b = make_client(
            "35.16.12.2007",
            full_name="Bambang Irawan",
            sex="male",
            date_of_birth=date(1960, 3, 1),
            created_at=now,
        )
        c = make_client(
            "35.76.01.1007",
            full_name="Citra Dewi",
            sex="female",
            date_of_birth=date(2004, 3, 1),
            created_at=now,
        )
        d = make_client(
            "34.71.13.1007",
            full_name="Dian Yogya",
            sex="female",
            date_of_birth=date(1980, 3, 1),
            created_at=now,
        )
        e = make_client(
            "35.16.08.1004",
            full_name="Eko Prasetyo",
            sex="male",
            date_of_birth=date(1975, 3, 1),
            created_at=now - timedelta(days=800),
        )
        make_screening(a, {p: "eligible", q: "eligible"})
        make_screening(b, {p: "eligible"})
        make_screening(c, {p: "not_eligible", q: "eligible"})
        make_screening(d, {p: "eligible"})
        make_referral(a, p, "completed", decided_after_days=4, outcome="successful")
        make_referral(b, p, "completed", decided_after_days=10, outcome="unsuccessful")
        make_referral(c, q, "declined", decided_after_days=2)
        make_referral(c, p, "pending", created_at=now - timedelta(days=3))
        late = make_referral(
            e, p, "delivered", created_at=now - timedelta(days=15), due_at=now - timedelta(days=1)
        )
        make_referral(d, p, "delivered", created_at=now - timedelta(days=15), due_at=now - timedelta(days=1))
        complaint_service.ensure_categories()
        light = db.session.query(ComplaintCategory).filter_by(code="light").one()
        for code in ("35.76.01", "34.71"):
            db.session.add(
                Complaint(
                    tracking_number=f"T-{code}",
                    channel="phone",
                    region_id=region(code).id,
                    category_id=light.id,
                    subject="Late",
                    description="Late",
                    received_on=today - timedelta(days=20),
                    due_on=today - timedelta(days=15),
                )
            )
        return World(a.id, b.id, c.id, d.id, e.id, late.id)

"""Helpers for privacy tests: the demo with the legal periods seeded, a client in each country."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from srs.core.transaction import commit
from srs.extensions import db
from srs.privacy.legal import seed_legal_periods
from tests import factories

ID_VILLAGE = "35.16.08.2003"  # officer.id1's regency, supervisor.id's province
VN_COMMUNE = "00070"  # officer.vn1's


@pytest.fixture
def periods(app: Any, demo: dict[str, Any]) -> dict[str, Any]:
    """The demo data and the seeded legal periods (what the migration and the demo seed insert)."""
    with app.app_context():
        seed_legal_periods()
        commit()
    return demo


def new_client(app: Any, region_code: str = ID_VILLAGE, **fields: Any) -> int:
    """A client made directly in ``region_code`` (a street vendor unless told otherwise); its id."""
    with app.app_context():
        values = {
            **factories.STREET_VENDOR,
            "consent_date": date(2026, 1, 5),
            "consent_scope": "Referrals",
            **fields,
        }
        client = factories.make_client(region_code, **values)
        db.session.commit()
        return client.id

"""Admins keep rate tables like rule versions: a draft, published from its date, checked on save."""

from __future__ import annotations

import json
from datetime import date, timedelta

from sqlalchemy import select

from srs.core import clock
from srs.core.models import AuditEntry
from srs.core.transaction import commit
from srs.extensions import db
from srs.programmes.models import Programme, RateVersion
from srs.programmes.rates import in_force
from srs.programmes.seed import RATES, seed_catalogue, seed_rates


def seeded(app) -> int:
    with app.test_request_context():
        seed_catalogue("x")
        seed_rates("x")
        commit()
        return db.session.scalar(select(Programme.id).where(Programme.code == "VN-BHXH-TN"))


def draft_form(**overrides):
    table = next(s for s in RATES if s["programme"] == "VN-BHXH-TN" and s["params"]["support_months"])
    data = {
        "scheme": "vn_voluntary_si",
        "currency": "VND",
        "effective_from": (clock.today() + timedelta(days=10)).isoformat(),
        "source": "Decree 999/2027 (a test)",
        "params": json.dumps(dict(table["params"], support={"poor": 60, "near_poor": 45, "other": 20})),
        "note": "",
    }
    data.update(overrides)
    return data


def test_seeded_versions_and_the_one_in_force_today(app, demo):
    programme_id = seeded(app)
    with app.test_request_context():
        programme = db.session.get(Programme, programme_id)
        version = in_force(programme)
        assert version is not None and "Decree 159/2025" in version.source
        assert in_force(programme, date(2024, 1, 1)).number == 1
        seed_rates("x")  # again: nothing added
        assert len(db.session.scalars(select(RateVersion)).all()) == len(RATES)


def test_admin_drafts_and_publishes_a_change_that_waits_for_its_date(app, login_as):
    programme_id = seeded(app)
    admin = login_as("admin")
    page = admin.get(f"/admin/programmes/{programme_id}/rates")
    assert page.status_code == 200 and "Decree 159/2025" in page.get_data(as_text=True)
    response = admin.post(f"/admin/programmes/{programme_id}/rates", data=draft_form())
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.test_request_context():
        draft = db.session.scalar(select(RateVersion).where(RateVersion.status == "draft"))
        assert draft is not None and draft.number == 3
        draft_id = draft.id
    response = admin.post(f"/admin/programmes/{programme_id}/rates/{draft_id}/publish", data={})
    assert response.status_code == 302
    with app.test_request_context():
        programme = db.session.get(Programme, programme_id)
        assert in_force(programme).number == 2  # not yet: it takes effect in ten days
        assert in_force(programme, clock.today() + timedelta(days=10)).number == 3
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "rates.publish")) is not None
    # Published is final: publishing again is refused with a message, not a 500.
    response = admin.post(
        f"/admin/programmes/{programme_id}/rates/{draft_id}/publish",
        data={},
        follow_redirects=True,
    )
    assert "Only a draft can be published" in response.get_data(as_text=True)


def test_a_bad_table_is_refused_with_a_message_and_nothing_saved(app, login_as):
    programme_id = seeded(app)
    admin = login_as("admin")
    for overrides, message in (
        ({"params": "{not json"}, "not valid JSON"),
        ({"params": json.dumps({"percent": 22})}, "lacks: min_income, support"),
        ({"params": json.dumps({"percent": "x", "min_income": 1, "support": {}})}, "cannot be used"),
        ({"source": " "}, "Name the regulation"),
        ({"effective_from": "31/12/2026"}, "nothing was saved"),
    ):
        response = admin.post(f"/admin/programmes/{programme_id}/rates", data=draft_form(**overrides))
        assert response.status_code == 422, overrides
        assert message in response.get_data(as_text=True), (overrides, message)
    with app.test_request_context():
        assert db.session.scalar(select(RateVersion).where(RateVersion.status == "draft")) is None


def test_only_admins_edit_rates(app, login_as):
    programme_id = seeded(app)
    assert login_as("supervisor").get(f"/admin/programmes/{programme_id}/rates").status_code == 403
    assert login_as("officer").get(f"/admin/programmes/{programme_id}/rates").status_code == 403

"""The audit log never holds a password, a token or a full ID number; admins browse it."""

from srs.core import audit
from srs.extensions import db


def test_scrub_removes_secrets_and_masks_id_numbers(app_ctx):
    entry = audit.record(
        "test.action",
        "client",
        1,
        password="hunter2hunter2",
        token="abc",
        id_number="3516084101900001",
        note="called about NIK 3516084101900001",
        nested={"webhook_secret": "s3"},
    )
    db.session.flush()
    assert entry.details["password"] == "[removed]"
    assert entry.details["token"] == "[removed]"
    assert entry.details["id_number"] == "************0001"
    assert "3516084101900001" not in entry.details["note"]
    assert entry.details["nested"]["webhook_secret"] == "[removed]"


def test_admin_browses_and_filters_the_audit_log(login_as):
    admin = login_as("admin")
    login_as("officer")
    page = admin.get("/admin/audit?username=officer.id1").get_data(as_text=True)
    assert "officer.id1" in page and "login" in page
    filtered = admin.get("/admin/audit?action=user.").get_data(as_text=True)
    assert "user.create" in filtered


def _entry_on(moment, action):  # type: ignore[no-untyped-def]
    from srs.core.models import AuditEntry

    db.session.add(AuditEntry(action=action, object_type="test", at=moment, details={}))


def test_admin_filters_the_audit_log_by_date_in_the_offices_time_zone(app, login_as):
    from datetime import UTC, datetime

    from srs.core.transaction import commit

    admin = login_as("admin")
    with app.test_request_context():
        # 31 Jan 2026 20:00 UTC is already 1 Feb 03:00 in Jakarta (the configured zone).
        _entry_on(datetime(2026, 1, 30, 12, tzinfo=UTC), "test.january30")
        _entry_on(datetime(2026, 1, 31, 20, tzinfo=UTC), "test.february1")
        _entry_on(datetime(2026, 2, 2, 12, tzinfo=UTC), "test.february2")
        commit()
    page = admin.get("/admin/audit?action=test.&date_from=2026-02-01&date_to=2026-02-01").get_data(
        as_text=True
    )
    assert "test.february1" in page
    assert "test.january30" not in page and "test.february2" not in page
    page = admin.get("/admin/audit?action=test.&date_to=2026-01-31").get_data(as_text=True)
    assert "test.january30" in page and "test.february1" not in page


def test_a_bad_date_gets_a_message_and_keeps_what_was_typed(login_as):
    admin = login_as("admin")
    response = admin.get("/admin/audit?date_from=31/01/2026")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "YYYY-MM-DD" in page and 'value="31/01/2026"' in page
    response = admin.get("/admin/audit?date_from=2026-02-02&date_to=2026-02-01")
    assert response.status_code == 422
    assert "The end date is before the start date." in response.get_data(as_text=True)

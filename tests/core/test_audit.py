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

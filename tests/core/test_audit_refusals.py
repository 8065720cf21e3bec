"""Refusals are audited in a transaction of their own: the refused request's rollback keeps them."""

from __future__ import annotations

from sqlalchemy import func, select

from srs.core import audit, audit_chain
from srs.core.models import AuditEntry
from srs.core.transaction import commit
from srs.extensions import db
from tests.conftest import login
from tests.factories import refer
from tests.referrals.conftest import make_client


def _entries(app, action: str) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(
            db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))
        )


def _chain_intact(app) -> bool:  # type: ignore[no-untyped-def]
    with app.app_context(), db.engine.connect() as conn:
        return audit_chain.verify(conn).intact


def test_a_failed_sign_in_on_the_form_and_the_api_is_in_the_log(app, client, demo):
    assert login(client, "officer.id1", "wrong-password").status_code == 200
    assert login(client, "no.such.user", "wrong-password").status_code == 200
    response = client.post("/api/v1/auth/token", json={"username": "admin", "password": "nope-nope"})
    assert response.status_code == 401  # a rolled-back request
    failed = _entries(app, "login.failed")
    assert [(e.details["attempted_username"], e.details["channel"]) for e in failed] == [
        ("officer.id1", "web"),
        ("no.such.user", "web"),
        ("admin", "api"),
    ]
    assert failed[0].object_type == "user" and failed[0].object_id is not None
    assert failed[1].object_id is None  # no such account
    assert all(e.ip_address == "127.0.0.1" and "password" not in e.details for e in failed)
    assert _chain_intact(app)


def test_a_lockout_is_in_the_log(app, client, demo):
    for _ in range(5):
        login(client, "officer.id2", "wrong-password")
    assert login(client, "officer.id2", "wrong-password").status_code == 429
    [locked] = _entries(app, "login.locked")
    assert locked.details["attempted_username"] == "officer.id2"
    assert locked.details["budget"] == "account" and locked.details["limit"] == "5 per 15 minutes"


def test_a_403_is_in_the_log_with_who_asked(app, login_as, api_token):
    officer = login_as("officer")
    assert officer.get("/admin/users/").status_code == 403
    headers = api_token("agency_staff")
    assert app.test_client().get("/api/v1/clients", headers=headers).status_code == 403
    denied = _entries(app, "access.denied")
    assert [(e.username, e.details["endpoint"], e.details["method"]) for e in denied] == [
        ("officer.id1", "admin_users.list_users", "GET"),
        ("agency.bpjstk", "api.list_clients", "GET"),
    ]


def test_a_record_outside_the_callers_area_is_a_404_and_in_the_log(app, login_as, api_token):
    with app.test_request_context():
        client = make_client()  # in officer.id1's district
        referral = refer(client)
        commit()
        client_id, referral_id = client.id, referral.id
    other = login_as("officer2")
    headers = api_token("officer2")
    api = app.test_client()
    asked = [
        (other.get(f"/clients/{client_id}"), "client", client_id),
        (other.get(f"/clients/{client_id}/edit"), "client", client_id),
        (other.get(f"/cases/client/{client_id}"), "client", client_id),
        (other.get(f"/referrals/{referral_id}"), "referral", referral_id),
        (other.get("/cases/999999/notes"), None, None),  # GET on a POST route: 405, not a record
        (other.post("/cases/999999/notes", data={"text": "x"}), "case", 999999),
        (other.get("/complaints/999999"), "complaint", 999999),
        (api.get(f"/api/v1/clients/{client_id}", headers=headers), "client", client_id),
        (api.get(f"/api/v1/referrals/{referral_id}", headers=headers), "referral", referral_id),
        (other.get(f"/referrals/new?client_id={client_id}"), "client", client_id),
    ]
    expected = [(kind, str(number)) for response, kind, number in asked if kind is not None]
    assert [r.status_code for r, kind, _n in asked if kind is not None] == [404] * len(expected)
    found = _entries(app, "record.not_found")
    assert [(e.object_type, e.object_id) for e in found] == expected
    assert {e.username for e in found} == {"officer.id2"}
    assert found[0].details["endpoint"] == "registry.profile"
    # The same records are no refusal for the officer who covers them.
    assert login_as("officer").get(f"/clients/{client_id}").status_code == 200
    assert len(_entries(app, "record.not_found")) == len(expected)


def test_a_path_no_route_matches_is_not_logged(app, login_as):
    assert login_as("officer").get("/wp-admin/setup.php").status_code == 404
    assert _entries(app, "record.not_found") == []


def test_the_refused_requests_own_entries_roll_back_but_the_refusal_stays(app, demo):
    from flask import Response

    with app.test_request_context("/clients/1"):
        audit.record("test.read_before_refusal", "client", 1)
        audit.record_security("access.denied", "client", 1)
        app.process_response(Response(status=403))  # the edge: rollback, then the refusal
    assert _entries(app, "test.read_before_refusal") == []
    assert len(_entries(app, "access.denied")) == 1
    assert _chain_intact(app)


def test_outside_a_request_a_refusal_is_written_at_once(app_ctx):
    audit.record("test.in_a_transaction_that_rolls_back")
    audit.record_security("login.failed", "user", None, attempted_username="cli", channel="test")
    db.session.rollback()
    actions = list(db.session.scalars(select(AuditEntry.action)))
    assert actions == ["login.failed"]
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 1


def test_a_value_longer_than_its_audit_column_is_cut_and_the_entry_still_written(app, client, demo):
    """A forwarded address or an id of 300 characters must not cost the refusal its entry."""
    long_address = "2001:db8::" + "f" * 300
    response = client.post(
        "/login",
        data={"username": "officer.id1", "password": "wrong-password"},
        environ_overrides={"REMOTE_ADDR": long_address},
    )
    assert response.status_code == 200
    [failed] = _entries(app, "login.failed")
    assert failed.ip_address == long_address[:64]
    with app.test_request_context():
        audit.record_security("x" * 100, "t" * 100, "9" * 300)
    assert _entries(app, "x" * 60)[0].object_id == "9" * 64
    with app.test_request_context():
        audit.record("y" * 100, "client", "1" * 100)
        commit()  # the length guard would refuse an over-long value: the entry fits instead
    [entry] = _entries(app, "y" * 60)
    assert entry.object_type == "client" and entry.object_id == "1" * 64
    assert _chain_intact(app)

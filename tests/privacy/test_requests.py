"""The request ledger through the API and the pages: roles, scope, bad input, closing, escalation."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from srs.core import clock
from srs.core.models import AuditEntry
from srs.extensions import db
from srs.privacy.jobs import escalate_overdue_requests
from srs.privacy.models import DataSubjectRequest
from tests.privacy.conftest import new_client


def _create(client, headers, client_id, **body):  # type: ignore[no-untyped-def]
    payload = {"kind": "access", "received_via": "phone", "note": "Asked at the desk", **body}
    return client.post(f"/api/v1/clients/{client_id}/requests", json=payload, headers=headers)


@pytest.mark.parametrize("role", ["officer", "supervisor"])
def test_officer_and_supervisor_record_list_and_close(app, client, periods, api_token, role):
    client_id = new_client(app)
    headers = api_token(role)
    created = _create(client, headers, client_id)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert {"id", "client_id", "kind", "status", "received_at", "due_at", "rule"} <= body.keys()
    listed = client.get(f"/api/v1/clients/{client_id}/requests", headers=headers).get_json()["items"]
    assert [r["id"] for r in listed] == [body["id"]]
    closed = client.post(
        f"/api/v1/requests/{body['id']}/close",
        json={"outcome": "fulfilled", "note": "Copy given"},
        headers=headers,
    )
    assert closed.status_code == 200
    assert closed.get_json()["status"] == "closed" and closed.get_json()["outcome"] == "fulfilled"
    again = client.post(
        f"/api/v1/requests/{body['id']}/close", json={"outcome": "fulfilled"}, headers=headers
    )
    assert again.status_code == 409
    with app.app_context():
        actions = set(
            db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_id == str(client_id)))
        )
    assert {"privacy.request.create", "privacy.request.close"} <= actions


@pytest.mark.parametrize("role", ["agency_staff", "admin", "partner"])
def test_other_roles_may_not_record(app, client, periods, api_token, role):
    client_id = new_client(app)
    assert _create(client, api_token(role), client_id).status_code == 403


@pytest.mark.parametrize(
    "body,field",
    [
        ({"kind": "deletion"}, "kind"),
        ({"kind": None}, "kind"),
        ({"kind": ["access"]}, "kind"),
        ({"received_via": "pigeon"}, "received_via"),
        ({"note": 12}, "note"),
        ({"note": "x" * 2001}, "note"),
    ],
)
def test_bad_input_is_422_with_the_field(app, client, periods, api_token, body, field):
    client_id = new_client(app)
    response = _create(client, api_token("officer"), client_id, **body)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    with app.app_context():
        assert db.session.scalar(select(DataSubjectRequest.id)) is None


def test_a_client_outside_the_area_is_404(app, client, periods, api_token):
    client_id = new_client(app)  # officer.id1's regency
    assert _create(client, api_token("officer2"), client_id).status_code == 404
    assert (
        client.get(f"/api/v1/clients/{client_id}/requests", headers=api_token("officer_vn")).status_code
        == 404
    )
    created = _create(client, api_token("officer"), client_id).get_json()
    other = client.post(
        f"/api/v1/requests/{created['id']}/close",
        json={"outcome": "fulfilled"},
        headers=api_token("officer2"),
    )
    assert other.status_code == 404
    assert _create(client, api_token("officer"), 999999).status_code == 404


def test_refusal_needs_a_reason_and_the_outcome_must_be_known(app, client, periods, api_token):
    client_id = new_client(app)
    headers = api_token("officer")
    created = _create(client, headers, client_id).get_json()
    url = f"/api/v1/requests/{created['id']}/close"
    assert client.post(url, json={"outcome": "refused"}, headers=headers).status_code == 422
    assert client.post(url, json={"outcome": "maybe"}, headers=headers).status_code == 422
    assert client.post(url, data="nope", headers=headers).status_code == 400
    done = client.post(url, json={"outcome": "refused", "note": "Not the person"}, headers=headers)
    assert done.status_code == 200


def test_overdue_requests_are_escalated_once_and_shown_to_the_supervisor(
    app, client, periods, api_token, login_as
):
    client_id = new_client(app)
    late = _create(client, api_token("officer"), client_id).get_json()
    on_time = _create(client, api_token("officer"), client_id, kind="correction").get_json()
    with app.app_context():
        # The first one came in four days ago: its 3 x 24 hours are over.
        request = db.session.get(DataSubjectRequest, late["id"])
        request.received_at = clock.now() - timedelta(days=4)
        request.due_at = request.received_at + timedelta(hours=72)
        db.session.commit()
        assert escalate_overdue_requests() == 1
        assert escalate_overdue_requests() == 0  # once
        assert db.session.get(DataSubjectRequest, on_time["id"]).escalated_at is None
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "privacy.request.escalate"))
        assert entry.details["request_id"] == late["id"]
    home = login_as("supervisor").get("/").get_data(as_text=True)
    assert 'data-testid="home-privacy-supervisor"' in home
    assert "1 request past its legal deadline" in home and "1 escalated" in home
    officer_home = login_as("officer").get("/").get_data(as_text=True)
    assert officer_home.count('data-testid="home-request"') == 2
    listing = login_as("supervisor").get("/requests?overdue=1").get_data(as_text=True)
    assert listing.count('data-testid="request-row"') == 1
    # Outside the supervisor's province: another officer's home shows none of them.
    assert 'data-testid="home-request"' not in login_as("officer2").get("/").get_data(as_text=True)


def test_escalation_follows_the_clock(app, client, periods, api_token):
    client_id = new_client(app)
    _create(client, api_token("officer"), client_id)
    with app.app_context():
        assert escalate_overdue_requests() == 0
        with time_machine.travel(clock.now() + timedelta(hours=73), tick=False):
            assert escalate_overdue_requests() == 1


@pytest.mark.parametrize("lang", ["en", "id", "vi"])
def test_pages_render_in_each_language(app, periods, login_as, lang):
    from srs.accounts.models import User

    client_id = new_client(app)
    with app.app_context():
        for name in ("officer.id1", "supervisor.id"):
            db.session.scalar(select(User).where(User.username == name)).locale = lang
        db.session.commit()
    officer = login_as("officer")
    recorded = officer.post(
        f"/clients/{client_id}/requests", data={"kind": "access", "received_via": "in_person"}
    )
    assert recorded.status_code == 302
    for url in (f"/clients/{client_id}", f"/clients/{client_id}/requests", "/requests", "/"):
        page = officer.get(url)
        assert page.status_code == 200, url
        assert f'lang="{lang}"' in page.get_data(as_text=True)
    assert 'data-testid="privacy-panel"' in officer.get(f"/clients/{client_id}").get_data(as_text=True)
    supervisor = login_as("supervisor")
    assert supervisor.get(f"/clients/{client_id}/requests").status_code == 200
    assert 'data-testid="home-privacy-supervisor"' in supervisor.get("/").get_data(as_text=True)


def test_the_form_keeps_the_input_and_says_what_is_wrong(app, periods, login_as):
    client_id = new_client(app)
    officer = login_as("officer")
    page = officer.post(
        f"/clients/{client_id}/requests", data={"kind": "nonsense", "received_via": "phone", "note": "kept"}
    )
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "Unknown value" in html and ">kept</textarea>" in html
    close = officer.post("/requests/999999/close", data={"outcome": "fulfilled"})
    assert close.status_code == 404
    assert login_as("officer2").get(f"/clients/{client_id}/requests").status_code == 404
    assert (
        login_as("admin").post(f"/clients/{client_id}/requests", data={"kind": "access"}).status_code == 403
    )
    assert login_as("agency_staff").get(f"/clients/{client_id}/requests").status_code == 403


def test_closing_from_the_page(app, periods, login_as):
    client_id = new_client(app)
    officer = login_as("officer")
    officer.post(f"/clients/{client_id}/requests", data={"kind": "restriction", "received_via": "letter"})
    with app.app_context():
        request_id = db.session.scalar(select(DataSubjectRequest.id))
    bad = officer.post(f"/requests/{request_id}/close", data={"outcome": "refused"})
    assert bad.status_code == 422 and "Say why" in bad.get_data(as_text=True)
    ok = officer.post(f"/requests/{request_id}/close", data={"outcome": "fulfilled", "note": "Restricted"})
    assert ok.status_code == 302
    with app.app_context():
        assert db.session.get(DataSubjectRequest, request_id).outcome == "fulfilled"


def test_the_timeline_shows_requests_received_and_closed(app, periods, login_as):
    client_id = new_client(app)
    officer = login_as("officer")
    officer.post(f"/clients/{client_id}/requests", data={"kind": "erasure", "received_via": "email"})
    with app.app_context():
        request_id = db.session.scalar(select(DataSubjectRequest.id))
    officer.post(f"/requests/{request_id}/close", data={"outcome": "withdrawn_by_person"})
    profile = officer.get(f"/clients/{client_id}").get_data(as_text=True)
    assert "Request: Erasure" in profile and "Request closed: Erasure" in profile

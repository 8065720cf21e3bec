"""Access and portability: everything SRS holds on the person, and the trail checked against the log."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from srs.core.models import AuditEntry
from srs.core.transaction import commit
from srs.extensions import db
from srs.privacy.models import DataSubjectRequest
from srs.referrals import jobs
from srs.referrals.models import OutboxMessage
from srs.registry.models import Client
from tests import factories
from tests.privacy.conftest import new_client

SECTIONS = {
    "client",
    "household",
    "screenings",
    "referrals",
    "cases",
    "complaints",
    "consents",
    "requests",
    "processing",
}


def _delivered_referral(app: Any, client_id: int, shared: list[str] | None = None) -> int:
    """A referral of the client made through the service and delivered to the agency's SRS inbox."""
    with app.test_request_context():
        client = db.session.get(Client, client_id)
        programme = factories.make_programme(shared=shared)
        referral = factories.refer(client, programme)
        commit()
        inbox = db.session.scalar(
            select(OutboxMessage.id).where(
                OutboxMessage.referral_id == referral.id, OutboxMessage.channel == "inbox"
            )
        )
        assert jobs.deliver_many([inbox]) == 1
        return referral.id


def _busy_client(app: Any, client_id: int) -> int:
    with app.app_context():
        client = db.session.get(Client, client_id)
        factories.add_household(client, [{"relationship_to_head": "child", "sex": "male"}])
        db.session.commit()
    return _delivered_referral(app, client_id)


def _about(entry: AuditEntry, client_id: int, related: dict[str, set[str]]) -> bool:
    """Independent of the export's own test: does anything in the entry point at the client?"""
    if entry.object_type in related and entry.object_id in related[entry.object_type]:
        return True
    details = json.dumps(entry.details or {})
    keys = "client_id|member_client_id|merged_client_id|kept_client_id"
    if re.search(rf'"({keys})": {client_id}\b', details):
        return True
    return entry.object_type == "client" and client_id in (entry.details or {}).get("ids", [])


def test_the_export_holds_every_section_and_what_each_agency_received(app, client, periods, api_token):
    client_id = new_client(app)
    referral_id = _busy_client(app, client_id)
    headers = api_token("officer")
    response = client.get(f"/api/v1/clients/{client_id}/export", headers=headers)
    assert response.status_code == 200
    data = response.get_json()
    assert set(data) == SECTIONS
    assert data["client"]["full_name"] == factories.STREET_VENDOR["full_name"]
    assert data["household"]["members"][0]["relationship_to_head"] == "child"
    [referral] = data["referrals"]
    assert referral["id"] == referral_id and referral["agency_code"] == "BPJSTK"
    assert referral["shared_with_agency"]["phone"] == factories.STREET_VENDOR["phone"]
    assert "address" not in referral["shared_with_agency"]  # the programme does not share it
    assert data["consents"][0]["given"] is True
    deliveries = [p for p in data["processing"] if p["action"].startswith("delivery.")]
    assert deliveries and deliveries[0]["recipient"] == "BPJSTK"
    stamps = [p["at"] for p in data["processing"]]
    assert stamps == sorted(stamps, reverse=True)  # newest first


def test_the_trail_has_every_audit_entry_about_the_person_and_nothing_else(
    app, client, periods, api_token, login_as
):
    client_id = new_client(app)
    other_id = new_client(app, full_name="Someone Else")
    referral_id = _busy_client(app, client_id)
    _delivered_referral(app, other_id)
    officer = login_as("officer")
    # Reads, a change, a search that lists the person, a referral read, a request.
    officer.get(f"/clients/{client_id}")
    headers = api_token("officer")
    version = client.get(f"/api/v1/clients/{client_id}", headers=headers).get_json()["version"]
    client.patch(
        f"/api/v1/clients/{client_id}", json={"version": version, "occupation": "Tailor"}, headers=headers
    )
    client.get("/api/v1/clients?q=Sri", headers=headers)
    client.get(f"/api/v1/referrals/{referral_id}", headers=headers)
    client.post(
        f"/api/v1/clients/{client_id}/requests",
        json={"kind": "access", "received_via": "email"},
        headers=headers,
    )
    client.get(f"/api/v1/clients/{other_id}", headers=headers)
    data = client.get(f"/api/v1/clients/{client_id}/export", headers=headers).get_json()
    with app.app_context():
        related = {
            "client": {str(client_id)},
            "referral": {str(referral_id)},
            "case": set(),
            "complaint": set(),
        }
        # The export's own entry is written when it has been answered: the next export shows it.
        expected = {
            e.id
            for e in db.session.scalars(select(AuditEntry).where(AuditEntry.action != "privacy.export"))
            if _about(e, client_id, related)
        }
        actions = {
            e.action for e in db.session.scalars(select(AuditEntry).where(AuditEntry.id.in_(expected)))
        }
    trail = {p["audit_id"] for p in data["processing"] if p["audit_id"] is not None}
    assert trail == expected
    assert {
        "client.register",
        "client.read",
        "client.update",
        "client.list",
        "referral.create",
        "referral.view",
        "privacy.request.create",
    } <= actions or {"client.search"} & actions
    by_role = {p["by_role"] for p in data["processing"]}
    assert "officer" in by_role


def test_the_export_is_audited_and_serves_its_request(app, client, periods, api_token):
    client_id = new_client(app)
    headers = api_token("supervisor")
    request_id = client.post(
        f"/api/v1/clients/{client_id}/requests",
        json={"kind": "portability", "received_via": "letter"},
        headers=headers,
    ).get_json()["id"]
    response = client.get(f"/api/v1/clients/{client_id}/export?request_id={request_id}", headers=headers)
    assert response.status_code == 200
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "privacy.export"))
        assert entry.object_id == str(client_id) and entry.details["request_id"] == request_id
        request = db.session.get(DataSubjectRequest, request_id)
        assert request.served_by_kind == "export" and request.answered_at is not None
    # The next export shows the first one in its trail.
    again = client.get(f"/api/v1/clients/{client_id}/export", headers=headers).get_json()
    assert "privacy.export" in {p["action"] for p in again["processing"]}


@pytest.mark.parametrize("lang", ["en", "id", "vi"])
def test_the_pdf_copy_in_the_persons_language(app, client, periods, api_token, lang):
    client_id = new_client(app, full_name="Nguyễn Thị Hoa")
    _busy_client(app, client_id)
    response = client.get(
        f"/api/v1/clients/{client_id}/export?format=pdf&lang={lang}", headers=api_token("officer")
    )
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert f"/Lang ({lang})".encode() in response.data or f"/Lang({lang})".encode() in response.data


def test_export_roles_scope_and_format(app, client, periods, api_token, login_as):
    client_id = new_client(app)
    assert client.get(f"/api/v1/clients/{client_id}/export", headers=api_token("officer2")).status_code == 404
    assert (
        client.get(f"/api/v1/clients/{client_id}/export", headers=api_token("agency_staff")).status_code
        == 403
    )
    assert client.get(f"/api/v1/clients/{client_id}/export", headers=api_token("admin")).status_code == 403
    bad = client.get(f"/api/v1/clients/{client_id}/export?format=xml", headers=api_token("officer"))
    assert bad.status_code == 422
    page = login_as("officer").get(f"/clients/{client_id}/export?format=pdf")
    assert page.status_code == 200 and page.data.startswith(b"%PDF")
    assert login_as("officer").get(f"/clients/{client_id}/export").get_json()["client"]["id"] == client_id

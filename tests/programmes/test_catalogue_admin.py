"""Admin pages for agencies and programmes: saved when right, refused with messages next to the fields."""

from __future__ import annotations

from sqlalchemy import select

from srs.agencies.models import Agency
from srs.core.models import AuditEntry
from srs.extensions import db
from srs.programmes.models import Programme


def agency_form(**overrides: str) -> dict[str, str]:
    form = {
        "code": "dinsos-mjk",
        "name": "Dinas Sosial Kabupaten Mojokerto",
        "country": "ID",
        "contact_email": "dinsos@example.org",
        "channel": "inbox",
        "response_days": "10",
        "active": "y",
    }
    form.update(overrides)
    return form


def test_admin_creates_an_agency_with_a_webhook(app, login_as):
    admin = login_as("admin")
    response = admin.post(
        "/admin/agencies/new",
        data=agency_form(
            channel="webhook", webhook_url="https://dinsos.example.org/srs", webhook_secret="s" * 24
        ),
    )
    assert response.status_code == 302
    with app.app_context():
        agency = db.session.scalar(select(Agency).where(Agency.code == "DINSOS-MJK"))
        assert agency.channel == "webhook" and agency.webhook_secret == "s" * 24
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "agency.create"))
        assert "s" * 24 not in str(entry.details)
    # Editing without typing the secret again keeps it.
    assert (
        admin.post(
            f"/admin/agencies/{agency.id}",
            data=agency_form(channel="webhook", webhook_url="https://x.example.org/h"),
        ).status_code
        == 302
    )
    with app.app_context():
        assert db.session.get(Agency, agency.id).webhook_secret == "s" * 24
    assert "DINSOS-MJK" in admin.get("/admin/agencies").get_data(as_text=True)


def test_agency_form_refuses_bad_input_and_keeps_what_was_typed(app, login_as):
    admin = login_as("admin")
    response = admin.post(
        "/admin/agencies/new",
        data=agency_form(channel="webhook", webhook_url="ftp:nope", response_days="400"),
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Give the webhook&#39;s address" in html or "Give the webhook's address" in html
    assert "A webhook needs a secret" in html
    assert "1 to 90 working days" in html
    assert 'value="Dinas Sosial Kabupaten Mojokerto"' in html
    duplicate = admin.post("/admin/agencies/new", data=agency_form(code="BPJSTK"))
    assert duplicate.status_code == 422 and "already has the code BPJSTK" in duplicate.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Agency).where(Agency.code == "DINSOS-MJK")) is None


def programme_form(**overrides: str) -> dict[str, str]:
    form = {
        "code": "id-kip",
        "name_en": "KIP school aid",
        "name_id": "Kartu Indonesia Pintar",
        "agency": "KEMENSOS",
        "country": "ID",
        "kind": "social_assistance",
        "required_documents": "NIK\nFamily card",
        "shared_fields": ["full_name", "date_of_birth"],
        "active": "y",
    }
    form.update(overrides)
    return form


def test_admin_creates_a_programme_then_writes_its_rule(app, login_as):
    admin = login_as("admin")
    response = admin.post("/admin/programmes/new", data=programme_form())
    assert response.status_code == 302 and response.headers["Location"].endswith("/rules")
    with app.app_context():
        programme = db.session.scalar(select(Programme).where(Programme.code == "ID-KIP"))
        assert programme.names == {"en": "KIP school aid", "id": "Kartu Indonesia Pintar"}
        assert programme.required_documents == ["NIK", "Family card"]
        assert programme.shared_fields == ["full_name", "date_of_birth"]
        assert programme.current_version_id is None
    editor = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "No version in force yet." in editor


def test_programme_form_refuses_an_agency_of_another_country_and_reversed_dates(app, login_as):
    admin = login_as("admin")
    response = admin.post(
        "/admin/programmes/new",
        data=programme_form(agency="VSS", active_from="2026-05-01", active_to="2026-01-01", name_en=""),
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "The agency works in VN" in html
    assert "The end date is before the start date." in html
    assert "Give at least the English name." in html
    assert 'value="Kartu Indonesia Pintar"' in html

"""The registry's pages as an officer uses them: register, profile, edit with conflicts, household."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from srs.core.models import AuditEntry
from srs.extensions import db
from srs.registry.models import Client
from tests.registry.conftest import VILLAGE_ID1, nik_for


def _form(**overrides):
    data = {
        "full_name": "Siti Aminah",
        "sex": "female",
        "date_of_birth": "1988-06-05",
        "id_type": "nik",
        "id_number": nik_for(date(1988, 6, 5), "female"),
        "phone": "0812 3456 7890",
        "region_code": VILLAGE_ID1,
        "monthly_income": "1.500.000",
        "disability": "no",
        "poverty_status": "poor",
        "consent_given": "y",
        "consent_date": "2026-01-10",
        "consent_scope": "Screening and referral",
    }
    data.update(overrides)
    return data


def test_home_has_search_and_register(login_as):
    html = login_as("officer").get("/").get_data(as_text=True)
    assert 'data-testid="home-search"' in html and "Register a client" in html
    supervisor = login_as("supervisor").get("/").get_data(as_text=True)
    assert 'data-testid="home-search"' in supervisor and "Register a client" not in supervisor
    assert "Review queue" in supervisor
    assert login_as("agency_staff").get("/clients/").status_code == 403


def test_nik_with_wrong_sex_is_refused_next_to_the_field_keeping_input(login_as, app):
    officer = login_as("officer")
    response = officer.post("/clients/new", data=_form(sex="male"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "so this NIK belongs to a woman, but the sex typed is male" in html
    assert 'value="Siti Aminah"' in html and 'value="1.500.000"' in html
    with app.app_context():
        assert db.session.scalar(select(Client)) is None


def test_bad_fields_get_messages(login_as):
    html = (
        login_as("officer")
        .post(
            "/clients/new",
            data=_form(
                date_of_birth="2090-01-01", monthly_income="-3", phone="12", region_code="35.76.01.1007"
            ),
        )
        .get_data(as_text=True)
    )
    assert "The date cannot be in the future." in html
    assert "Must be a whole number of 0 or more" in html
    assert "is not a valid phone number in" in html
    assert "No region in your area has the code 35.76.01.1007." in html


def test_register_then_profile_shows_full_id_timeline_and_is_audited(login_as, app):
    officer = login_as("officer")
    form = _form()
    response = officer.post("/clients/new", data=form)
    assert response.status_code == 302
    profile = officer.get(response.headers["Location"]).get_data(as_text=True)
    assert form["id_number"] in profile
    assert "+6281234567890" in profile and "Registered" in profile
    with app.app_context():
        client = db.session.scalar(select(Client))
        assert client.monthly_income == 1500000 and client.consent_recorded_by_id is not None
        reads = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "client.read")).all()
        assert len(reads) == 1
    listing = officer.get("/clients/").get_data(as_text=True)
    assert form["id_number"] not in listing and form["id_number"][-4:] in listing


def test_no_id_is_allowed_and_flagged_for_follow_up(login_as, app):
    response = login_as("officer").post("/clients/new", data=_form(id_type="none", id_number=""))
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Client)).needs_id_followup is True


def test_duplicate_id_links_to_the_existing_client(login_as, register_client):
    form = _form()
    existing = register_client(id_number=form["id_number"])
    response = login_as("officer").post("/clients/new", data=form)
    assert response.status_code == 409
    assert f'href="/clients/{existing}"' in response.get_data(as_text=True)


def test_edit_conflict_shows_what_the_other_changed_and_keeps_my_input(login_as, register_client, app):
    client_id = register_client()
    one, two = login_as("officer"), login_as("officer")
    assert 'name="version" type="hidden" value="1"' in one.get(f"/clients/{client_id}/edit").get_data(
        as_text=True
    )
    first = one.post(
        f"/clients/{client_id}/edit", data=_form(version="1", occupation="Penjahit", id_number="")
    )
    assert first.status_code == 422  # the edit form needs the ID number too
    with app.app_context():
        number = db.session.get(Client, client_id).id_number
    ok = one.post(
        f"/clients/{client_id}/edit", data=_form(version="1", occupation="Penjahit", id_number=number)
    )
    assert ok.status_code == 302
    late = two.post(
        f"/clients/{client_id}/edit", data=_form(version="1", occupation="Nelayan", id_number=number)
    )
    assert late.status_code == 409
    html = late.get_data(as_text=True)
    assert 'data-testid="conflict"' in html
    assert "<td>occupation</td><td>officer.id1</td><td>Penjahit</td><td>Nelayan</td>" in html
    assert 'value="Nelayan"' in html and 'name="version" type="hidden" value="2"' in html
    with app.app_context():
        assert db.session.get(Client, client_id).occupation == "Penjahit"
    again = two.post(
        f"/clients/{client_id}/edit", data=_form(version="2", occupation="Nelayan", id_number=number)
    )
    assert again.status_code == 302
    timeline = two.get(f"/clients/{client_id}").get_data(as_text=True)
    assert "occupation: Penjahit → Nelayan" in timeline


def test_household_member_added_from_the_profile(login_as, register_client, app):
    head = register_client()
    spouse = register_client(full_name="Slamet", sex="male", date_of_birth="1985-02-02")
    officer = login_as("officer")
    assert (
        officer.post(
            f"/clients/{head}/members",
            data={"member_client_id": str(spouse), "relationship_to_head": "spouse"},
        ).status_code
        == 302
    )
    assert (
        officer.post(
            f"/clients/{head}/members",
            data={"full_name": "Rina", "relationship_to_head": "child", "date_of_birth": "2015-04-01"},
        ).status_code
        == 302
    )
    bad = officer.post(f"/clients/{head}/members", data={"full_name": "", "relationship_to_head": "head"})
    assert bad.status_code == 422
    html = officer.get(f"/clients/{head}").get_data(as_text=True)
    assert "Slamet" in html and "Rina" in html and "spouse" in html
    with app.app_context():
        assert db.session.get(Client, spouse).household_id == db.session.get(Client, head).household_id

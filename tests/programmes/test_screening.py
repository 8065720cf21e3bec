"""Screening from the profile and through the API: every active programme, grouped, explained, stored."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from srs.core import clock
from srs.core.models import AuditEntry
from srs.core.slots import timeline_for
from srs.core.transaction import commit
from srs.extensions import db
from srs.programmes.models import Screening
from srs.programmes.seed import seed_catalogue
from tests.factories import make_programme
from tests.programmes.conftest import make_client


def _years_ago(years: int) -> date:
    today = clock.today()
    return today.replace(year=today.year - years, day=min(today.day, 28))


def street_vendor(**overrides):
    fields = {
        "full_name": "Sri Wahyuni",
        "date_of_birth": _years_ago(34),
        "occupation": "street vendor",
        "work_status": "informal",
        "monthly_income": 2_600_000,
        "household_size": 4,
        "in_education": None,
        "poverty_status": "near_poor",
        "welfare_decile": 5,
    }
    fields.update(overrides)
    return make_client("35.16.08.2003", **fields)


def setup_catalogue(app):
    with app.test_request_context():
        seed_catalogue("x")
        make_programme(
            "ID-OLD",
            criteria={"all": [{"field": "age", "op": ">=", "value": 0}]},
            active_to=clock.today() - timedelta(days=1),
        )
        make_programme("ID-OFF", criteria={"all": [{"field": "age", "op": ">=", "value": 0}]}, active=False)
        vendor = street_vendor()
        far = make_client("35.76.01.1007", full_name="Out Of Scope")
        ids = vendor.id, far.id
        commit()
    return ids


def test_api_screening_has_the_documented_shape(app, api_token):
    vendor_id, _far = setup_catalogue(app)
    response = app.test_client().post(f"/api/v1/clients/{vendor_id}/screenings", headers=api_token("officer"))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) >= {"id", "client_id", "screened_at", "results"}
    assert body["client_id"] == vendor_id
    codes = sorted(r["programme"]["code"] for r in body["results"])
    # Every active Indonesian programme; not the expired one, not the inactive one, not Viet Nam's.
    assert codes == ["ID-BPJSTK-BPU", "ID-BPNT", "ID-JKN-PBI", "ID-PKH", "ID-PRAKERJA"]
    by_code = {r["programme"]["code"]: r for r in body["results"]}
    bpu = by_code["ID-BPJSTK-BPU"]
    assert set(bpu) >= {"programme", "rule_version", "outcome", "reasons"}
    assert bpu["outcome"] == "eligible" and bpu["rule_version"] == 1
    assert all(set(reason) == {"criterion", "passed", "detail"} for reason in bpu["reasons"])
    assert by_code["ID-BPNT"]["outcome"] == "eligible"
    assert by_code["ID-JKN-PBI"]["outcome"] == "not_eligible"
    assert by_code["ID-PKH"]["outcome"] == "not_eligible"
    prakerja = by_code["ID-PRAKERJA"]
    assert prakerja["outcome"] == "needs_information"
    assert prakerja["ask"] == ["in education"]
    assert {
        "criterion": "in_education = false",
        "passed": None,
        "detail": "in education is not known",
    } in prakerja["reasons"]
    again = app.test_client().get(f"/api/v1/screenings/{body['id']}", headers=api_token("supervisor"))
    assert again.status_code == 200 and again.get_json()["results"] == body["results"]
    assert response.headers["Location"].endswith(f"/api/v1/screenings/{body['id']}")


def test_api_scope_and_roles(app, api_token):
    vendor_id, far_id = setup_catalogue(app)
    c = app.test_client()
    assert c.post(f"/api/v1/clients/{far_id}/screenings", headers=api_token("officer")).status_code == 404
    assert (
        c.post(f"/api/v1/clients/{vendor_id}/screenings", headers=api_token("supervisor")).status_code == 403
    )
    assert (
        c.post(f"/api/v1/clients/{vendor_id}/screenings", headers=api_token("agency_staff")).status_code
        == 403
    )
    created = c.post(f"/api/v1/clients/{vendor_id}/screenings", headers=api_token("admin")).get_json()
    assert c.get(f"/api/v1/screenings/{created['id']}", headers=api_token("officer2")).status_code == 404


def test_programmes_api_lists_rules_as_data(app, api_token):
    setup_catalogue(app)
    body = app.test_client().get("/api/v1/programmes?country=VN", headers=api_token("officer")).get_json()
    codes = {p["code"] for p in body["items"]}
    assert codes == {"VN-BHXH-TN", "VN-BHYT-HGD", "VN-TCXH", "VN-ESC-HN"}
    esc = next(p for p in body["items"] if p["code"] == "VN-ESC-HN")
    assert esc["agency"]["code"] == "ESC-HN"
    assert set(esc["agency"]) == {"code", "name", "address", "phone", "email", "opening_hours"}
    assert esc["rule_version"] == 1 and esc["active"] is True
    assert {"field": "region", "op": "in", "value": ["01"]} in esc["criteria"]["all"]


def test_officer_screens_from_the_page_and_reads_reasons(app, login_as):
    vendor_id, _far = setup_catalogue(app)
    officer = login_as("officer")
    page = officer.get(f"/clients/{vendor_id}/screening")
    assert page.status_code == 200 and "Not screened yet" in page.get_data(as_text=True)
    response = officer.post(f"/clients/{vendor_id}/screenings")
    assert response.status_code == 302
    html = officer.get(response.headers["Location"]).get_data(as_text=True)
    assert "Eligible" in html and "Needs information" in html and "Not eligible" in html
    assert "work status informal worker is one of informal worker" in html
    assert "would qualify with welfare decile of at most 4" in html
    assert "welfare decile 5 is above the limit 4" in html
    assert "Ask the person about:" in html
    with app.app_context():
        screening = db.session.scalars(select(Screening)).one()
        assert screening.trigger == "officer"
        assert {r.rule_version.number for r in screening.results} == {1}
        actions = set(db.session.scalars(select(AuditEntry.action)))
        assert {"client.screen", "screening.read"} <= actions
        from srs.registry.models import Client

        with app.test_request_context():
            items = timeline_for(db.session.get(Client, vendor_id))
        # Newest first: the screening stands above the registration the registry records.
        assert [i.kind for i in items if i.kind == "screening"] == ["screening"]
        assert items[0].kind == "screening"
        assert "eligible" in items[0].detail


def test_result_page_and_screen_button_respect_scope_and_roles(app, login_as):
    vendor_id, far_id = setup_catalogue(app)
    assert login_as("officer").post(f"/clients/{far_id}/screenings").status_code == 404
    assert login_as("supervisor").post(f"/clients/{vendor_id}/screenings").status_code == 403
    officer = login_as("officer")
    location = officer.post(f"/clients/{vendor_id}/screenings").headers["Location"]
    assert login_as("supervisor").get(location).status_code == 200
    assert login_as("officer2").get(location).status_code == 404
    assert login_as("agency_staff").get(location).status_code == 403


def test_profile_slot_shows_latest_screening_and_button(app, login_as):
    vendor_id, _far = setup_catalogue(app)
    officer = login_as("officer")
    officer.post(f"/clients/{vendor_id}/screenings")
    with app.test_request_context():
        from flask_login import login_user

        from srs.accounts.models import User
        from srs.core.slots import render_slot
        from srs.registry.models import Client

        login_user(db.session.scalar(select(User).where(User.username == "officer.id1")))
        html = str(render_slot("client_profile", client=db.session.get(Client, vendor_id)))
    assert "Screen now" in html and "See why" in html and "eligible" in html


def test_openapi_describes_the_programme_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "post" in paths["/clients/{client_id}/screenings"]
    assert "get" in paths["/screenings/{screening_id}"]
    assert "get" in paths["/programmes"]

"""Administrator pages for partner systems, the demo partner, and a registered partner at work."""

from __future__ import annotations

from sqlalchemy import select

from srs.dci.models import DciPartner
from srs.extensions import db
from tests.conftest import DEMO_PASSWORD


def _form(**overrides):  # type: ignore[no-untyped-def]
    data = {
        "username": "spmis.kemensos",
        "password": "a-long-enough-password",
        "name": "SPMIS Kemensos",
        "sender_id": "spmis.kemensos.go.id",
        "id_types": ["NIK"],
        "attributes": ["age", "gender"],
        "record_fields": ["identifiers", "sex"],
        "callback_bases": "https://spmis.example.org/dci/\n",
        "public_key": "",
        "active": "y",
    }
    data.update(overrides)
    return data


def test_the_demo_partner_is_listed_and_allowed_everything(app, login_as):
    admin = login_as("admin")
    page = admin.get("/admin/dci/")
    assert page.status_code == 200 and "partner.dci" in page.get_data(as_text=True)
    with app.app_context():
        demo = db.session.scalar(select(DciPartner).where(DciPartner.sender_id == "partner.dci"))
        assert "disability" in demo.attributes and demo.callback_bases == ["http://127.0.0.1:3336/"]


def test_an_admin_registers_a_partner_who_then_takes_a_token(app, login_as, client):
    admin = login_as("admin")
    form = admin.get("/admin/dci/new").get_data(as_text=True)
    assert (
        'value="disability"' in form and 'value="disability" checked' not in form
    )  # sensitive: off by default
    response = admin.post("/admin/dci/new", data=_form())
    assert response.status_code == 302
    with app.app_context():
        partner = db.session.scalar(select(DciPartner).where(DciPartner.sender_id == "spmis.kemensos.go.id"))
        assert partner.user.role == "partner" and partner.id_types == ["NIK"]
    token = client.post(
        "/api/v1/auth/token", json={"username": "spmis.kemensos", "password": "a-long-enough-password"}
    )
    assert token.status_code == 201 and token.get_json()["user"]["role"] == "partner"


def test_bad_profiles_are_refused_next_to_the_field(app, login_as):
    admin = login_as("admin")
    response = admin.post(
        "/admin/dci/new",
        data=_form(
            callback_bases="ftp://nowhere\nhttps://no-slash.example",
            public_key="not a key",
            sender_id="has space",
        ),
    )
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "ftp://nowhere is not an http(s) address" in text
    assert "A callback base ends with a slash" in text
    assert "Not an Ed25519 public key" in text
    assert "without spaces" in text
    with app.app_context():
        assert db.session.scalar(select(DciPartner).where(DciPartner.name == "SPMIS Kemensos")) is None


def test_an_admin_narrows_a_profile_and_deactivating_ends_its_tokens(app, login_as, client):
    admin = login_as("admin")
    with app.app_context():
        demo_id = db.session.scalar(select(DciPartner.id).where(DciPartner.sender_id == "partner.dci"))
    token = client.post("/api/v1/auth/token", json={"username": "partner.dci", "password": DEMO_PASSWORD})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    response = admin.post(
        f"/admin/dci/{demo_id}",
        data=_form(sender_id="partner.dci", callback_bases="http://127.0.0.1:3336/", active=""),
    )
    assert response.status_code == 302
    with app.app_context():
        demo = db.session.get(DciPartner, demo_id)
        assert demo.attributes == ["age", "gender"] and not demo.user.active
    assert client.post("/dci/registry/sync/search", json={}, headers=headers).status_code == 401

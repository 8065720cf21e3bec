"""The installable app and the device key: no one's data cached, the key only for a valid session."""

from __future__ import annotations

import base64
import uuid

from tests.conftest import login


def test_service_worker_is_served_for_the_whole_app_and_caches_only_shells(client, demo):
    response = client.get("/sw.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    config = response.get_data(as_text=True).split("\n", 1)[0]
    assert "/offline/" in config and "/static/css/srs.css" in config
    for personal in ("/clients", "/offline/fields", "/offline/key", "/offline/session", "/api/"):
        assert f'"{personal}' not in config
    manifest = client.get("/manifest.webmanifest").get_json(force=True)
    assert manifest["start_url"] == "/offline/" and manifest["display"] == "standalone"


def test_the_shell_holds_no_data_even_when_signed_in(login_as):
    officer = login_as("officer")
    for url in ("/offline/", "/offline/household", "/offline/pending"):
        html = officer.get(url).get_data(as_text=True)
        assert "officer.id1" not in html and "csrf_token" not in html
        assert 'data-testid="offline-form"' in html or 'data-testid="pending-list"' in html


def test_device_key_only_while_signed_in_and_never_after_sign_out(app, demo):
    device = str(uuid.uuid4())
    browser = app.test_client()
    assert browser.post("/offline/key", json={"device_id": device}).status_code == 302  # to the login page
    login(browser, "officer.id1")
    key = browser.post("/offline/key", json={"device_id": device})
    assert key.status_code == 200 and key.headers["Cache-Control"] == "no-store"
    raw = key.get_json()["key"]
    assert len(base64.urlsafe_b64decode(raw + "==")) == 32
    assert browser.post("/offline/key", json={"device_id": device}).get_json()["key"] == raw  # stable
    assert browser.post("/offline/key", json={"device_id": "../x"}).status_code == 422
    assert browser.post("/offline/forget", json={"device_id": device}).get_json() == {"revoked": True}
    assert browser.post("/offline/key", json={"device_id": device}).status_code == 403
    browser.post("/logout")
    state = browser.get(f"/offline/session?device_id={device}").get_json()
    assert state == {"signed_in": False, "wipe": True}


def test_a_deactivated_users_device_is_told_to_wipe(app, demo):
    from srs.extensions import db
    from tests.factories import user

    device = str(uuid.uuid4())
    browser = app.test_client()
    login(browser, "officer.id1")
    browser.post("/offline/key", json={"device_id": device})
    assert browser.get(f"/offline/session?device_id={device}").get_json()["signed_in"] is True
    anonymous = app.test_client()
    assert anonymous.get(f"/offline/session?device_id={device}").get_json()["wipe"] is False  # idle: kept
    with app.app_context():
        user("officer.id1").active = False
        db.session.commit()
    assert anonymous.get(f"/offline/session?device_id={device}").get_json()["wipe"] is True


def test_fields_for_the_offline_form_are_the_apis(login_as, api_token, client):
    officer = login_as("officer")
    offline = officer.get("/offline/fields").get_json()
    api = client.get("/api/v1/fields/clients", headers=api_token("officer")).get_json()
    assert offline["items"] == api["items"]
    assert {r["code"] for r in offline["regions"]} >= {"35.16.08.2003"}
    phone = next(f for f in api["items"] if f["name"] == "phone")
    assert phone["phone_rules"]["ID"]["calling_code"] == "62"


def test_each_offline_shell_weighs_under_200_kb(client):
    from srs.offline.weight import shell_weight

    for shell in ("/offline/", "/offline/household", "/offline/pending", "/offline/edit"):
        weights = shell_weight(client, shell)
        assert len(weights) == 5 and all(w.raw > 0 for w in weights)
        assert sum(w.raw for w in weights) < 200 * 1024

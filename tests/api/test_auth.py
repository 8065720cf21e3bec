"""The API foundation: tokens, bearer auth, problem+json."""

from datetime import timedelta

from sqlalchemy import select

from srs.accounts.models import ApiToken
from srs.core.clock import now as utcnow
from srs.extensions import db
from tests.conftest import DEMO_PASSWORD


def test_token_endpoint_returns_user_with_role_regions_agency(client, demo):
    response = client.post("/api/v1/auth/token", json={"username": "officer.id1", "password": DEMO_PASSWORD})
    assert response.status_code == 201
    body = response.get_json()
    assert body["token"] and body["expires_at"]
    assert body["user"]["role"] == "officer"
    assert body["user"]["regions"] == ["35.16"]
    assert body["user"]["agency"] is None
    staff = client.post("/api/v1/auth/token", json={"username": "agency.bpjstk", "password": DEMO_PASSWORD})
    assert staff.get_json()["user"]["agency"] == "BPJSTK"


def test_tokens_are_stored_hashed(app, client, demo):
    token = client.post(
        "/api/v1/auth/token", json={"username": "officer.id1", "password": DEMO_PASSWORD}
    ).get_json()["token"]
    with app.app_context():
        stored = db.session.scalars(select(ApiToken)).all()
    assert len(stored) == 1 and stored[0].token_hash != token and token not in stored[0].token_hash


def test_bad_credentials_401_problem_json(client, demo):
    response = client.post("/api/v1/auth/token", json={"username": "officer.id1", "password": "nope-nope"})
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 401


def test_malformed_json_400_problem(client, demo):
    response = client.post("/api/v1/auth/token", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["title"]


def test_missing_fields_422_with_field_errors(client, demo):
    response = client.post("/api/v1/auth/token", json={"username": "officer.id1"})
    assert response.status_code == 422
    assert "password" in response.get_json()["errors"]


def test_no_token_unknown_token_revoked_token_expired_token(app, client, api_token):
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    headers = api_token("officer")
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    headers = api_token("officer")
    with app.app_context():
        for token in db.session.scalars(select(ApiToken).where(ApiToken.revoked_at.is_(None))):
            token.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401 and response.mimetype == "application/problem+json"


def test_session_cookie_does_not_open_the_api(login_as):
    browser = login_as("officer")
    assert browser.get("/api/v1/me").status_code == 401


def test_token_endpoint_is_throttled(client, demo):
    for _ in range(5):
        client.post("/api/v1/auth/token", json={"username": "officer.id1", "password": "wrong-one"})
    response = client.post("/api/v1/auth/token", json={"username": "officer.id1", "password": DEMO_PASSWORD})
    assert response.status_code == 429
    assert response.mimetype == "application/problem+json"


def test_unknown_api_route_404_problem(client, api_token):
    response = client.get("/api/v1/nothing-here", headers=api_token("officer"))
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_regions_api(client, api_token):
    headers = api_token("officer")
    top = client.get("/api/v1/regions", headers=headers).get_json()
    codes = {item["code"]: item for item in top["items"]}
    assert {"35", "34", "01"} <= set(codes)
    assert codes["01"]["country"] == "VN" and codes["35"]["parent_code"] is None
    below = client.get("/api/v1/regions?parent=35", headers=headers).get_json()["items"]
    assert {r["code"] for r in below} == {"35.16", "35.76"}
    assert all(r["parent_code"] == "35" for r in below)
    vn_only = client.get("/api/v1/regions?country=VN", headers=headers).get_json()["items"]
    assert [r["code"] for r in vn_only] == ["01"]
    assert client.get("/api/v1/regions?parent=99.99", headers=headers).status_code == 404


def test_openapi_document(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    assert "/auth/token" in doc["paths"] and "/regions" in doc["paths"]
    assert "Problem" in doc["components"]["schemas"]

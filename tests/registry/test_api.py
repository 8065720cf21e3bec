"""The clients API (/api/v1/openapi.json): create, read, search, update; errors as problem+json."""

from __future__ import annotations

from sqlalchemy import func, select

from srs.core.models import AuditEntry
from srs.extensions import db
from srs.registry.models import Client
from tests.registry.conftest import VILLAGE_ID2, payload


def test_create_returns_201_with_location_and_the_client(client, api_token):
    headers = api_token("officer")
    body = payload()
    response = client.post("/api/v1/clients", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/clients/{data['id']}")
    assert data["id_number"] == body["id_number"]
    assert data["version"] == 1
    assert data["possible_duplicates"] == []
    assert data["consent"]["given"] is True and data["consent"]["recorded_by"] is not None
    assert data["screenings"] == [] and data["referrals"] == []


def test_wrong_sex_for_nik_is_422_on_id_number(client, api_token):
    body = payload(sex="male")
    body["id_number"] = payload(sex="female")["id_number"]
    response = client.post("/api/v1/clients", json=body, headers=api_token("officer"))
    assert response.status_code == 422
    problem = response.get_json()
    assert response.mimetype == "application/problem+json"
    assert "woman" in " ".join(problem["errors"]["id_number"])


def test_missing_fields_are_listed_per_field(client, api_token):
    response = client.post("/api/v1/clients", json={"full_name": ""}, headers=api_token("officer"))
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert {"full_name", "sex", "date_of_birth", "region_code", "consent"} <= errors.keys()


def test_same_id_number_twice_is_409_naming_the_client_only_in_scope(client, api_token, app):
    body = payload()
    first = client.post("/api/v1/clients", json=body, headers=api_token("officer")).get_json()
    again = client.post("/api/v1/clients", json=body, headers=api_token("officer"))
    assert again.status_code == 409
    assert f"#{first['id']}" in again.get_json()["detail"]
    assert again.get_json()["existing_client_id"] == first["id"]
    # officer.id2 works elsewhere: told it is taken, not by whom.
    other = client.post(
        "/api/v1/clients", json={**body, "region_code": VILLAGE_ID2}, headers=api_token("officer2")
    )
    assert other.status_code == 409
    assert str(first["id"]) not in other.get_json()["detail"]
    assert "existing_client_id" not in other.get_json()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Client)) == 1


def test_probable_duplicate_is_listed_and_flagged(client, api_token):
    headers = api_token("officer")
    first = client.post("/api/v1/clients", json=payload(full_name="Siti Aminah"), headers=headers).get_json()
    second = client.post(
        "/api/v1/clients",
        json=payload(full_name="  SITI   aminah ", id_type="none", id_number=None),
        headers=headers,
    )
    assert second.status_code == 201
    data = second.get_json()
    assert [d["id"] for d in data["possible_duplicates"]] == [first["id"]]
    assert data["needs_review"] is True
    assert data["needs_id_followup"] is True


def test_list_masks_id_numbers_and_read_shows_it_and_is_audited(client, api_token, app):
    headers = api_token("officer")
    body = payload()
    created = client.post("/api/v1/clients", json=body, headers=headers).get_json()
    listed = client.get("/api/v1/clients?q=siti", headers=headers).get_json()
    assert listed["total"] == 1
    assert listed["items"][0]["id_number"] == "*" * 12 + body["id_number"][-4:]
    one = client.get(f"/api/v1/clients/{created['id']}", headers=headers)
    assert one.get_json()["id_number"] == body["id_number"]
    with app.app_context():
        reads = db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "client.read", AuditEntry.object_id == str(created["id"])
            )
        ).all()
        assert len(reads) == 1 and reads[0].username == "officer.id1"
        assert body["id_number"] not in str([e.details for e in db.session.scalars(select(AuditEntry))])


def test_search_by_id_number_and_phone(client, api_token):
    headers = api_token("officer")
    body = payload(phone="0812-3456-7890")
    created = client.post("/api/v1/clients", json=body, headers=headers).get_json()
    assert created["phone"] == "+6281234567890"
    by_id = client.get(f"/api/v1/clients?q={body['id_number']}", headers=headers).get_json()
    by_phone = client.get("/api/v1/clients?q=+62 812 3456 7890", headers=headers).get_json()
    by_local = client.get("/api/v1/clients?q=081234567890", headers=headers).get_json()
    assert [c["id"] for c in by_id["items"]] == [created["id"]]
    assert [c["id"] for c in by_phone["items"]] == [created["id"]]
    assert [c["id"] for c in by_local["items"]] == [created["id"]]


def test_out_of_scope_client_is_404_for_officer2_and_visible_to_supervisor(client, api_token):
    created = client.post("/api/v1/clients", json=payload(), headers=api_token("officer")).get_json()
    assert client.get(f"/api/v1/clients/{created['id']}", headers=api_token("officer2")).status_code == 404
    assert client.get("/api/v1/clients?q=siti", headers=api_token("officer2")).get_json()["total"] == 0
    patch = client.patch(
        f"/api/v1/clients/{created['id']}",
        json={"version": 1, "occupation": "x"},
        headers=api_token("officer2"),
    )
    assert patch.status_code == 404
    assert client.get(f"/api/v1/clients/{created['id']}", headers=api_token("supervisor")).status_code == 200
    assert client.get("/api/v1/clients", headers=api_token("agency_staff")).status_code == 403
    assert client.post("/api/v1/clients", json=payload(), headers=api_token("supervisor")).status_code == 403


def test_region_outside_scope_is_refused(client, api_token):
    response = client.post(
        "/api/v1/clients", json=payload(region_code=VILLAGE_ID2), headers=api_token("officer")
    )
    assert response.status_code == 422
    assert "35.76.01.1007" in response.get_json()["errors"]["region_code"][0]


def test_patch_with_current_version_then_stale_version_is_409(client, api_token):
    headers = api_token("officer")
    created = client.post("/api/v1/clients", json=payload(), headers=headers).get_json()
    url = f"/api/v1/clients/{created['id']}"
    ok = client.patch(url, json={"version": 1, "occupation": "Penjahit"}, headers=headers)
    assert ok.status_code == 200, ok.get_json()
    assert ok.get_json()["version"] == 2 and ok.get_json()["occupation"] == "Penjahit"
    stale = client.patch(url, json={"version": 1, "occupation": "Nelayan"}, headers=headers)
    assert stale.status_code == 409
    assert stale.get_json()["changed"][0]["field"] == "occupation"
    assert stale.get_json()["current_version"] == 2
    via_header = client.patch(url, json={"monthly_income": 100}, headers={**headers, "If-Match": '"2"'})
    assert via_header.status_code == 200
    assert client.get(url, headers=headers).get_json()["occupation"] == "Penjahit"


def test_patch_validates_like_create(client, api_token):
    headers = api_token("officer")
    created = client.post("/api/v1/clients", json=payload(), headers=headers).get_json()
    url = f"/api/v1/clients/{created['id']}"
    bad = client.patch(url, json={"version": 1, "monthly_income": -5, "sex": "male"}, headers=headers)
    assert bad.status_code == 422
    assert {"monthly_income", "id_number"} <= bad.get_json()["errors"].keys()
    assert client.patch(url, json={"occupation": "x"}, headers=headers).status_code == 422


def test_household_members_on_create(client, api_token):
    body = payload(
        household={
            "members": [
                {
                    "full_name": "Budi",
                    "relationship_to_head": "child",
                    "sex": "male",
                    "date_of_birth": "2015-02-01",
                }
            ]
        }
    )
    data = client.post("/api/v1/clients", json=body, headers=api_token("officer")).get_json()
    names = [(m["full_name"], m["relationship_to_head"]) for m in data["household"]["members"]]
    assert names == [("Siti Aminah", "head"), ("Budi", "child")]


def test_openapi_describes_the_client_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"post", "get"} <= paths["/clients"].keys()
    assert {"get", "patch"} <= paths["/clients/{client_id}"].keys()

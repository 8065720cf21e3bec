"""Search by name (no diacritics, typos), ID number and phone, within the caller's scope."""

from __future__ import annotations

import pytest

from tests.registry.conftest import VILLAGE_ID2, payload, vn_payload


@pytest.fixture
def huong(register_client):
    register_client("officer.vn1", data=vn_payload(full_name="Nguyễn Thị Hương"))
    register_client("officer.vn1", data=vn_payload(full_name="Trần Văn Nam", sex="male"))
    register_client("officer.vn1", data=vn_payload(full_name="Lê Thị Hoa"))


@pytest.mark.parametrize(
    "query",
    ["Nguyễn Thị Hương", "nguyen thi huong", "NGUYEN THI HUONG", "nguyen thi huogn", "nguyn thi huong"],
)
def test_name_without_diacritics_or_with_a_typo_finds_her(client, api_token, huong, query):
    found = client.get("/api/v1/clients", query_string={"q": query}, headers=api_token("officer_vn"))
    names = [c["full_name"] for c in found.get_json()["items"]]
    assert names and names[0] == "Nguyễn Thị Hương"
    assert "Trần Văn Nam" not in names


def test_search_page_finds_by_name_without_diacritics(login_as, huong):
    html = login_as("officer_vn").get("/clients/?q=nguyen+thi+huogn").get_data(as_text=True)
    assert "Nguyễn Thị Hương" in html and "Trần Văn Nam" not in html


def test_officer2_cannot_find_or_open_officer1_clients(client, api_token, login_as, register_client, app):
    mine = register_client(full_name="Siti Aminah")
    theirs = register_client("officer.id2", data=payload(full_name="Siti Aminah", region_code=VILLAGE_ID2))
    found = client.get("/api/v1/clients?q=siti aminah", headers=api_token("officer2")).get_json()
    assert [c["id"] for c in found["items"]] == [theirs]
    officer2 = login_as("officer2")
    assert officer2.get(f"/clients/{mine}").status_code == 404
    assert officer2.get(f"/clients/{mine}/edit").status_code == 404
    assert client.get(f"/api/v1/clients/{mine}", headers=api_token("officer2")).status_code == 404
    assert "Siti Aminah" in officer2.get("/clients/?q=siti").get_data(as_text=True)
    assert f"/clients/{mine}" not in officer2.get("/clients/?q=siti").get_data(as_text=True)
    # The supervisor of the province sees both.
    both = client.get("/api/v1/clients?q=siti", headers=api_token("supervisor")).get_json()
    assert {c["id"] for c in both["items"]} == {mine, theirs}


def test_pagination_and_region_filter(client, api_token, register_client):
    for i in range(5):
        register_client(full_name=f"Budi Santoso {chr(65 + i)}", sex="male", date_of_birth=f"198{i}-01-01")
    headers = api_token("officer")
    first = client.get("/api/v1/clients?per_page=2&page=1", headers=headers).get_json()
    assert first["total"] == 5 and len(first["items"]) == 2
    third = client.get("/api/v1/clients?per_page=2&page=3", headers=headers).get_json()
    assert len(third["items"]) == 1
    assert client.get("/api/v1/clients?per_page=500", headers=headers).status_code == 422
    inside = client.get("/api/v1/clients?region=35.16.08", headers=headers).get_json()
    assert inside["total"] == 5
    elsewhere = client.get("/api/v1/clients?region=35.16.12", headers=headers).get_json()
    assert elsewhere["total"] == 0
    assert client.get("/api/v1/clients?region=35.76", headers=headers).status_code == 404


def test_name_search_follows_renames_moves_and_merges(client, api_token, register_client, app):
    from srs.core.transaction import commit
    from srs.extensions import db
    from srs.registry import merge, services
    from srs.registry.models import Client
    from tests.registry.conftest import user

    renamed = register_client(full_name="Dewi Lestari")
    kept = register_client(full_name="Rahmawati Putri", date_of_birth="1970-01-01")
    merged = register_client(full_name="Rahmawati Putri", date_of_birth="1970-01-01")
    with app.test_request_context():
        officer = user("officer.id1")
        record = db.session.get(Client, renamed)
        services.update_client(record, {"full_name": "Dewi Anggraini"}, officer, record.version)
        merge.merge_clients(db.session.get(Client, kept), db.session.get(Client, merged), user("admin"))
        commit()
    headers = api_token("officer")

    def ids(q, region=None):
        params = {"q": q, **({"region": region} if region else {})}
        return [
            c["id"]
            for c in client.get("/api/v1/clients", query_string=params, headers=headers).get_json()["items"]
        ]

    assert ids("dewi anggrain") == [renamed]
    assert renamed not in ids("dewi lestari")
    assert ids("rahmawati putr") == [kept]
    assert ids("rahmawati putri", region="35.16.12") == []


def test_a_page_number_too_large_for_the_database_is_refused_or_ignored(
    client, api_token, login_as, register_client
):
    register_client(full_name="Budi Santoso", sex="male", date_of_birth="1980-01-01")
    huge = "99999999999999999999"
    response = client.get(f"/api/v1/clients?page={huge}", headers=api_token("officer"))
    assert response.status_code == 422
    assert "page" in response.get_json()["errors"]
    # HTML lists fall back to the first page instead.
    page = login_as("officer").get(f"/clients/?page={huge}")
    assert page.status_code == 200 and "Budi Santoso" in page.get_data(as_text=True)

"""ID numbers stay out of URLs: the search page and the API take the query in the request body."""

from __future__ import annotations

import re

import pytest

from srs.extensions import db
from srs.registry.models import Client
from tests.registry.conftest import payload


@pytest.fixture
def siti(app, register_client):  # type: ignore[no-untyped-def]
    client_id = register_client(full_name="Siti Aminah")
    with app.app_context():
        return client_id, db.session.get(Client, client_id).id_number


@pytest.mark.parametrize("role", ["officer", "supervisor", "admin"])
def test_the_search_page_posts_the_id_number(login_as, siti, role):
    client_id, nik = siti
    browser = login_as(role)
    form_page = browser.get("/clients/").get_data(as_text=True)
    assert re.search(r'<form method="post" action="/clients/"[^>]*role="search"', form_page)
    response = browser.post("/clients/", data={"q": nik})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f"/clients/{client_id}" in html and "Siti Aminah" in html
    # The number is in the page (the search box keeps it) but in no link.
    assert not [href for href in re.findall(r'href="([^"]*)"', html) if nik in href]


def test_the_home_page_search_posts_too(login_as):
    html = login_as("officer").get("/").get_data(as_text=True)
    assert re.search(r'<form method="post" action="/clients/" class="registry-search"', html)
    assert 'name="csrf_token"' in html.split('class="registry-search"', 1)[1].split("</form>", 1)[0]


def test_pages_of_a_posted_search_are_posted(login_as, register_client):
    for i in range(5):
        register_client(full_name=f"Budi Santoso {chr(65 + i)}", sex="male", date_of_birth=f"198{i}-01-01")
    browser = login_as("officer")
    first = browser.post("/clients/", data={"q": "budi", "per_page": "2"}).get_data(as_text=True)
    assert "Page 1 of 3" in first
    assert 'name="page" value="2"' in first and "?q=" not in first
    second = browser.post("/clients/", data={"q": "budi", "per_page": "2", "page": "2"})
    assert "Page 2 of 3" in second.get_data(as_text=True)


def test_a_link_with_q_still_works(login_as, siti):
    html = login_as("officer").get("/clients/?q=siti").get_data(as_text=True)
    assert "Siti Aminah" in html


@pytest.mark.parametrize("role", ["agency_staff"])
def test_roles_without_the_registry_cannot_search(login_as, siti, role):
    assert login_as(role).post("/clients/", data={"q": siti[1]}).status_code == 403


def test_signed_out_search_goes_to_the_sign_in_page(client, siti):
    response = client.post("/clients/", data={"q": siti[1]})
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ["officer", "supervisor", "admin"])
def test_api_search_by_post_gives_what_the_get_gives(client, api_token, siti, role):
    client_id, nik = siti
    headers = api_token(role)
    posted = client.post("/api/v1/clients/search", json={"q": nik}, headers=headers)
    assert posted.status_code == 200
    assert posted.headers["Cache-Control"] == "no-store"
    body = posted.get_json()
    assert [c["id"] for c in body["items"]] == [client_id]
    assert body["items"][0]["id_number"].endswith(nik[-4:]) and nik not in str(body)
    got = client.get("/api/v1/clients", query_string={"q": nik}, headers=headers).get_json()
    assert got == body


def test_api_search_by_post_pages_and_regions(client, api_token, register_client):
    for i in range(3):
        register_client(full_name=f"Budi Santoso {chr(65 + i)}", sex="male", date_of_birth=f"198{i}-01-01")
    headers = api_token("officer")
    page = client.post(
        "/api/v1/clients/search", json={"q": "budi", "per_page": 2, "page": 2}, headers=headers
    )
    assert page.get_json()["total"] == 3 and len(page.get_json()["items"]) == 1
    inside = client.post("/api/v1/clients/search", json={"region": "35.16.08"}, headers=headers).get_json()
    assert inside["total"] == 3
    outside = client.post("/api/v1/clients/search", json={"region": "35.76"}, headers=headers)
    assert outside.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [({"q": 3516}, "q"), ({"q": ["x"]}, "q"), ({"region": {}}, "region"), ({"page": "x"}, "page")],
)
def test_api_search_by_post_refuses_bad_input(client, api_token, siti, body, field):
    response = client.post("/api/v1/clients/search", json=body, headers=api_token("officer"))
    assert response.status_code == 422 and field in response.get_json()["errors"]
    assert response.mimetype == "application/problem+json"


def test_api_search_by_post_needs_a_json_object_and_a_reader(client, api_token, siti):
    headers = api_token("officer")
    assert client.post("/api/v1/clients/search", data="{", headers=headers).status_code == 400
    assert client.post("/api/v1/clients/search", json=[], headers=headers).status_code == 400
    assert client.post("/api/v1/clients/search", json={"q": siti[1]}).status_code == 401
    agency = client.post("/api/v1/clients/search", json={"q": siti[1]}, headers=api_token("agency_staff"))
    assert agency.status_code == 403


def test_the_openapi_document_describes_the_post_search(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    search = paths["/clients/search"]["post"]
    assert set(search["requestBody"]["content"]["application/json"]["schema"]["properties"]) == {
        "q",
        "region",
        "page",
        "per_page",
    }
    assert "200" in search["responses"] and "422" in search["responses"]


def test_a_phone_search_by_post(client, api_token, register_client):
    client_id = register_client(data=payload(full_name="Dewi Lestari", phone="081234567890"))
    found = client.post("/api/v1/clients/search", json={"q": "0812 3456 7890"}, headers=api_token("officer"))
    assert [c["id"] for c in found.get_json()["items"]] == [client_id]


@pytest.mark.parametrize("how", ["api", "page"])
def test_a_posted_search_is_audited_with_the_number_masked(app, client, api_token, login_as, siti, how):
    from sqlalchemy import select

    from srs.core.models import AuditEntry

    client_id, nik = siti
    if how == "api":
        client.post("/api/v1/clients/search", json={"q": nik}, headers=api_token("officer"))
    else:
        login_as("officer").post("/clients/", data={"q": nik})
    with app.app_context():
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "client.search").order_by(AuditEntry.id.desc())
        ).first()
        assert entry is not None and entry.username == "officer.id1"
        assert entry.details["ids"] == [client_id]
        assert nik not in str(entry.details) and nik[-4:] in entry.details["query"]["q"]

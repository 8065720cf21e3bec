"""What schemathesis found once, pinned down one by one (test_openapi_conformance.py runs it all)."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from srs.core.pagination import MAX_PAGE


def test_a_405_names_the_methods_allowed(client: FlaskClient, api_token: Any) -> None:
    response = client.put("/api/v1/me", headers=api_token("officer"))
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET"}
    page = client.put("/login")
    assert page.status_code == 405 and "POST" in page.headers["Allow"]


def test_a_country_outside_the_list_is_refused(client: FlaskClient, api_token: Any) -> None:
    headers = api_token("officer")
    for url in ("/api/v1/regions", "/api/v1/programmes"):
        for query in ("country=XX", "country=null", "country=ID&country=VN"):
            response = client.get(f"{url}?{query}", headers=headers)
            assert response.status_code == 422, (url, query)
            assert "country" in response.get_json()["errors"]
        assert client.get(f"{url}?country=VN", headers=headers).status_code == 200


def test_the_description_declares_the_limits_the_server_keeps(client: FlaskClient, api_token: Any) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    page = next(p for p in document["paths"]["/clients"]["get"]["parameters"] if p["name"] == "page")
    assert page["schema"]["maximum"] == MAX_PAGE
    summary = document["paths"]["/reports/summary"]["get"]
    assert any("ten years" in rule for rule in summary["x-srs-rules-beyond-schema"])
    # A route that needs a token says it may refuse a role, without each feature repeating it.
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if operation.get("security") != []:
                assert {"401", "403"} <= set(operation["responses"]), (method, path)


def test_an_id_past_every_column_is_a_404_for_every_method(client: FlaskClient, api_token: Any) -> None:
    headers = api_token("officer")
    for huge in ("19225789472054388", "2147483648", "9" * 5000):
        assert client.get(f"/api/v1/clients/{huge}", headers=headers).status_code == 404
        assert client.patch(f"/api/v1/clients/{huge}", json={}, headers=headers).status_code == 404
        posted = client.post(f"/api/v1/clients/{huge}/consents", json={"given": True}, headers=headers)
        assert posted.status_code == 404, posted.get_json()


def test_the_data_subject_routes_are_described(client: FlaskClient) -> None:
    """Erasure, legal holds, restriction, human review, retention, breaches (shared/API.md)."""
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path, methods in {
        "/clients/{client_id}/erase": {"post"},
        "/clients/{client_id}/privacy": {"get"},
        "/clients/{client_id}/legal-hold": {"post", "delete"},
        "/clients/{client_id}/restriction": {"post", "delete"},
        "/clients/{client_id}/reviews": {"get", "post"},
        "/reviews/{review_id}/decision": {"post"},
        "/retention": {"get"},
        "/retention/run": {"post"},
        "/breaches": {"get", "post"},
        "/breaches/{breach_id}": {"get"},
        "/breaches/{breach_id}/report": {"get"},
        "/breaches/{breach_id}/letters": {"get"},
        "/records-of-processing": {"get"},
    }.items():
        assert methods <= set(paths[path]), path


def test_a_reason_or_note_that_is_not_text_is_a_422(app: Any, client: FlaskClient, api_token: Any) -> None:
    """Schemathesis sent numbers where text goes: a clear 422, never a 500."""
    from srs.extensions import db
    from tests.factories import make_client

    with app.app_context():
        person = make_client()
        db.session.commit()
        person_id = person.id
    headers = api_token("supervisor")
    for url in (f"/api/v1/clients/{person_id}/legal-hold", f"/api/v1/clients/{person_id}/restriction"):
        response = client.post(url, json={"reason": 5}, headers=headers)
        assert response.status_code == 422 and "reason" in response.get_json()["errors"], url
    response = client.post(f"/api/v1/clients/{person_id}/erase", json={"note": 5}, headers=headers)
    assert response.status_code == 422 and "note" in response.get_json()["errors"]
    response = client.post(
        "/api/v1/breaches",
        json={
            "description": "x",
            "discovered_at": "2026-01-01T00:00",
            "window_start": "2026-01-01T00:00",
            "window_end": "2026-01-02T00:00",
            "export_action": 7,
        },
        headers=api_token("admin"),
    )
    assert response.status_code == 422 and "export_action" in response.get_json()["errors"]

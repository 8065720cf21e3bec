"""GET /api/v1/reports/summary as the OpenAPI document (/api/v1/openapi.json) describes it."""

from __future__ import annotations

from tests.reports.data import build_world


def test_summary_shape_and_numbers(app, client, api_token):
    build_world(app)
    response = client.get("/api/v1/reports/summary", headers=api_token("supervisor"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["clients_registered"] == 3 and body["clients_screened"] == 3
    assert body["referrals"]["completed"] == 2 and body["referrals"]["cancelled"] == 0
    assert body["by_programme"]["ID-JKN-PBI"] == {"declined": 1}
    assert body["by_sex"]["male"] == {"completed": 1, "delivered": 1}
    assert body["median_days_to_decision"] == 4.0
    assert body["overdue"] == 1


def test_summary_of_one_region_and_period(app, client, api_token):
    build_world(app)
    headers = api_token("supervisor")
    body = client.get("/api/v1/reports/summary?region=35.76", headers=headers).get_json()
    assert body["clients_registered"] == 1 and body["overdue"] == 0
    body = client.get("/api/v1/reports/summary?from=2020-01-01&to=2020-12-31", headers=headers).get_json()
    assert body["clients_registered"] == 0 and body["median_days_to_decision"] is None


def test_summary_refuses_bad_input_and_other_regions(app, client, api_token):
    build_world(app)
    headers = api_token("supervisor")
    response = client.get("/api/v1/reports/summary?from=2026-02-30", headers=headers)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert "from" in response.get_json()["errors"]
    response = client.get("/api/v1/reports/summary?region=34.71", headers=headers)
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert "clients_registered" not in response.get_json()
    assert client.get("/api/v1/reports/summary?region=NOPE", headers=headers).status_code == 404
    assert client.get("/api/v1/reports/summary", headers=api_token("officer")).status_code == 403
    assert client.get("/api/v1/reports/summary").status_code == 401


def test_summary_is_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "get" in paths["/reports/summary"]

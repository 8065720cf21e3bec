"""Cache-Control: no-store on every answer that may carry personal data, in every format, for every role."""

from __future__ import annotations

import pytest

from srs.core.exports import XLSX_MIME

# (role, url, expected mimetype): one of each kind SRS answers with.
ANSWERS = [
    ("officer", "/clients/", "text/html"),
    ("officer", "/cases/export.csv", "text/csv"),
    ("officer", "/cases/export.xlsx", XLSX_MIME),
    ("officer", "/complaints/export.csv", "text/csv"),
    ("supervisor", "/complaints/export.xlsx", XLSX_MIME),
    ("supervisor", "/reports/monthly.pdf", "application/pdf"),
    ("admin", "/reports/monthly.pdf", "application/pdf"),
    ("supervisor", "/reports/list/registered/export.csv", "text/csv"),
    ("admin", "/admin/catalogue.yaml", "application/yaml"),
    ("agency_staff", "/", "text/html"),
]
API_ANSWERS = [
    ("officer", "/api/v1/clients", "application/json"),
    ("supervisor", "/api/v1/clients", "application/json"),
    ("agency_staff", "/api/v1/referrals", "application/json"),
    ("admin", "/api/v1/programmes", "application/json"),
    ("supervisor", "/api/v1/reports/summary", "application/json"),
    ("officer", "/api/v1/clients/999999", "application/problem+json"),
    ("agency_staff", "/api/v1/reports/summary", "application/problem+json"),
]


def _no_store(response) -> bool:  # type: ignore[no-untyped-def]
    return response.headers.get("Cache-Control") == "no-store"


@pytest.mark.parametrize(("role", "url", "mimetype"), ANSWERS)
def test_pages_and_exports_are_never_cached(login_as, role, url, mimetype):
    response = login_as(role).get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == mimetype
    assert _no_store(response)


@pytest.mark.parametrize(("role", "url", "mimetype"), API_ANSWERS)
def test_api_answers_are_never_cached(client, api_token, role, url, mimetype):
    response = client.get(url, headers=api_token(role))
    assert response.mimetype == mimetype
    assert _no_store(response)


def test_anonymous_answers_too_but_static_files_may_be_cached(client):
    assert _no_store(client.get("/login"))
    assert _no_store(client.get("/api/v1/clients"))  # 401 problem+json
    static = client.get("/static/favicon.svg")
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")

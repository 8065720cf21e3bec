"""POST/GET /api/v1/clients/<id>/enrolments: recorded by who screens, read by staff in scope, clear
422s, 404 outside scope, audited, idempotent like the other creations, described in OpenAPI."""

from __future__ import annotations

from typing import Any

import jsonschema
from sqlalchemy import select

from srs.core.models import AuditEntry
from srs.core.transaction import commit
from srs.extensions import db
from srs.programmes.seed import seed_catalogue
from tests.factories import make_client
from tests.referrals.test_referral_estimate import resolved

URL = "/api/v1/clients/{}/enrolments"


def vn_person(app: Any) -> int:
    with app.test_request_context():
        seed_catalogue("x")
        person = make_client("00070", monthly_income=1_500_000, poverty_status="poor", enrolments=[])
        commit()
        return person.id


def test_record_list_and_describe(app: Any, demo: Any, client: Any, api_token: Any) -> None:
    person = vn_person(app)
    headers = api_token("officer_vn")
    body = {"programme_code": "VN-BHXH-TN", "start_on": "2016-01-01", "end_on": "2025-11-30"}
    created = client.post(URL.format(person), json=body, headers=headers)
    assert created.status_code == 201, created.get_json()
    data = created.get_json()
    assert data["programme_code"] == "VN-BHXH-TN" and data["end_on"] == "2025-11-30" and data["open"] is False
    document = client.get("/api/v1/openapi.json").get_json()
    jsonschema.validate(data, resolved(document["components"]["schemas"]["Enrolment"], document))
    assert "post" in document["paths"]["/clients/{client_id}/enrolments"]
    listed = client.get(URL.format(person), headers=headers).get_json()["items"]
    assert [e["id"] for e in listed] == [data["id"]]
    with app.test_request_context():
        actions = set(
            db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_id == str(person)))
        )
        assert {"enrolment.record", "enrolment.list"} <= actions
    # The months recorded count in the estimate: 119 of 120 used.
    screened = client.post(f"/api/v1/clients/{person}/screenings", headers=headers).get_json()
    vsi = next(r for r in screened["results"] if r["programme"]["code"] == "VN-BHXH-TN")
    if "estimate" in vsi:
        assert any("119 of 120" in s for s in vsi["estimate"]["explanation"])


def test_clear_422s(app: Any, demo: Any, client: Any, api_token: Any) -> None:
    person = vn_person(app)
    headers = api_token("officer_vn")
    post = lambda body: client.post(URL.format(person), json=body, headers=headers)  # noqa: E731
    unknown = post({"programme_code": "NOPE", "start_on": "2020-01-01"})
    assert unknown.status_code == 422 and "programme_code" in unknown.get_json()["errors"]
    other_country = post({"programme_code": "ID-BPJSTK-BPU", "start_on": "2020-01-01"})
    assert other_country.status_code == 422 and "programme_code" in other_country.get_json()["errors"]
    backwards = post({"programme_code": "VN-BHXH-TN", "start_on": "2020-01-01", "end_on": "2019-12-31"})
    assert backwards.status_code == 422 and "end_on" in backwards.get_json()["errors"]
    bad_date = post({"programme_code": "VN-BHXH-TN", "start_on": "01/02/2020"})
    assert bad_date.status_code == 422 and "start_on" in bad_date.get_json()["errors"]
    future = post({"programme_code": "VN-BHXH-TN", "start_on": "2999-01-01"})
    assert future.status_code == 422 and "start_on" in future.get_json()["errors"]
    assert (
        post({"programme_code": "VN-BHXH-TN", "start_on": "2020-01-01", "end_on": "2020-12-31"}).status_code
        == 201
    )
    overlap = post({"programme_code": "VN-BHXH-TN", "start_on": "2019-06-01", "end_on": "2020-01-31"})
    assert overlap.status_code == 422 and "overlaps" in overlap.get_json()["errors"]["start_on"][0]
    # An open-ended one after the closed one is fine; another open one overlaps it.
    assert post({"programme_code": "VN-BHXH-TN", "start_on": "2021-01-01"}).status_code == 201
    assert (
        post({"programme_code": "VN-BHXH-TN", "start_on": "2022-01-01", "end_on": "2022-02-01"}).status_code
        == 422
    )
    assert client.post(URL.format(person), data="[", headers=headers).status_code == 400


def test_roles_scope_and_idempotency(app: Any, demo: Any, client: Any, api_token: Any) -> None:
    person = vn_person(app)
    body = {"programme_code": "VN-BHXH-TN", "start_on": "2020-01-01"}
    assert client.post(URL.format(person), json=body, headers=api_token("officer")).status_code == 404
    assert client.get(URL.format(person), headers=api_token("officer")).status_code == 404
    assert client.post(URL.format(person), json=body, headers=api_token("agency_vn")).status_code == 403
    assert client.post(URL.format(10**6), json=body, headers=api_token("officer_vn")).status_code == 404
    headers = {**api_token("officer_vn"), "Idempotency-Key": "enrol-1"}
    first = client.post(URL.format(person), json=body, headers=headers)
    again = client.post(URL.format(person), json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true" and again.get_json() == first.get_json()
    other = client.post(URL.format(person), json={**body, "start_on": "2019-01-01"}, headers=headers)
    assert other.status_code == 422 and "Idempotency-Key" in other.get_json()["errors"]
    assert len(client.get(URL.format(person), headers=api_token("officer_vn")).get_json()["items"]) == 1

"""Breaches (people affected from the audit trail, 72-hour countdown, letters, report) and the records of
processing with the draft impact assessment."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from srs.core import clock
from srs.core.models import AuditEntry
from srs.extensions import db
from tests.conftest import csrf_token_from
from tests.factories import make_client, make_programme


def _people(app):
    with app.app_context():
        read = make_client(full_name="Read By Thief", address="Jl. Kenanga 3")
        unread = make_client(full_name="Never Read")
        vietnamese = make_client("00070", full_name="Nguyen Thi Lan")
        db.session.commit()
        return read.id, unread.id, vietnamese.id


def test_people_affected_come_from_the_audit_trail_of_the_window(app, client, demo, api_token, caplog):
    read_id, unread_id, _vn = _people(app)
    started = clock.now() - timedelta(minutes=1)
    thief = api_token("officer")
    assert client.get(f"/api/v1/clients/{read_id}", headers=thief).status_code == 200
    client.get(f"/api/v1/clients/{unread_id}", headers=api_token("supervisor"))  # another account
    admin = api_token("admin")
    body = {
        "description": "officer.id1's password found on a shared computer",
        "discovered_at": (clock.now() - timedelta(hours=10)).isoformat(),
        "window_start": started.isoformat(),
        "window_end": (clock.now() + timedelta(minutes=1)).isoformat(),
        "account": "officer.id1",
    }
    assert (
        client.post("/api/v1/breaches", json={**body, "account": "nobody"}, headers=admin).status_code == 422
    )
    assert (
        client.post(
            "/api/v1/breaches", json={**body, "window_end": body["window_start"]}, headers=admin
        ).status_code
        == 422
    )
    assert client.post("/api/v1/breaches", json=body, headers=api_token("supervisor")).status_code == 403
    with caplog.at_level(logging.DEBUG):
        made = client.post("/api/v1/breaches", json=body, headers=admin)
        assert made.status_code == 201, made.get_json()
        breach = made.get_json()
        assert breach["people_affected"] == 1
        assert 61.8 <= breach["hours_left"] <= 62.1 and breach["overdue"] is False
        report = client.get(f"/api/v1/breaches/{breach['id']}/report", headers=admin).get_json()
        assert report["people_affected"] == 1 and report["compromised_account"] == "officer.id1"
        assert "Read By Thief" not in str(report) and "Kenanga" not in str(report)
        letters = client.get(f"/api/v1/breaches/{breach['id']}/letters", headers=admin).get_json()["items"]
    assert [(item["client_id"], item["locale"]) for item in letters] == [(read_id, "id")]
    assert "Read By Thief" in letters[0]["text"]
    # No personal data in the logs: neither the application log nor the audit entries about the breach.
    assert "Read By Thief" not in caplog.text and "Kenanga" not in caplog.text
    with app.app_context():
        entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action.startswith("breach."))))
        assert entries and all(
            "Read By Thief" not in str(e.details) and "password" not in str(e.details) for e in entries
        )


def test_an_export_breach_lists_everyone_in_those_exports_in_their_language(app, client, demo, api_token):
    read_id, unread_id, vn_id = _people(app)
    with app.test_request_context():
        from srs.core import audit

        audit.record_list("report.export", "client", [read_id, vn_id], query={"kind": "registered"})
        db.session.commit()
    now = clock.now()
    made = client.post(
        "/api/v1/breaches",
        json={
            "description": "An exported list was e-mailed to the wrong address",
            "discovered_at": (now - timedelta(hours=80)).isoformat(),
            "window_start": (now - timedelta(hours=1)).isoformat(),
            "window_end": (now + timedelta(hours=1)).isoformat(),
            "export_action": "report.export",
        },
        headers=api_token("admin"),
    ).get_json()
    assert made["people_affected"] == 2 and made["overdue"] is True
    letters = client.get(f"/api/v1/breaches/{made['id']}/letters", headers=api_token("admin")).get_json()[
        "items"
    ]
    assert {(item["client_id"], item["locale"]) for item in letters} == {(read_id, "id"), (vn_id, "vi")}


def test_breach_pages_as_admin(app, demo, login_as):
    _people(app)
    admin = login_as("admin")
    page = admin.get("/privacy/breaches")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    bad = admin.post("/privacy/breaches", data={"csrf_token": csrf_token_from(html), "description": ""})
    assert bad.status_code == 422 and 'data-testid="error-description"' in bad.get_data(as_text=True)
    now = clock.now()
    response = admin.post(
        "/privacy/breaches",
        data={
            "csrf_token": csrf_token_from(html),
            "description": "Laptop stolen",
            "discovered_at": now.strftime("%Y-%m-%dT%H:%M"),
            "window_start": (now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
            "window_end": now.strftime("%Y-%m-%dT%H:%M"),
            "account": "officer.id2",
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert 'data-testid="countdown"' in text and "hours left" in text
    assert login_as("supervisor").get("/privacy/breaches").status_code == 403


def test_records_of_processing_come_from_the_configuration(app, client, demo, api_token, login_as):
    with app.app_context():
        make_programme(
            "ID-BPJSTK-BPU",
            criteria={
                "all": [
                    {"field": "age", "op": "between", "value": [15, 65]},
                    {"field": "disability", "op": "=", "value": True},
                ]
            },
            shared=["full_name", "phone"],
        )
        db.session.commit()
    app.config["RETENTION_COMPLAINT_DAYS"] = 999
    try:
        record = client.get("/api/v1/records-of-processing", headers=api_token("supervisor")).get_json()
    finally:
        app.config["RETENTION_COMPLAINT_DAYS"] = 1825
    [bpjs] = [r for r in record["recipients"] if any(p["code"] == "ID-BPJSTK-BPU" for p in r["programmes"])]
    assert bpjs["programmes"][0]["shared_fields"] == ["full_name", "phone"]
    assert {
        "kind": "complaints",
        "days": 999,
        "setting": "RETENTION_COMPLAINT_DAYS",
        "action": "anonymise",
    } in record["retention"]
    [rule] = record["impact_assessment"]["rules"]
    assert rule["fields_used"] == ["age", "disability"] and rule["sensitive_fields_used"] == ["disability"]
    assert "human review" in " ".join(record["impact_assessment"]["safeguards"])
    assert client.get("/api/v1/records-of-processing", headers=api_token("officer")).status_code == 403
    admin = login_as("admin")
    page = admin.get("/privacy/records").get_data(as_text=True)
    assert 'data-testid="dpia"' in page and "ID-BPJSTK-BPU" in page
    download = admin.get("/privacy/records.md")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    assert "## Impact assessment of the screening rules (draft)" in download.get_data(as_text=True)
    assert login_as("officer").get("/privacy/records").status_code == 403


@pytest.mark.parametrize("lang", ["en", "id", "vi"])
def test_the_pages_render_in_each_language(app, demo, login_as, lang):
    from srs.accounts.models import User

    read_id, _unread, _vn = _people(app)
    with app.app_context():
        for name in ("supervisor.id", "admin"):
            db.session.scalar(select(User).where(User.username == name)).locale = lang
        db.session.commit()
    supervisor = login_as("supervisor")
    page = supervisor.get(f"/clients/{read_id}")
    assert page.status_code == 200 and f'lang="{lang}"' in page.get_data(as_text=True)
    assert 'data-testid="privacy-ops-panel"' in page.get_data(as_text=True)
    admin = login_as("admin")
    for url in ("/privacy/retention", "/privacy/breaches", "/privacy/records"):
        response = admin.get(url)
        assert response.status_code == 200, url
        assert f'lang="{lang}"' in response.get_data(as_text=True)

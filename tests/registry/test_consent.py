"""Consent is a record: who recorded it, when, for which purposes and agencies, its evidence and its
withdrawal, kept as history, shown on the profile and in the API; every read and change audited."""

from __future__ import annotations

import io
from datetime import date

from sqlalchemy import func, select

from srs.core.models import AuditEntry
from srs.core.transaction import commit
from srs.extensions import db
from srs.registry import consent, merge
from srs.registry.models import Client, ConsentRecord
from tests.factories import give_consent, make_client
from tests.registry.conftest import payload, user
from tests.registry.test_import import _upload, _work, survey_csv

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n% a signed form\n"


def _actions(app, client_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.object_type == "client", AuditEntry.object_id == str(client_id))
                .order_by(AuditEntry.id)
            )
        )


# ---------------------------------------------------------------- API


def test_registering_records_the_consent_and_the_api_shows_it(app, demo, api_token):
    http = app.test_client()
    officer = api_token("officer")
    created = http.post("/api/v1/clients", json=payload(), headers=officer)
    assert created.status_code == 201
    body = created.get_json()
    assert body["consent"]["given"] is True and body["consent"]["withdrawn_at"] is None
    assert body["consent"]["date"] == "2026-01-15" and body["consent"]["purposes"] == [
        "screening",
        "referral",
    ]
    assert body["consent"]["agencies"] == "all"
    listed = http.get(f"/api/v1/clients/{body['id']}/consents", headers=officer).get_json()
    [record] = listed["items"]
    assert record["source"] == "api" and record["recorded_by"] is not None and record["withdrawn_at"] is None
    assert "consent.record" in _actions(app, body["id"]) and "consent.read" in _actions(app, body["id"])


def test_patch_given_false_withdraws_and_keeps_the_history(app, demo, api_token):
    http = app.test_client()
    officer = api_token("officer")
    client_id = http.post("/api/v1/clients", json=payload(), headers=officer).get_json()["id"]
    version = http.get(f"/api/v1/clients/{client_id}", headers=officer).get_json()["version"]
    response = http.patch(
        f"/api/v1/clients/{client_id}",
        json={"version": version, "consent": {"given": False, "reason": "Changed her mind"}},
        headers=officer,
    )
    assert response.status_code == 200
    consent_view = response.get_json()["consent"]
    assert consent_view["given"] is False and consent_view["withdrawn_at"]
    assert consent_view["date"] == "2026-01-15"  # the consent that was withdrawn
    history = http.get(f"/api/v1/clients/{client_id}/consents", headers=officer).get_json()["items"]
    assert len(history) == 1 and history[0]["withdrawal_reason"] == "Changed her mind"
    # Given again: a second record, the first stays withdrawn in the history.
    again = http.post(
        f"/api/v1/clients/{client_id}/consents",
        json={"date": "2026-02-01", "scope": "Referral only", "purposes": ["referral"]},
        headers=officer,
    )
    assert again.status_code == 201
    history = http.get(f"/api/v1/clients/{client_id}/consents", headers=officer).get_json()
    assert [r["withdrawn_at"] is None for r in history["items"]] == [True, False]
    assert history["consent"]["given"] is True and history["consent"]["purposes"] == ["referral"]
    assert _actions(app, client_id).count("consent.withdraw") == 1
    with app.app_context():
        client = db.session.get(Client, client_id)
        assert client.consent_given is True and client.consent_scope == "Referral only"


def test_a_patch_that_does_not_touch_consent_records_nothing(app, demo, api_token):
    http = app.test_client()
    officer = api_token("officer")
    client_id = http.post("/api/v1/clients", json=payload(), headers=officer).get_json()["id"]
    http.post(
        f"/api/v1/clients/{client_id}/consents",
        json={"date": "2026-02-01", "scope": "All of it", "purposes": ["referral", "case_management"]},
        headers=officer,
    )
    version = http.get(f"/api/v1/clients/{client_id}", headers=officer).get_json()["version"]
    response = http.patch(
        f"/api/v1/clients/{client_id}", json={"version": version, "occupation": "Tailor"}, headers=officer
    )
    assert response.status_code == 200 and response.get_json()["version"] == version + 1
    with app.app_context():
        assert db.session.scalar(select(func.count(ConsentRecord.id))) == 2


def test_consent_api_checks_roles_scope_and_input(app, demo, api_token):
    http = app.test_client()
    client_id = http.post("/api/v1/clients", json=payload(), headers=api_token("officer")).get_json()["id"]
    url = f"/api/v1/clients/{client_id}/consents"
    good = {"date": "2026-02-01", "scope": "Referral"}
    assert http.get(url, headers=api_token("supervisor")).status_code == 200
    assert http.get(url, headers=api_token("agency_staff")).status_code == 403
    assert http.get(url, headers=api_token("officer2")).status_code == 404  # another district
    assert http.post(url, json=good, headers=api_token("supervisor")).status_code == 403
    assert http.post(url, json=good, headers=api_token("agency_staff")).status_code == 403
    officer = api_token("officer")
    bad = http.post(
        url, json={"date": "2026-02-01", "scope": "x", "purposes": ["marketing"]}, headers=officer
    )
    assert bad.status_code == 422 and "consent.purposes" in bad.get_json()["errors"]
    unknown = http.post(url, json={**good, "agencies": ["NOPE"]}, headers=officer)
    assert unknown.status_code == 422 and "NOPE" in unknown.get_json()["errors"]["consent.agencies"][0]
    missing = http.post(url, json={"scope": "x"}, headers=officer)
    assert missing.status_code == 422 and "consent.date" in missing.get_json()["errors"]
    future = http.post(url, json={**good, "date": "2999-01-01"}, headers=officer)
    assert future.status_code == 422
    assert (
        http.post(url, data="{", headers={**officer, "Content-Type": "application/json"}).status_code == 400
    )


def test_withdrawing_what_is_not_given_changes_nothing(app, demo):
    with app.test_request_context():
        client = make_client(consent_given=False)
        commit()
        try:
            consent.withdraw(client, user("officer.id1"))
        except Exception as exc:  # noqa: BLE001 - the Conflict's status is what matters
            assert getattr(exc, "status", None) == 409
        else:
            raise AssertionError("a withdrawal without consent must be refused")


# ---------------------------------------------------------------- pages


def test_profile_panel_records_with_evidence_and_withdraws(app, demo, login_as, register_client):
    client_id = register_client()
    officer = login_as("officer")
    page = officer.get(f"/clients/{client_id}").get_data(as_text=True)
    assert 'data-testid="consent-panel"' in page and 'data-testid="consent-history"' in page
    assert 'data-testid="record-consent-form"' in page and 'data-testid="withdraw-consent-form"' in page
    response = officer.post(
        f"/clients/{client_id}/consent",
        data={
            "given_on": "2026-03-01",
            "scope": "Referral to BPJS Ketenagakerjaan",
            "purposes": ["referral"],
            "all_agencies": "listed",
            "agencies": ["BPJSTK"],
            "evidence": (io.BytesIO(PNG), "signed.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    with app.app_context():
        record = db.session.scalar(select(ConsentRecord).order_by(ConsentRecord.id.desc()))
        assert (
            record.agencies == ["BPJSTK"] and not record.all_agencies and record.evidence_type == "image/png"
        )
        record_id = record.id
    page = officer.get(f"/clients/{client_id}").get_data(as_text=True)
    assert "Referral to BPJS Ketenagakerjaan" in page and 'data-testid="consent-evidence"' in page
    evidence = officer.get(f"/clients/{client_id}/consent/{record_id}/evidence")
    assert evidence.status_code == 200 and evidence.data == PNG and evidence.mimetype == "image/png"
    assert evidence.headers["Cache-Control"] == "no-store"
    assert "consent.evidence_read" in _actions(app, client_id)
    assert login_as("officer2").get(f"/clients/{client_id}/consent/{record_id}/evidence").status_code == 404
    assert (
        login_as("agency_staff").get(f"/clients/{client_id}/consent/{record_id}/evidence").status_code == 403
    )
    withdrawn = officer.post(f"/clients/{client_id}/consent/withdraw", data={"reason": "Phoned"})
    assert withdrawn.status_code == 302
    page = officer.get(f"/clients/{client_id}").get_data(as_text=True)
    assert 'data-testid="consent-withdrawn-badge"' in page and "Phoned" in page
    assert 'data-testid="withdraw-consent-form"' not in page
    again = officer.post(f"/clients/{client_id}/consent/withdraw", data={"reason": "twice"})
    assert again.status_code == 409 and "nothing to withdraw" in again.get_data(as_text=True)


def test_evidence_of_another_type_or_too_large_is_refused_next_to_the_field(
    app, demo, login_as, register_client
):
    client_id = register_client()
    officer = login_as("officer")
    form = {"given_on": "2026-03-01", "scope": "Referral", "purposes": ["referral"], "all_agencies": "all"}
    html = officer.post(
        f"/clients/{client_id}/consent",
        data={**form, "evidence": (io.BytesIO(b"<html>not a scan</html>"), "form.pdf")},
        content_type="multipart/form-data",
    )
    assert html.status_code == 422 and "PDF, PNG or JPEG" in html.get_data(as_text=True)
    app.config["CONSENT_EVIDENCE_MAX_BYTES"] = 10
    try:
        big = officer.post(
            f"/clients/{client_id}/consent",
            data={**form, "evidence": (io.BytesIO(PDF), "form.pdf")},
            content_type="multipart/form-data",
        )
    finally:
        app.config["CONSENT_EVIDENCE_MAX_BYTES"] = 5 * 1024 * 1024
    assert big.status_code == 422 and "too large" in big.get_data(as_text=True)
    empty = officer.post(f"/clients/{client_id}/consent", data={"scope": "", "all_agencies": "all"})
    assert empty.status_code == 422 and "This field is required." in empty.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(ConsentRecord.id))) == 1  # the registration's only


# ---------------------------------------------------------------- merge and import


def test_merge_keeps_the_persons_latest_word(app, demo):
    with app.test_request_context():
        keep = make_client(consent_given=False)
        duplicate = make_client(consent_given=False)
        give_consent(duplicate, given_on=date(2026, 1, 5), scope="Paper form")
        commit()
        merge.merge_clients(keep, duplicate, user("admin"))
        commit()
        assert consent.state(keep).given and consent.state(keep).current.scope == "Paper form"
        assert consent.state(keep).current.source == "merge"

        keep2 = make_client()
        other = make_client(consent_given=False)
        record = give_consent(other)
        commit()
        consent.withdraw(other, user("officer.id1"), "No more sharing")
        commit()
        assert record.withdrawn_at is not None
        merge.merge_clients(keep2, other, user("admin"))
        commit()
        assert consent.state(keep2).withdrawn and keep2.consent_given is False


def test_imported_clients_get_their_consent_records(app, login_as):
    officer = login_as("officer")
    assert _upload(officer, survey_csv(20)).status_code == 302
    _work(app)
    with app.app_context():
        clients = db.session.scalar(select(func.count(Client.id)))
        records = db.session.scalars(select(ConsentRecord)).all()
        assert clients == len(records) > 0
        assert {r.source for r in records} == {"import"} and {r.scope for r in records} == {"Survey"}
        some = db.session.get(Client, records[0].client_id)
        assert consent.state(some).given and some.consent_given

"""Erasure by anonymisation: what goes, what stays (every dashboard figure), refusals, all or nothing."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import func, select

from srs.cases.models import Case, CaseNote
from srs.core import clock
from srs.core.idempotency import IdempotencyKey
from srs.core.models import AuditEntry
from srs.extensions import db
from srs.privacy import erasure
from srs.privacy.legal import seed_legal_periods
from srs.privacy.models import DataSubjectRequest, Erasure
from srs.referrals.models import OutboxMessage
from srs.registry.models import Client, DuplicateCandidate, Household, HouseholdMember
from srs.reports.models import ReferralFact, ScreeningFact
from tests.conftest import csrf_token_from
from tests.factories import (
    add_household,
    agency,
    make_client,
    make_programme,
    make_referral,
    make_screening,
    user,
)
from tests.reports.data import build_world

REPORT_PAGES = ("/reports/", "/reports/?sex=female", "/reports/?sex=male", "/reports/?region=35.16")


def _figures(client, api_headers, browser) -> dict[str, object]:
    """Every figure the dashboard and the summary API show, as text (tokens and nonces taken out)."""
    figures: dict[str, object] = {}
    for query in ("", "?sex=female", "?region=35.16", "?sex=male&region=35.16"):
        response = client.get(f"/api/v1/reports/summary{query}", headers=api_headers)
        assert response.status_code == 200
        figures[f"summary{query}"] = response.get_json()
    for page in REPORT_PAGES:
        html = browser.get(page).get_data(as_text=True)
        figures[page] = re.sub(r'(nonce|value|content)="[^"]*"', "", html)
    figures["summary.csv"] = browser.get("/reports/summary.csv").get_data(as_text=True)
    return figures


def _facts() -> list[tuple]:
    """The report facts without the birth date (which keeps only its year; see srs/privacy/erasure.py)."""
    rows = []
    for model in (ScreeningFact, ReferralFact):
        columns = [c for c in model.__table__.c if c.name != "date_of_birth"]
        rows += [tuple(r) for r in db.session.execute(select(*columns).order_by(*columns[:2]))]
    return rows


def _erasable_person(app):
    with app.app_context():
        programme = make_programme()
        person = make_client(
            full_name="Sri Wahyuni",
            id_type="nik",
            id_number="3516084512850001",
            phone="081234567890",
            address="Jl. Majapahit 1",
            date_of_birth=date(1985, 12, 5),
            extra={"note": "lives behind the market"},
        )
        other = make_client(full_name="Sri Wahyuni", date_of_birth=date(1985, 12, 5))
        db.session.add(
            DuplicateCandidate(client_id=other.id, other_client_id=person.id, reason="name_birth_district")
        )
        add_household(person, [{"relationship_to_head": "child", "sex": "male"}])
        db.session.add(
            HouseholdMember(
                household_id=person.household_id,
                client_id=person.id,
                full_name="Sri Wahyuni",
                relationship_to_head="head",
            )
        )
        make_screening(person, {programme: "eligible"})
        referral = make_referral(person, programme, "completed", decided_after_days=3, outcome="successful")
        referral.note = "Sri lives behind the market"
        referral.delivered_at = referral.created_at
        case = Case(client_id=person.id, region_id=person.region_id, status="closed", closed_at=clock.now())
        db.session.add(case)
        db.session.flush()
        db.session.add(
            CaseNote(case_id=case.id, body="Talked to Sri at home", author_id=user("officer.id1").id)
        )
        db.session.commit()
        return person.id, other.id, referral.id


def test_erasure_removes_identity_keeps_statistics_and_every_figure(app, client, demo, api_token, login_as):
    build_world(app)
    person_id, other_id, referral_id = _erasable_person(app)
    supervisor = api_token("supervisor")
    browser = login_as("supervisor")
    with app.app_context():
        facts_before = _facts()
    before = _figures(client, supervisor, browser)

    response = client.post(
        f"/api/v1/clients/{person_id}/erase", json={"note": "asked in person"}, headers=supervisor
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "anonymised"

    after = _figures(client, supervisor, browser)
    assert after == before
    with app.app_context():
        assert _facts() == facts_before
        person = db.session.get(Client, person_id)
        assert (person.full_name, person.id_number, person.phone, person.address) == ("", None, None, None)
        assert person.date_of_birth == date(1985, 7, 1) and person.sex == "female" and person.extra == {}
        assert person.household_id is None
        assert (
            db.session.scalar(select(func.count()).select_from(Household)) == 0
        )  # nobody else registered in it
        assert db.session.scalar(select(func.count()).select_from(DuplicateCandidate)) == 0
        assert db.session.scalar(select(CaseNote.body)) == ""
        assert db.session.get(Client, other_id).full_name == "Sri Wahyuni"  # the other record untouched
        # One notice to the agency that received the data, through each of its channels.
        notices = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.event.is_not(None))))
        assert {m.event for m in notices} == {"client.erasure_requested"}
        assert {m.referral_id for m in notices} == {referral_id}
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "client.anonymise"))
        assert entry.details["agencies"] == [agency().code]
        assert "Sri" not in str(entry.details)

    body = client.get(f"/api/v1/clients/{person_id}", headers=supervisor).get_json()
    assert body["anonymised"] is True and body["birth_year"] == 1985
    assert body["sex"] == "female" and body["region_code"] == "35.16.08.2003"
    for name in ("full_name", "id_number", "phone", "address", "date_of_birth"):
        assert body[name] is None
    assert "Sri" not in client.get(f"/api/v1/referrals/{referral_id}", headers=supervisor).get_data(
        as_text=True
    )


def test_erasure_twice_gives_the_same_answer_and_changes_nothing(app, client, demo, api_token):
    person_id, _other, _ref = _erasable_person(app)
    headers = api_token("supervisor")
    first = client.post(f"/api/v1/clients/{person_id}/erase", json={}, headers=headers)
    with app.app_context():
        entries = db.session.scalar(select(func.count()).select_from(AuditEntry))
        notices = db.session.scalar(select(func.count()).where(OutboxMessage.event.is_not(None)))
    second = client.post(f"/api/v1/clients/{person_id}/erase", json={}, headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.get_json()["status"] == "anonymised" and second.get_json()["repeated"] is True
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Erasure)) == 1
        assert db.session.scalar(select(func.count()).where(OutboxMessage.event.is_not(None))) == notices
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) >= entries


def test_refused_while_a_referral_or_case_is_open_or_on_hold(app, client, demo, api_token):
    headers = api_token("supervisor")
    with app.app_context():
        person = make_client(full_name="Open Referral")
        make_referral(person, make_programme(), "delivered")
        held = make_client(full_name="Held Person")
        db.session.commit()
        person_id, held_id = person.id, held.id
    response = client.post(f"/api/v1/clients/{person_id}/erase", json={}, headers=headers)
    assert response.status_code == 409 and "open referral" in response.get_json()["detail"]

    assert client.post(f"/api/v1/clients/{held_id}/legal-hold", json={}, headers=headers).status_code == 422
    response = client.post(
        f"/api/v1/clients/{held_id}/legal-hold", json={"reason": "Court case 12/2026"}, headers=headers
    )
    assert response.status_code == 201 and response.get_json()["legal_hold"]["reason"] == "Court case 12/2026"
    response = client.post(f"/api/v1/clients/{held_id}/erase", json={}, headers=headers)
    assert response.status_code == 409 and "legal hold" in response.get_json()["detail"]
    assert client.delete(f"/api/v1/clients/{held_id}/legal-hold", headers=headers).status_code == 200
    assert client.post(f"/api/v1/clients/{held_id}/erase", json={}, headers=headers).status_code == 200
    with app.app_context():
        assert db.session.get(Client, person_id).full_name == "Open Referral"


def test_only_a_supervisor_may_erase_or_hold(app, client, demo, api_token):
    with app.app_context():
        person = make_client()
        db.session.commit()
        person_id = person.id
    for role in ("officer", "admin", "agency_staff"):
        assert (
            client.post(f"/api/v1/clients/{person_id}/erase", json={}, headers=api_token(role)).status_code
            == 403
        )
        assert (
            client.post(
                f"/api/v1/clients/{person_id}/legal-hold", json={"reason": "x"}, headers=api_token(role)
            ).status_code
            == 403
        )
    # A supervisor of another country: the record is outside their scope.
    assert (
        client.post("/api/v1/clients/999999/erase", json={}, headers=api_token("supervisor")).status_code
        == 404
    )


def test_a_crash_half_way_rolls_everything_back(app, client, demo, api_token, monkeypatch):
    person_id, _other, _ref = _erasable_person(app)

    def boom(*_args, **_kwargs):
        raise RuntimeError("disk full")

    # After the notes, the kept answers and the household have been dealt with: the last step fails.
    monkeypatch.setattr(erasure, "_notify_agencies", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        response = client.post(f"/api/v1/clients/{person_id}/erase", json={}, headers=api_token("supervisor"))
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
    assert response.status_code == 500
    with app.app_context():
        person = db.session.get(Client, person_id)
        assert person.full_name == "Sri Wahyuni" and person.anonymised_at is None
        assert person.household_id is not None
        assert db.session.scalar(select(CaseNote.body)) == "Talked to Sri at home"
        assert db.session.scalar(select(func.count()).select_from(DuplicateCandidate)) == 1
        assert db.session.scalar(select(func.count()).select_from(Erasure)) == 0


def test_kept_idempotent_answers_about_the_person_are_forgotten(app, client, demo, api_token):
    officer = api_token("officer")
    body = {
        "full_name": "Budi Santoso",
        "sex": "male",
        "date_of_birth": "1980-02-02",
        "region_code": "35.16.08.2003",
        "id_type": "none",
        "consent": {"given": True, "date": clock.today().isoformat(), "scope": "referrals"},
    }
    created = client.post("/api/v1/clients", json=body, headers={**officer, "Idempotency-Key": "reg-1"})
    assert created.status_code == 201, created.get_json()
    person_id = created.get_json()["id"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 1
    assert (
        client.post(
            f"/api/v1/clients/{person_id}/erase", json={}, headers=api_token("supervisor")
        ).status_code
        == 200
    )
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0


def test_erasure_is_linked_to_its_request(app, client, demo, api_token):
    with app.app_context():
        seed_legal_periods()
        person = make_client()
        other = make_client()
        db.session.commit()
        person_id, other_id = person.id, other.id
    headers = api_token("supervisor")
    made = client.post(
        f"/api/v1/clients/{person_id}/requests",
        json={"kind": "erasure", "received_via": "letter"},
        headers=headers,
    )
    assert made.status_code == 201, made.get_json()
    request_id = made.get_json()["id"]
    wrong = client.post(f"/api/v1/clients/{other_id}/erase", json={"request_id": request_id}, headers=headers)
    assert wrong.status_code == 422
    done = client.post(f"/api/v1/clients/{person_id}/erase", json={"request_id": request_id}, headers=headers)
    assert done.status_code == 200
    with app.app_context():
        request = db.session.get(DataSubjectRequest, request_id)
        assert request.served_by_kind == "erasure"


def test_erasure_from_the_profile_page(app, demo, login_as):
    person_id, _other, _ref = _erasable_person(app)
    browser = login_as("supervisor")
    page = browser.get(f"/clients/{person_id}").get_data(as_text=True)
    assert 'data-testid="erase"' in page
    response = browser.post(
        f"/privacy/clients/{person_id}/erase",
        data={"csrf_token": csrf_token_from(page)},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "The record has been anonymised." in response.get_data(as_text=True)
    assert "Sri Wahyuni" not in response.get_data(as_text=True)
    # An officer sees no erase button and may not post it.
    officer = login_as("officer")
    page = officer.get(f"/clients/{person_id}").get_data(as_text=True)
    assert 'data-testid="erase"' not in page
    assert (
        officer.post(
            f"/privacy/clients/{person_id}/erase", data={"csrf_token": csrf_token_from(page)}
        ).status_code
        == 403
    )


def test_the_profile_says_why_erasure_is_refused(app, demo, login_as):
    with app.app_context():
        person = make_client(full_name="Open Referral")
        make_referral(person, make_programme(), "accepted")
        db.session.commit()
        person_id = person.id
    page = login_as("supervisor").get(f"/clients/{person_id}").get_data(as_text=True)
    assert 'data-testid="erasure-blockers"' in page and "open referral" in page

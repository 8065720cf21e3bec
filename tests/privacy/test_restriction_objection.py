"""Restriction (read-only, shared with nobody, left out of simulations) and human review of a screening."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from srs.accounts.models import User
from srs.core.transaction import commit
from srs.dci.query import base_condition
from srs.extensions import db
from srs.programmes.simulation import simulate
from srs.programmes.versions import save_draft
from srs.registry.models import Client
from tests.conftest import csrf_token_from
from tests.factories import make_client, make_programme, make_referral, make_screening


def _restricted_pair(app):
    with app.app_context():
        consent = {"consent_date": date(2026, 1, 5), "consent_scope": "referrals"}
        kept = make_client(full_name="Free Person", date_of_birth=date(1985, 5, 1), **consent)
        restricted = make_client(full_name="Restricted Person", date_of_birth=date(1985, 5, 1), **consent)
        db.session.commit()
        return kept.id, restricted.id


def test_a_restricted_record_is_read_only_and_referred_to_nobody(app, client, demo, api_token):
    _kept, person_id = _restricted_pair(app)
    officer = api_token("officer")
    assert (
        client.post(f"/api/v1/clients/{person_id}/restriction", json={}, headers=officer).status_code == 422
    )
    response = client.post(
        f"/api/v1/clients/{person_id}/restriction", json={"reason": "disputes the income"}, headers=officer
    )
    assert response.status_code == 201 and response.get_json()["restricted"] is True
    again = client.post(f"/api/v1/clients/{person_id}/restriction", json={"reason": "x"}, headers=officer)
    assert again.status_code == 409
    read = client.get(f"/api/v1/clients/{person_id}", headers=officer).get_json()
    assert read["restricted"] is True and read["full_name"] == "Restricted Person"  # still readable
    patch = client.patch(
        f"/api/v1/clients/{person_id}",
        json={"version": read["version"], "phone": "0811111111"},
        headers=officer,
    )
    assert patch.status_code == 409 and "restricted" in patch.get_json()["detail"]
    with app.app_context():
        programme = make_programme()
        db.session.commit()
        code = programme.code
    referral = client.post(
        "/api/v1/referrals", json={"client_id": person_id, "programme_code": code}, headers=officer
    )
    assert referral.status_code == 409
    # Lifted: the record can change and be referred again.
    assert client.delete(f"/api/v1/clients/{person_id}/restriction", headers=officer).status_code == 200
    read = client.get(f"/api/v1/clients/{person_id}", headers=officer).get_json()
    patch = client.patch(
        f"/api/v1/clients/{person_id}",
        json={"version": read["version"], "phone": "0811111111"},
        headers=officer,
    )
    assert patch.status_code == 200, patch.get_json()


def test_restricted_records_are_left_out_of_simulations_and_partner_answers(app, demo):
    kept_id, person_id = _restricted_pair(app)
    with app.test_request_context():
        db.session.get(Client, person_id).restricted_at = db.session.get(Client, kept_id).created_at
        adults = {"all": [{"field": "age", "op": "between", "value": [18, 70]}]}
        programme = make_programme("ID-TEST-SIM", criteria=adults)
        draft = save_draft(programme, {"all": [{"field": "age", "op": "between", "value": [18, 25]}]}, None)
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        result = simulate(draft, admin)
        assert result["totals"]["stopped"] == 1
        assert result["samples"]["stopped"] == ["Free Person"]
        shared = set(db.session.scalars(select(Client.id).where(base_condition())))
        assert kept_id in shared and person_id not in shared
        commit()


def test_restriction_from_the_profile_page_as_an_officer(app, demo, login_as):
    _kept, person_id = _restricted_pair(app)
    officer = login_as("officer")
    page = officer.get(f"/clients/{person_id}").get_data(as_text=True)
    response = officer.post(
        f"/privacy/clients/{person_id}/restrict",
        data={"csrf_token": csrf_token_from(page), "reason": "asked in person"},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert 'data-testid="restricted"' in html and 'data-testid="edit-client"' not in html
    assert officer.get(f"/clients/{person_id}/edit").status_code in (200, 409)
    assert login_as("agency_staff").post(f"/privacy/clients/{person_id}/restrict/lift").status_code in (
        400,
        403,
    )


def _screened(app):
    with app.app_context():
        programme = make_programme()
        person = make_client(full_name="Objecting Person")
        screening = make_screening(person, {programme: "not_eligible"})
        referral = make_referral(person, programme, "declined", decided_after_days=2)
        referral.screening_id = screening.id
        db.session.commit()
        return person.id, screening.results[0].id, referral.id


def test_an_officer_sends_a_result_for_review_and_the_named_supervisor_decides(app, client, demo, api_token):
    person_id, result_id, referral_id = _screened(app)
    officer, supervisor = api_token("officer"), api_token("supervisor")
    bad = client.post(
        f"/api/v1/clients/{person_id}/reviews",
        json={"result_id": result_id, "reviewer": "agency.bpjstk"},
        headers=officer,
    )
    assert bad.status_code == 422 and "reviewer" in bad.get_json()["errors"]
    bad = client.post(
        f"/api/v1/clients/{person_id}/reviews",
        json={"result_id": 999999, "reviewer": "supervisor.id"},
        headers=officer,
    )
    assert bad.status_code == 422 and "result_id" in bad.get_json()["errors"]
    made = client.post(
        f"/api/v1/clients/{person_id}/reviews",
        json={"result_id": result_id, "reviewer": "supervisor.id", "note": "My income fell in March"},
        headers=officer,
    )
    assert made.status_code == 201, made.get_json()
    review = made.get_json()
    assert review["status"] == "waiting" and review["automated_outcome"] == "not_eligible"
    # Only the named reviewer decides, with a reason.
    url = f"/api/v1/reviews/{review['id']}/decision"
    assert client.post(url, json={"decision": "eligible", "reason": "x"}, headers=officer).status_code == 403
    assert client.post(url, json={"decision": "eligible"}, headers=supervisor).status_code == 422
    assert client.post(url, json={"decision": "maybe", "reason": "x"}, headers=supervisor).status_code == 422
    done = client.post(
        url, json={"decision": "eligible", "reason": "Payslips show the lower income"}, headers=supervisor
    )
    assert done.status_code == 200 and done.get_json()["decision"] == "eligible"
    assert (
        client.post(url, json={"decision": "eligible", "reason": "again"}, headers=supervisor).status_code
        == 409
    )
    listed = client.get(f"/api/v1/clients/{person_id}/reviews", headers=officer).get_json()["items"]
    assert [(r["automated_outcome"], r["decision"]) for r in listed] == [("not_eligible", "eligible")]


def test_the_profile_and_the_referral_show_the_human_decision_beside_the_automated_one(app, demo, login_as):
    person_id, result_id, referral_id = _screened(app)
    officer = login_as("officer")
    page = officer.get(f"/clients/{person_id}").get_data(as_text=True)
    response = officer.post(
        f"/privacy/clients/{person_id}/reviews",
        data={"csrf_token": csrf_token_from(page), "result_id": result_id, "reviewer": "supervisor.id"},
        follow_redirects=True,
    )
    assert "Sent for human review." in response.get_data(as_text=True)
    supervisor = login_as("supervisor")
    page = supervisor.get(f"/clients/{person_id}").get_data(as_text=True)
    assert 'data-testid="decide-review"' in page
    with app.app_context():
        from srs.privacy.models import HumanReview

        review_id = db.session.scalar(select(HumanReview.id))
    response = supervisor.post(
        f"/privacy/reviews/{review_id}/decide",
        data={"csrf_token": csrf_token_from(page), "decision": "eligible", "reason": "Checked the payslips"},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "Checked the payslips" in html and "not_eligible" in html
    referral_page = supervisor.get(f"/referrals/{referral_id}").get_data(as_text=True)
    assert 'data-testid="referral-reviews"' in referral_page
    assert "Checked the payslips" in referral_page and "not_eligible" in referral_page

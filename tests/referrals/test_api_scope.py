"""The referral API (/api/v1/openapi.json), scoping (404 outside scope) and the agency portal pages."""

from __future__ import annotations

from sqlalchemy import select

from srs.core.transaction import commit
from srs.extensions import db
from srs.referrals.models import Referral
from tests.factories import make_programme, refer

from .conftest import make_client, run_jobs


def _delivered_referral(app, shared=None):  # type: ignore[no-untyped-def]
    with app.test_request_context():
        programme = make_programme(shared=shared)
        client = make_client()
        referral_id = refer(client, programme).id
        commit()
        run_jobs()
    return referral_id


def test_api_create_list_get_and_act(app, demo, api_token):
    with app.app_context():
        client_id = make_client().id
        make_programme()
        db.session.commit()
    http = app.test_client()
    officer = api_token("officer")
    response = http.post(
        "/api/v1/referrals",
        json={"client_id": client_id, "programme_code": "ID-BPJSTK-BPU", "note": "via API"},
        headers=officer,
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "pending" and body["agency_code"] == "BPJSTK" and body["version"] == 1
    referral_id = body["id"]
    again = http.post(
        "/api/v1/referrals", json={"client_id": client_id, "programme_code": "ID-BPJSTK-BPU"}, headers=officer
    )
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    with app.app_context():
        run_jobs()
    staff = api_token("agency_staff")
    listed = http.get("/api/v1/referrals?status=delivered&programme=ID-BPJSTK-BPU", headers=staff).get_json()
    assert [item["id"] for item in listed["items"]] == [referral_id] and listed["total"] == 1
    assert http.get("/api/v1/referrals?status=accepted", headers=staff).get_json()["total"] == 0
    one = http.get(f"/api/v1/referrals/{referral_id}", headers=staff).get_json()
    assert [h["status"] for h in one["history"]] == ["pending", "delivered"]
    assert set(one["client"]) == {"full_name", "sex", "date_of_birth", "phone"}  # shared fields only
    stale = http.post(f"/api/v1/referrals/{referral_id}/accept", json={"version": 1}, headers=staff)
    assert stale.status_code == 409
    accepted = http.post(
        f"/api/v1/referrals/{referral_id}/accept",
        json={"version": one["version"], "note": "ok"},
        headers=staff,
    )
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "accepted"
    illegal = http.post(f"/api/v1/referrals/{referral_id}/decline", json={"reason": "other"}, headers=staff)
    assert illegal.status_code == 409 and "cannot be" in illegal.get_json()["detail"]
    missing = http.post(f"/api/v1/referrals/{referral_id}/complete", headers=staff)
    assert missing.status_code == 422 and "outcome" in missing.get_json()["errors"]
    done = http.post(
        f"/api/v1/referrals/{referral_id}/complete", json={"outcome": "successful"}, headers=staff
    )
    assert done.get_json()["status"] == "completed"
    assert (
        http.post(
            f"/api/v1/referrals/{referral_id}/cancel", json={"reason": "x"}, headers=officer
        ).status_code
        == 409
    )
    # Roles: an officer may not accept; agency staff may not cancel or create.
    assert http.post(f"/api/v1/referrals/{referral_id}/accept", headers=officer).status_code == 403
    assert http.post(f"/api/v1/referrals/{referral_id}/cancel", headers=staff).status_code == 403


def test_api_no_consent_is_422_and_bad_input_never_500(app, demo, api_token):
    with app.app_context():
        client_id = make_client(consent_given=False).id
        make_programme()
        db.session.commit()
    http = app.test_client()
    officer = api_token("officer")
    response = http.post(
        "/api/v1/referrals", json={"client_id": client_id, "programme_code": "ID-BPJSTK-BPU"}, headers=officer
    )
    assert response.status_code == 422 and "consent" in response.get_json()["errors"]
    assert http.post("/api/v1/referrals", data="{", headers=officer).status_code == 400
    bad = http.post("/api/v1/referrals", json={"client_id": "x", "programme_code": 5}, headers=officer)
    assert bad.status_code == 422
    assert http.get("/api/v1/referrals?status=lost", headers=officer).status_code == 422


def test_scope_other_agency_and_other_district_get_404(app, demo, api_token, login_as):
    referral_id = _delivered_referral(app)
    http = app.test_client()
    assert http.get(f"/api/v1/referrals/{referral_id}", headers=api_token("agency_vn")).status_code == 404
    assert http.get(f"/api/v1/referrals/{referral_id}", headers=api_token("officer2")).status_code == 404
    assert http.get(f"/api/v1/referrals/{referral_id}", headers=api_token("supervisor")).status_code == 200
    assert http.get("/api/v1/referrals", headers=api_token("officer2")).get_json()["total"] == 0
    assert login_as("agency_vn").get(f"/referrals/{referral_id}").status_code == 404
    assert login_as("officer2").get(f"/referrals/{referral_id}").status_code == 404
    assert login_as("agency_vn").post(f"/referrals/{referral_id}/accept").status_code == 404
    assert "Programme ID-BPJSTK-BPU" not in login_as("agency_vn").get("/referrals/inbox").get_data(
        as_text=True
    )


def test_agency_does_not_see_a_referral_before_delivery(app, demo, api_token):
    with app.test_request_context():
        referral_id = refer().id
        commit()
    staff = api_token("agency_staff")
    http = app.test_client()
    assert http.get(f"/api/v1/referrals/{referral_id}", headers=staff).status_code == 404
    with app.app_context():
        run_jobs()
    assert http.get(f"/api/v1/referrals/{referral_id}", headers=staff).status_code == 200


def test_agency_page_shows_only_the_shared_client_fields(app, demo, login_as):
    referral_id = _delivered_referral(app, shared=["full_name", "phone"])
    page = login_as("agency_staff").get(f"/referrals/{referral_id}").get_data(as_text=True)
    assert "Sri Wahyuni" in page and "081234567890" in page
    assert "Jl. Majapahit" not in page and "1985" not in page and "Street vendor" not in page
    officer_page = login_as("officer").get(f"/referrals/{referral_id}").get_data(as_text=True)
    assert "Consent to share" in officer_page


def test_inbox_counts_filters_and_accept_decline_from_the_pages(app, demo, login_as):
    first = _delivered_referral(app)
    with app.test_request_context():
        second = refer(make_client(full_name="Ani"), make_programme()).id
        commit()
        run_jobs()
    staff = login_as("agency_staff")
    inbox = staff.get("/referrals/inbox").get_data(as_text=True)
    assert 'data-testid="count-new">2<' in inbox
    home = staff.get("/").get_data(as_text=True)
    assert 'data-testid="home-inbox"' in home
    response = staff.post(f"/referrals/{first}/decline", data={"reason": "", "note": "kept"})
    assert response.status_code == 422 and "Choose a reason" in response.get_data(as_text=True)
    assert staff.post(f"/referrals/{first}/decline", data={"reason": "already_enrolled"}).status_code == 302
    assert staff.post(f"/referrals/{second}/accept", data={"note": "welcome"}).status_code == 302
    accepted = staff.get("/referrals/inbox?status=accepted").get_data(as_text=True)
    assert f">{second}</a>" in accepted and f">{first}</a>" not in accepted
    # The officer sees the decline in the list of referrals needing attention.
    officer_home = login_as("officer").get("/").get_data(as_text=True)
    assert f"Referral #{first}" in officer_home and f"Referral #{second}" not in officer_home
    with app.app_context():
        assert db.session.get(Referral, first).decline_reason == "already_enrolled"


def test_concurrent_decisions_exactly_one_wins(app, demo, login_as):
    referral_id = _delivered_referral(app)
    with app.app_context():
        version = db.session.scalar(select(Referral.version).where(Referral.id == referral_id))
    staff = login_as("agency_staff")
    officer = login_as("officer")
    # Both read the same version; the agency accepts, the officer cancels a moment later.
    assert staff.post(f"/referrals/{referral_id}/accept", data={"version": version}).status_code == 302
    response = officer.post(f"/referrals/{referral_id}/cancel", data={"version": version, "reason": "moved"})
    assert response.status_code == 409
    assert "changed this referral" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Referral, referral_id).status == "accepted"


def test_concurrent_update_without_version_is_caught_by_the_conditional_update(app, demo):
    """Two sessions load the same row; the second writer's UPDATE ... WHERE version = :v finds nothing."""
    from sqlalchemy.orm import Session

    from srs.core.errors import Conflict
    from srs.referrals import services as svc
    from tests.factories import user

    referral_id = _delivered_referral(app)
    with app.test_request_context():
        mine = db.session.get(Referral, referral_id)
        assert mine.status == "delivered"
        with Session(db.engine) as other:
            theirs = other.get(Referral, referral_id)
            theirs.status = "accepted"
            other.commit()
        try:
            svc.apply_action(mine, svc.Action("cancel", reason="moved"), user("officer.id1"))
            raise AssertionError("the stale write went through")
        except Conflict:
            pass
        db.session.rollback()
        assert db.session.get(Referral, referral_id).status == "accepted"


def test_two_people_acting_at_the_same_moment_exactly_one_wins(app, demo):
    """Two threads, two database connections, the same referral and version: one commit, one 409."""
    import threading

    from srs.core.errors import Conflict
    from srs.referrals import services as svc
    from tests.factories import user

    referral_id = _delivered_referral(app)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def act(username: str, action: svc.Action) -> None:
        with app.test_request_context():
            referral = db.session.get(Referral, referral_id)
            actor = user(username)
            barrier.wait()
            try:
                svc.apply_action(referral, action, actor)
                db.session.commit()
                outcomes.append(f"{action.name} won")
            except Conflict:
                db.session.rollback()
                outcomes.append(f"{action.name} refused")
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=act, args=("agency.bpjstk", svc.Action("accept"))),
        threading.Thread(target=act, args=("officer.id1", svc.Action("cancel", reason="moved away"))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(o.split()[1] for o in outcomes) == ["refused", "won"], outcomes
    with app.app_context():
        referral = db.session.get(Referral, referral_id)
        winner = next(o.split()[0] for o in outcomes if o.endswith("won"))
        assert referral.status == svc.TARGET[winner]
        assert [e.status for e in referral.events] == ["pending", "delivered", referral.status]

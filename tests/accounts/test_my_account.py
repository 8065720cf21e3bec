"""A user's own account page: language, password, open sessions; and the admin's view of sessions."""

from __future__ import annotations

from sqlalchemy import func, select

from srs.accounts.models import ApiToken, User
from srs.core.models import AuditEntry
from srs.extensions import db
from tests.conftest import DEMO_PASSWORD, login

NEW_PASSWORD = "a-much-longer-passphrase-2026"  # noqa: S105


def test_account_page_shows_who_you_are_and_where_you_are_signed_in(login_as):
    officer = login_as("officer")
    page = officer.get("/account").get_data(as_text=True)
    assert "officer.id1" in page and "Kabupaten Mojokerto" in page
    assert "this session" in page


def test_wrong_current_password_is_refused_next_to_the_field(app, login_as):
    officer = login_as("officer")
    response = officer.post(
        "/account/password",
        data={"current_password": "guess", "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="current_password-error"' in page and "This is not your current password." in page
    assert login(app.test_client(), "officer.id1", DEMO_PASSWORD).status_code == 302


def test_new_passwords_must_match_and_be_long_enough(login_as):
    officer = login_as("officer")
    page = officer.post(
        "/account/password",
        data={"current_password": DEMO_PASSWORD, "new_password": "short", "confirm_password": "shorter"},
    ).get_data(as_text=True)
    assert 'id="new_password-error"' in page and "at least" in page
    assert 'id="confirm_password-error"' in page and "not the same" in page


def test_changing_the_password_ends_other_sessions_and_tokens_but_not_this_one(app, login_as, api_token):
    token = api_token("officer")
    elsewhere = login_as("officer")
    here = login_as("officer")
    response = here.post(
        "/account/password",
        data={
            "current_password": DEMO_PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert here.get("/").status_code == 200
    assert "/login" in elsewhere.get("/").headers["Location"]
    assert app.test_client().get("/api/v1/me", headers=token).status_code == 401
    assert login(app.test_client(), "officer.id1", DEMO_PASSWORD).status_code == 200
    assert login(app.test_client(), "officer.id1", NEW_PASSWORD).status_code == 302
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.change_password"))
        assert entry is not None and NEW_PASSWORD not in str(entry.details)


def test_language_is_saved_and_can_follow_the_browser_again(app, login_as):
    officer = login_as("officer")
    assert officer.post("/account/language", data={"locale": "id"}).status_code == 302
    assert 'lang="id"' in officer.get("/account", headers={"Accept-Language": "vi"}).get_data(as_text=True)
    officer.post("/account/language", data={"locale": ""})
    with app.app_context():
        assert db.session.scalar(select(User.locale).where(User.username == "officer.id1")) is None
    assert 'lang="vi"' in officer.get("/account", headers={"Accept-Language": "vi"}).get_data(as_text=True)
    assert officer.post("/account/language", data={"locale": "xx"}).status_code == 422


def test_sign_out_everywhere_else(app, login_as, api_token):
    token = api_token("officer")
    elsewhere = login_as("officer")
    here = login_as("officer")
    here.post("/account/sessions/end-others")
    assert "/login" in elsewhere.get("/").headers["Location"]
    assert here.get("/").status_code == 200
    # API tokens belong to integrations and stay valid.
    assert app.test_client().get("/api/v1/me", headers=token).status_code == 200


def test_admin_sees_and_ends_a_users_sessions(app, login_as, api_token):
    token = api_token("officer")
    other_token = api_token("officer2")
    officer = login_as("officer")
    admin = login_as("admin")
    with app.app_context():
        officer_id = db.session.scalar(select(User.id).where(User.username == "officer.id1"))
        admin_id = db.session.scalar(select(User.id).where(User.username == "admin"))
    page = admin.get(f"/admin/users/{officer_id}").get_data(as_text=True)
    assert "Open sessions" in page and "End all sessions" in page
    assert admin.post(f"/admin/users/{officer_id}/sessions/end").status_code == 302
    assert "/login" in officer.get("/").headers["Location"]
    assert app.test_client().get("/api/v1/me", headers=token).status_code == 401
    # Only that user is affected.
    assert app.test_client().get("/api/v1/me", headers=other_token).status_code == 200
    with app.app_context():
        open_tokens = select(func.count()).select_from(ApiToken).where(ApiToken.revoked_at.is_(None))
        assert db.session.scalar(open_tokens) == 1
    # An admin does not lock themself out from the user page.
    admin.post(f"/admin/users/{admin_id}/sessions/end")
    assert admin.get("/").status_code == 200


def test_sessions_name_the_browser_in_a_few_words():
    from srs.accounts.models import describe_user_agent

    android = (
        "Mozilla/5.0 (Linux; Android 14; SM-A146B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Mobile Safari/537.36"
    )
    assert describe_user_agent(android) == "Chrome · Android"
    firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
    assert describe_user_agent(firefox) == "Firefox · Windows"
    assert describe_user_agent("") == ""

"""Signing in and out, sessions that really end, throttling, CSRF, security headers."""

from __future__ import annotations

from sqlalchemy import select

from srs.accounts.models import LoginSession, User
from srs.core.models import AuditEntry
from srs.extensions import db
from tests.conftest import DEMO_PASSWORD, csrf_token_from, login


def test_login_lands_on_the_role_home_page(client, demo):
    response = login(client, "officer.id1")
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Siti Rahayu" in page
    assert "District officer" in page
    assert "Kabupaten Mojokerto" in page


def test_wrong_password_gets_one_generic_message(client, demo):
    wrong_password = login(client, "officer.id1", "wrong-password").get_data(as_text=True)
    unknown_user = login(client, "nobody.here", "wrong-password").get_data(as_text=True)
    assert "The username or password is not right." in wrong_password
    assert "The username or password is not right." in unknown_user
    assert client.get("/").status_code == 302  # still signed out


def test_anonymous_is_sent_to_login_with_next(client, demo):
    response = client.get("/admin/users/")
    assert response.status_code == 302
    assert "/login?next=/admin/users/" in response.headers["Location"]


def test_logout_revokes_the_session_so_a_replayed_cookie_is_refused(app, client, demo):
    login(client, "officer.id1")
    cookie = client.get_cookie("srs_session")
    assert cookie is not None
    assert client.get("/").status_code == 200
    client.post("/logout")
    assert client.get("/").status_code == 302
    # Replay the cookie captured while signed in.
    replay = app.test_client()
    replay.set_cookie("srs_session", cookie.value)
    assert replay.get("/").status_code == 302
    with app.app_context():
        sessions = db.session.scalars(select(LoginSession)).all()
        assert len(sessions) == 1 and sessions[0].revoked_at is not None


def test_deactivated_user_loses_open_sessions(app, login_as):
    officer = login_as("officer")
    admin = login_as("admin")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "officer.id1"))
        user_id = user.id
    response = admin.post(
        f"/admin/users/{user_id}",
        data={
            "full_name": "Siti Rahayu",
            "role": "officer",
            "regions": ["35.16"],
            "agency": "",
            "locale": "",
        },
    )
    assert response.status_code == 302
    assert officer.get("/").status_code == 302


def test_failed_logins_are_throttled_per_account_with_a_clear_message(app, client, demo):
    for _ in range(5):
        assert login(client, "officer.id2", "bad-password-x").status_code == 200
    blocked = login(client, "officer.id2", DEMO_PASSWORD)
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.get_data(as_text=True)
    # Another account from the same address is still allowed.
    assert login(app.test_client(), "officer.id1").status_code == 302


def test_failed_logins_are_throttled_per_address(app, client, demo):
    app.config["LOGIN_LIMIT_PER_ADDRESS"] = "3 per 15 minutes"
    try:
        for name in ("a.user", "b.user", "c.user"):
            login(client, name, "whatever-password")
        assert login(client, "officer.id1").status_code == 429
        other_address = app.test_client()
        response = other_address.post(
            "/login",
            data={"username": "officer.id1", "password": DEMO_PASSWORD},
            environ_base={"REMOTE_ADDR": "10.9.8.7"},
        )
        assert response.status_code == 302
    finally:
        app.config["LOGIN_LIMIT_PER_ADDRESS"] = "20 per 15 minutes"


def test_csrf_is_required_on_forms(app, client, demo):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = client.post("/login", data={"username": "officer.id1", "password": DEMO_PASSWORD})
        assert refused.status_code == 400
        page = client.get("/login").get_data(as_text=True)
        token = csrf_token_from(page)
        accepted = client.post(
            "/login", data={"username": "officer.id1", "password": DEMO_PASSWORD, "csrf_token": token}
        )
        assert accepted.status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_security_headers_and_cookie_flags(client, demo):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    signed_in = login(client, "officer.id1")
    cookie_header = signed_in.headers["Set-Cookie"]
    assert "HttpOnly" in cookie_header and "SameSite=Lax" in cookie_header


def test_no_inline_scripts_or_styles_in_pages(login_as):
    for role in ("officer", "admin", "supervisor", "agency_staff"):
        page = login_as(role).get("/").get_data(as_text=True)
        assert "<script>" not in page and "style=" not in page and "onclick=" not in page


def test_login_and_logout_are_audited(app, client, demo):
    login(client, "officer.id1")
    client.post("/logout")
    with app.app_context():
        actions = [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert "login" in actions and "logout" in actions


def test_open_redirect_is_refused(client, demo):
    response = client.post(
        "/login?next=https://evil.example/", data={"username": "officer.id1", "password": DEMO_PASSWORD}
    )
    assert response.headers["Location"] == "/"

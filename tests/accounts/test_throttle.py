"""Sign-in budgets counted before the password check: parallel guesses, one budget per account."""

from __future__ import annotations

import threading
import time

import pytest
import redis
from sqlalchemy import select

from srs.accounts import services, throttle
from srs.core.models import AuditEntry
from srs.extensions import db
from tests.conftest import DEMO_PASSWORD, login

NEW_PASSWORD = "a-much-longer-passphrase-2026"  # noqa: S105


@pytest.fixture
def password_checks(monkeypatch):  # type: ignore[no-untyped-def]
    """Count the real password checks; each takes a moment, as argon2 does, so requests overlap."""
    calls: list[str] = []
    lock = threading.Lock()
    real = services.verify_password

    def counting(password_hash: str, password: str) -> bool:
        with lock:
            calls.append(password)
        time.sleep(0.05)
        return real(password_hash, password)

    monkeypatch.setattr(services, "verify_password", counting)
    return calls


def _parallel(app, count: int, attempt) -> list[int]:  # type: ignore[no-untyped-def]
    start = threading.Barrier(count)
    statuses: list[int] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        client = app.test_client()
        start.wait()
        status = attempt(client, n)
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def _actions(app, action: str) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_twenty_parallel_wrong_passwords_reach_the_check_at_most_five_times(app, demo, password_checks):
    statuses = _parallel(
        app,
        20,
        lambda c, n: c.post("/login", data={"username": "officer.id1", "password": f"guess-{n}"}).status_code,
    )
    assert len(password_checks) <= 5
    assert statuses.count(200) == len(password_checks)  # the form again: wrong password
    assert statuses.count(429) == 20 - len(password_checks)
    # The budget is spent: even the right password waits for the window.
    assert login(app.test_client(), "officer.id1").status_code == 429
    assert len(_actions(app, "login.failed")) == len(password_checks)
    assert len(_actions(app, "login.locked")) == 21 - len(password_checks)


def test_parallel_guesses_on_the_api_and_the_form_share_one_budget(app, demo, password_checks):
    def attempt(client, n):  # type: ignore[no-untyped-def]
        if n % 2:
            return client.post(
                "/api/v1/auth/token", json={"username": "OFFICER.ID1", "password": f"g{n}"}
            ).status_code
        return client.post("/login", data={"username": "officer.id1", "password": f"g{n}"}).status_code

    statuses = _parallel(app, 12, attempt)
    assert len(password_checks) <= 5
    assert statuses.count(429) >= 7
    assert set(statuses) <= {200, 401, 429}


def test_a_right_password_gives_its_attempt_back(app, demo):
    client = app.test_client()
    for _ in range(4):
        assert login(client, "officer.id2", "wrong-password-1").status_code == 200
    for _ in range(6):
        signed_in = app.test_client()
        assert login(signed_in, "officer.id2").status_code == 302
    assert login(client, "officer.id2", "wrong-password-2").status_code == 200  # the fifth failure
    assert login(client, "officer.id2", "wrong-password-3").status_code == 429
    assert login(app.test_client(), "officer.id2").status_code == 429


def test_the_token_endpoint_and_the_form_count_against_the_same_account(app, client, demo):
    for _ in range(3):
        assert login(client, "officer.id1", "wrong-password").status_code == 200
    for _ in range(2):
        response = client.post(
            "/api/v1/auth/token", json={"username": "officer.id1", "password": "nope-nope"}
        )
        assert response.status_code == 401
    response = client.post("/api/v1/auth/token", json={"username": "officer.id1", "password": DEMO_PASSWORD})
    assert response.status_code == 429
    assert response.mimetype == "application/problem+json"
    assert "Too many attempts" in response.get_json()["detail"]
    page = login(client, "officer.id1")
    assert page.status_code == 429 and "Too many attempts" in page.get_data(as_text=True)
    assert 'name="username"' in page.get_data(as_text=True)  # the form stays, with the message


def test_guessing_the_current_password_is_limited_and_spends_the_sign_in_budget(
    app, login_as, password_checks
):
    officer = login_as("officer")
    for n in range(5):
        response = officer.post(
            "/account/password",
            data={
                "current_password": f"guess-{n}",
                "new_password": NEW_PASSWORD,
                "confirm_password": NEW_PASSWORD,
            },
        )
        assert response.status_code == 422
    checks = len(password_checks)
    response = officer.post(
        "/account/password",
        data={
            "current_password": DEMO_PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert 'id="current_password-error"' in page and "Too many attempts" in page
    assert len(password_checks) == checks  # refused before the check
    assert login(app.test_client(), "officer.id1").status_code == 429
    failed = _actions(app, "password.check_failed")
    assert len(failed) == 5 and {e.username for e in failed} == {"officer.id1"}


def test_parallel_guesses_of_the_current_password_reach_the_check_at_most_five_times(
    app, login_as, password_checks
):
    cookie = login_as("officer").get_cookie("srs_session")
    baseline = len(password_checks)

    def attempt(client, n):  # type: ignore[no-untyped-def]
        client.set_cookie("srs_session", cookie.value)
        return client.post(
            "/account/password",
            data={
                "current_password": f"guess-{n}",
                "new_password": NEW_PASSWORD,
                "confirm_password": NEW_PASSWORD,
            },
        ).status_code

    statuses = _parallel(app, 15, attempt)
    assert len(password_checks) - baseline <= 5
    assert statuses.count(429) >= 10


def test_without_redis_sign_in_works_and_the_budget_is_kept_per_process(app, demo, monkeypatch):
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    monkeypatch.setattr(throttle, "get_redis", lambda: dead)
    assert login(app.test_client(), "officer.id1").status_code == 302
    client = app.test_client()
    for _ in range(5):
        assert login(client, "officer.id1", "wrong-password").status_code == 200
    assert login(client, "officer.id1", "wrong-password").status_code == 429
    assert login(app.test_client(), "officer.id2").status_code == 302  # another account is untouched


def test_the_budget_window_passes(app, demo, monkeypatch):
    app.config["LOGIN_LIMIT_PER_ACCOUNT"] = "2 per 1 second"
    try:
        client = app.test_client()
        for _ in range(2):
            assert login(client, "officer.id1", "wrong-password").status_code == 200
        assert login(client, "officer.id1").status_code == 429
        time.sleep(1.1)
        assert login(client, "officer.id1").status_code == 302
    finally:
        app.config["LOGIN_LIMIT_PER_ACCOUNT"] = "5 per 15 minutes"

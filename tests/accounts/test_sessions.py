"""Sessions end when idle; "last seen" and "last used" follow real use, written at most once a minute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import select

from srs.accounts.models import ApiToken, LoginSession
from srs.extensions import db
from tests.conftest import DEMO_PASSWORD, login

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 08:00 in Jakarta


def _session(app) -> LoginSession:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalars(select(LoginSession)).one()


def _token(app) -> ApiToken:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalars(select(ApiToken)).one()


def test_a_session_left_alone_for_the_idle_time_ends(app, client, demo):
    with time_machine.travel(START, tick=False) as traveller:
        assert login(client, "officer.id1").status_code == 302
        traveller.shift(timedelta(minutes=29))
        assert client.get("/").status_code == 200
        traveller.shift(timedelta(minutes=29))  # 58 minutes after signing in, 29 after the last page
        assert client.get("/").status_code == 200
        traveller.shift(timedelta(minutes=30, seconds=1))
        response = client.get("/clients/")
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_idle_time_is_a_setting(app, client, demo):
    app.config["SESSION_IDLE_MINUTES"] = 5
    try:
        with time_machine.travel(START, tick=False) as traveller:
            login(client, "officer.id1")
            traveller.shift(timedelta(minutes=4))
            assert client.get("/").status_code == 200
            traveller.shift(timedelta(minutes=5, seconds=1))
            assert client.get("/").status_code == 302
    finally:
        app.config["SESSION_IDLE_MINUTES"] = 30


def test_last_seen_is_written_at_most_once_a_minute(app, client, demo):
    with time_machine.travel(START, tick=False) as traveller:
        login(client, "officer.id1")
        assert _session(app).last_seen_at == START
        traveller.shift(timedelta(seconds=40))
        client.get("/")
        assert _session(app).last_seen_at == START  # not worth a write yet
        traveller.shift(timedelta(seconds=30))
        client.get("/")
        assert _session(app).last_seen_at == START + timedelta(seconds=70)
        traveller.shift(timedelta(minutes=3))
        assert client.get("/clients/999999").status_code == 404  # a refused request is activity too
        assert _session(app).last_seen_at == START + timedelta(seconds=250)


def test_the_account_page_shows_when_each_session_was_last_active_and_leaves_out_idle_ones(app, demo):
    laptop, phone = app.test_client(), app.test_client()
    with time_machine.travel(START, tick=False) as traveller:
        login(laptop, "officer.id1")
        login(phone, "officer.id1")
        traveller.shift(timedelta(minutes=20))
        page = laptop.get("/account").get_data(as_text=True)
        assert "Last active" in page and page.count("<tr>") == 3  # header and two sessions
        traveller.shift(timedelta(minutes=20))  # the phone: 40 minutes idle
        page = laptop.get("/account").get_data(as_text=True)
        assert page.count("<tr>") == 2
    assert phone.get("/").status_code == 302


def test_an_api_token_notes_when_it_was_last_used(app, client, demo):
    with time_machine.travel(START, tick=False) as traveller:
        response = client.post(
            "/api/v1/auth/token", json={"username": "officer.id1", "password": DEMO_PASSWORD}
        )
        headers = {"Authorization": f"Bearer {response.get_json()['token']}"}
        assert _token(app).last_used_at is None
        traveller.shift(timedelta(minutes=5))
        assert client.get("/api/v1/me", headers=headers).status_code == 200
        assert _token(app).last_used_at == START + timedelta(minutes=5)
        traveller.shift(timedelta(seconds=30))
        client.get("/api/v1/me", headers=headers)
        assert _token(app).last_used_at == START + timedelta(minutes=5)
        traveller.shift(timedelta(minutes=1))
        assert client.get("/api/v1/clients/999999", headers=headers).status_code == 404
        assert _token(app).last_used_at == START + timedelta(minutes=6, seconds=30)

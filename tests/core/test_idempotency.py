"""Idempotent creation (Idempotency-Key in /api/v1/openapi.json): a repeated request with one key
creates one record, even at once.

Runs on the embedded default and, with SRS_TEST_DATABASE_URL, on PostgreSQL: the concurrency tests
send six simultaneous requests to a real threaded HTTP server.
"""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, func, select

from srs.core import clock
from srs.core.idempotency import IdempotencyKey, purge_expired
from srs.extensions import db
from srs.referrals.models import Referral
from srs.registry.models import Client
from tests.conftest import DEMO_PASSWORD
from tests.factories import make_programme
from tests.referrals.conftest import make_client
from tests.registry.conftest import VILLAGE_ID2, payload, user
from tests.registry.test_pages import _form

CLIENTS = "/api/v1/clients"


def _count(app, model) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _keys(app) -> list[IdempotencyKey]:  # type: ignore[no-untyped-def]
    with app.app_context():
        rows = list(db.session.scalars(select(IdempotencyKey).order_by(IdempotencyKey.id)))
        db.session.expunge_all()
        return rows


# --- the API -------------------------------------------------------------------------------------


def test_a_repeated_request_gets_the_first_answer_and_creates_nothing(app, client, api_token):
    headers = {**api_token("officer"), "Idempotency-Key": "3f6c1a2e-device-0001"}
    body = payload()
    first = client.post(CLIENTS, json=body, headers=headers)
    assert first.status_code == 201, first.get_json()
    assert "Idempotent-Replayed" not in first.headers
    # The same body written differently (keys in another order) is the same request.
    again = client.post(CLIENTS, json=dict(reversed(list(body.items()))), headers=headers)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Cache-Control"] == "no-store"
    assert _count(app, Client) == 1
    [row] = _keys(app)
    assert row.status == 201 and row.location == first.headers["Location"]


def test_the_same_key_with_another_body_is_422_on_the_key(app, client, api_token):
    headers = {**api_token("officer"), "Idempotency-Key": "k-1"}
    assert client.post(CLIENTS, json=payload(), headers=headers).status_code == 201
    other = client.post(CLIENTS, json=payload(full_name="Dewi Lestari"), headers=headers)
    assert other.status_code == 422
    assert other.mimetype == "application/problem+json"
    assert "Idempotency-Key" in other.get_json()["errors"]
    assert "Idempotent-Replayed" not in other.headers
    assert _count(app, Client) == 1


@pytest.mark.parametrize("key", ["", " ", "x" * 201, "kunci-ß", "tab\there", "del\x7f", " lead", "trail "])
def test_a_malformed_key_is_422_and_creates_nothing(app, client, api_token, key):
    response = client.post(CLIENTS, json=payload(), headers={**api_token("officer"), "Idempotency-Key": key})
    assert response.status_code == 422, response.get_json()
    assert list(response.get_json()["errors"]) == ["Idempotency-Key"]
    assert _count(app, Client) == 0


def test_the_longest_key_and_inner_spaces_are_accepted(client, api_token):
    token = api_token("officer")
    for key in ["x" * 200, "a b ~!{}", "1"]:
        response = client.post(CLIENTS, json=payload(), headers={**token, "Idempotency-Key": key})
        assert response.status_code == 201, (key, response.get_json())


def test_keys_belong_to_their_user(app, client, api_token):
    key = {"Idempotency-Key": "shared-key"}
    first = client.post(CLIENTS, json=payload(), headers={**api_token("officer"), **key})
    second = client.post(
        CLIENTS, json=payload(region_code=VILLAGE_ID2), headers={**api_token("officer2"), **key}
    )
    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers
    assert first.get_json()["id"] != second.get_json()["id"]


def test_a_validation_refusal_is_replayed_and_the_key_stays_bound_to_its_body(app, client, api_token):
    headers = {**api_token("officer"), "Idempotency-Key": "bad-body"}
    bad = payload(full_name="")
    first = client.post(CLIENTS, json=bad, headers=headers)
    assert first.status_code == 422 and "full_name" in first.get_json()["errors"]
    again = client.post(CLIENTS, json=bad, headers=headers)
    assert again.status_code == 422 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    # The corrected registration is another request: it needs a key of its own.
    fixed = client.post(CLIENTS, json=payload(), headers=headers)
    assert fixed.status_code == 422 and "Idempotency-Key" in fixed.get_json()["errors"]
    assert (
        client.post(CLIENTS, json=payload(), headers={**headers, "Idempotency-Key": "good"}).status_code
        == 201
    )
    assert _count(app, Client) == 1


def test_a_duplicate_id_refusal_is_replayed(app, client, api_token):
    token = api_token("officer")
    body = payload()
    assert client.post(CLIENTS, json=body, headers=token).status_code == 201
    headers = {**token, "Idempotency-Key": "dup"}
    first = client.post(CLIENTS, json=body, headers=headers)
    assert first.status_code == 409
    again = client.post(CLIENTS, json=body, headers=headers)
    assert again.status_code == 409 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert _count(app, Client) == 1


def test_a_server_error_is_not_kept_and_the_retry_creates_the_client(app, client, api_token, monkeypatch):
    from srs.registry import services

    real = services.register_client
    calls = {"n": 0}

    def fails_once(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "register_client", fails_once)
    monkeypatch.setitem(app.config, "PROPAGATE_UNEXPECTED", False)
    headers = {**api_token("officer"), "Idempotency-Key": "retry-me"}
    assert client.post(CLIENTS, json=payload(), headers=headers).status_code == 500
    assert _keys(app) == [] and _count(app, Client) == 0
    retry = client.post(CLIENTS, json=payload(), headers=headers)
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry.headers
    assert _count(app, Client) == 1


def test_without_a_key_nothing_changes(app, client, api_token):
    token = api_token("officer")
    assert client.post(CLIENTS, json=payload(), headers=token).status_code == 201
    assert client.post(CLIENTS, json=payload(), headers=token).status_code == 201
    assert _count(app, Client) == 2 and _keys(app) == []


def test_referrals_take_the_key_too(app, client, api_token):
    with app.app_context():
        client_id = make_client().id
        make_programme()
        db.session.commit()
    headers = {**api_token("officer"), "Idempotency-Key": "ref-1"}
    body = {"client_id": client_id, "programme_code": "ID-BPJSTK-BPU", "note": "Please help"}
    first = client.post("/api/v1/referrals", json=body, headers=headers)
    assert first.status_code == 201, first.get_json()
    again = client.post("/api/v1/referrals", json=body, headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert _count(app, Referral) == 1
    # A key used for a referral is not a key for a registration.
    other = client.post(CLIENTS, json=payload(), headers=headers)
    assert other.status_code == 422 and "Idempotency-Key" in other.get_json()["errors"]


def test_the_header_is_documented_on_both_endpoints(client):
    document = client.get("/api/v1/openapi.json").get_json()
    for path in ("/clients", "/referrals"):
        operation = document["paths"][path]["post"]
        [parameter] = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
        assert parameter["in"] == "header" and parameter["schema"]["maxLength"] == 200
        assert "Idempotent-Replayed" in operation["responses"]["201"]["headers"]
        pattern = re.compile(parameter["schema"]["pattern"])
        assert pattern.match("x" * 200) and not pattern.match(" x") and not pattern.match("é")
    assert not any(
        p["name"] == "Idempotency-Key" for p in document["paths"]["/clients"]["get"].get("parameters", [])
    )


# --- at the same moment --------------------------------------------------------------------------


def _at_once(count: int, send: Any) -> list[requests.Response]:
    barrier = threading.Barrier(count)
    answers: list[Any] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            answers[index] = send()
        except Exception as exc:  # a failed request must fail the test below, not hang it
            answers[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def test_six_simultaneous_saves_with_one_key_make_one_client(app, api_token, live_url):
    headers = {**api_token("officer"), "Idempotency-Key": "tap-tap-tap"}
    # No ID number: nothing else would stop six copies of one person (they would only be flagged).
    body = payload(id_type="none", id_number=None)
    answers = _at_once(6, lambda: requests.post(live_url + CLIENTS, json=body, headers=headers, timeout=60))
    statuses = [getattr(a, "status_code", a) for a in answers]
    assert set(statuses) <= {201, 409}, statuses
    created = [a for a in answers if a.status_code == 201 and "Idempotent-Replayed" not in a.headers]
    replays = [a for a in answers if a.headers.get("Idempotent-Replayed") == "true"]
    assert len(created) == 1, statuses
    assert all(r.json() == created[0].json() for r in replays)
    for busy in (a for a in answers if a.status_code == 409):
        assert "in progress" in busy.json()["detail"]
    assert _count(app, Client) == 1
    # Whoever was told "in progress" gets the answer when sending again.
    retry = requests.post(live_url + CLIENTS, json=body, headers=headers, timeout=60)
    assert retry.status_code == 201 and retry.json()["id"] == created[0].json()["id"]


def test_six_simultaneous_referrals_with_one_key_make_one_referral(app, api_token, live_url):
    with app.app_context():
        client_id = make_client().id
        make_programme()
        db.session.commit()
    headers = {**api_token("officer"), "Idempotency-Key": "refer-once"}
    body = {"client_id": client_id, "programme_code": "ID-BPJSTK-BPU"}
    answers = _at_once(
        6, lambda: requests.post(live_url + "/api/v1/referrals", json=body, headers=headers, timeout=60)
    )
    statuses = [getattr(a, "status_code", a) for a in answers]
    assert set(statuses) <= {201, 409}, statuses
    assert len([a for a in answers if a.status_code == 201 and "Idempotent-Replayed" not in a.headers]) == 1
    assert _count(app, Referral) == 1


def test_a_request_whose_key_is_held_too_long_is_409_in_progress(app, client, api_token, monkeypatch):
    """The first request still running (its claim uncommitted): the second waits, then says so."""
    headers = {**api_token("officer"), "Idempotency-Key": "slow"}
    with app.app_context():
        user_id = user("officer.id1").id
    monkeypatch.setitem(app.config, "IDEMPOTENCY_WAIT_SECONDS", 0.5)
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    holder = engine.connect()
    transaction = holder.begin()
    try:
        holder.execute(
            IdempotencyKey.__table__.insert().values(
                user_id=user_id,
                key="slow",
                endpoint="api.create_client",
                request_hash="0" * 64,
                created_at=clock.now(),
            )
        )
        busy = client.post(CLIENTS, json=payload(), headers=headers)
        assert busy.status_code == 409
        assert "in progress" in busy.get_json()["detail"]
    finally:
        transaction.rollback()
        holder.close()
        engine.dispose()
    assert _count(app, Client) == 0
    # The first one never finished: the key is free and the retry is processed.
    assert client.post(CLIENTS, json=payload(), headers=headers).status_code == 201


# --- keeping keys --------------------------------------------------------------------------------


def test_keys_are_kept_30_days_then_purged(app, client, api_token):
    token = api_token("officer")
    for key in ("old", "recent"):
        response = client.post(CLIENTS, json=payload(), headers={**token, "Idempotency-Key": key})
        assert response.status_code == 201
    with app.app_context():
        old = db.session.scalar(select(IdempotencyKey).where(IdempotencyKey.key == "old"))
        old.created_at = clock.now() - timedelta(days=30, minutes=1)
        recent = db.session.scalar(select(IdempotencyKey).where(IdempotencyKey.key == "recent"))
        recent.created_at = clock.now() - timedelta(days=29, hours=23)
        db.session.commit()
        assert purge_expired() == 1
    assert [row.key for row in _keys(app)] == ["recent"]


def test_the_purge_runs_periodically(app):
    from srs.core.wiring import wiring

    [job] = [job for job in wiring(app).periodic_jobs if job.func == "srs.core.idempotency.purge_expired"]
    assert job.every_seconds <= 24 * 3600


# --- HTML forms ----------------------------------------------------------------------------------


def _form_key(html: str) -> str:
    match = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    assert match, "no one-time key in the form"
    return match.group(1)


def test_the_registration_form_sent_twice_makes_one_client(app, login_as):
    officer = login_as("officer")
    page = officer.get("/clients/new").get_data(as_text=True)
    key = _form_key(page)
    assert _form_key(officer.get("/clients/new").get_data(as_text=True)) != key  # one key per rendering
    data = {**_form(), "idempotency_key": key}
    first = officer.post("/clients/new", data=data)
    second = officer.post("/clients/new", data=data)
    assert first.status_code == second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]
    assert "/clients/" in first.headers["Location"]
    shown = officer.get(second.headers["Location"]).get_data(as_text=True)
    assert "This form had already been sent and was saved once" in shown
    assert _count(app, Client) == 1


def test_a_form_sent_again_with_changes_is_not_saved_and_says_so(app, login_as):
    officer = login_as("officer")
    key = _form_key(officer.get("/clients/new").get_data(as_text=True))
    first = officer.post("/clients/new", data={**_form(), "idempotency_key": key})
    changed = officer.post("/clients/new", data={**_form(full_name="Dewi Lestari"), "idempotency_key": key})
    assert changed.status_code == 302 and changed.headers["Location"] == first.headers["Location"]
    shown = officer.get(changed.headers["Location"]).get_data(as_text=True)
    assert "what you sent again with changes was not saved" in shown
    assert _count(app, Client) == 1


def test_a_form_shown_again_with_errors_keeps_its_key_and_the_corrected_form_saves(app, login_as):
    officer = login_as("officer")
    key = _form_key(officer.get("/clients/new").get_data(as_text=True))
    refused = officer.post("/clients/new", data={**_form(sex="male"), "idempotency_key": key})
    assert refused.status_code == 422
    assert _form_key(refused.get_data(as_text=True)) == key
    saved = officer.post("/clients/new", data={**_form(), "idempotency_key": key})
    assert saved.status_code == 302
    assert officer.post("/clients/new", data={**_form(), "idempotency_key": key}).status_code == 302
    assert _count(app, Client) == 1


def test_the_possible_duplicates_step_keeps_the_key_for_the_confirmed_save(app, login_as):
    officer = login_as("officer")
    assert officer.post("/clients/new", data=_form(id_type="none", id_number="")).status_code == 302
    key = _form_key(officer.get("/clients/new").get_data(as_text=True))
    data = {**_form(id_type="none", id_number=""), "idempotency_key": key}
    check = officer.post("/clients/new", data=data)
    assert check.status_code == 200 and "Possible duplicates" in check.get_data(as_text=True)
    assert _form_key(check.get_data(as_text=True)) == key
    confirmed = {**data, "confirm_not_duplicate": "y"}
    first = officer.post("/clients/new", data=confirmed)
    second = officer.post("/clients/new", data=confirmed)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert _count(app, Client) == 2


def test_the_referral_form_sent_twice_makes_one_referral(app, login_as):
    with app.app_context():
        client_id = make_client().id
        programme_id = make_programme().id
        db.session.commit()
    officer = login_as("officer")
    key = _form_key(officer.get(f"/referrals/new?client_id={client_id}").get_data(as_text=True))
    data = {"client_id": client_id, "programmes": [programme_id], "consent": "y", "idempotency_key": key}
    first = officer.post("/referrals/new", data=data)
    second = officer.post("/referrals/new", data=data)
    assert first.status_code == second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]
    assert _count(app, Referral) == 1


def test_a_tampered_form_key_is_refused_without_a_500(app, login_as):
    response = login_as("officer").post("/clients/new", data={**_form(), "idempotency_key": "x" * 300})
    assert response.status_code == 422
    assert _count(app, Client) == 0


def test_forgetting_a_record_removes_the_copies_of_its_answer(app, client, api_token):
    from srs.core.idempotency import forget

    token = api_token("officer")
    kept = client.post(CLIENTS, json=payload(), headers={**token, "Idempotency-Key": "erase-me"})
    other = client.post(CLIENTS, json=payload(), headers={**token, "Idempotency-Key": "keep-me"})
    with app.app_context():
        assert forget(kept.headers["Location"]) == 1
        db.session.commit()
    assert [row.location for row in _keys(app)] == [other.headers["Location"]]


def test_a_registration_form_sent_four_times_at_once_makes_one_client(app, demo, live_url):
    browser = requests.Session()
    signed_in = browser.post(
        live_url + "/login",
        data={"username": "officer.id1", "password": DEMO_PASSWORD},
        allow_redirects=False,
    )
    assert signed_in.status_code == 302
    key = _form_key(browser.get(live_url + "/clients/new", timeout=30).text)
    data = {**_form(id_type="none", id_number=""), "idempotency_key": key}
    answers = _at_once(
        4, lambda: browser.post(live_url + "/clients/new", data=data, allow_redirects=False, timeout=60)
    )
    assert [getattr(a, "status_code", a) for a in answers] == [302] * 4
    assert len({a.headers["Location"] for a in answers}) == 1
    assert _count(app, Client) == 1

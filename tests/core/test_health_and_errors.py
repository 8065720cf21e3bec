from unittest import mock

import redis


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_healthz_503_when_redis_is_down(client):
    with mock.patch("redis.Redis.ping", side_effect=redis.ConnectionError("down")):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["redis"] == "unavailable"


def test_html_404_is_a_page(login_as):
    response = login_as("officer").get("/no-such-page")
    assert response.status_code == 404
    assert "does not exist" in response.get_data(as_text=True)


def test_login_still_works_when_redis_is_down(app, client, demo):
    from tests.conftest import login

    with mock.patch("redis.Redis.execute_command", side_effect=redis.ConnectionError("down")):
        assert login(client, "officer.id1").status_code == 302

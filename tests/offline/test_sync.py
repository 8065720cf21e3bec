"""POST /offline/sync: each keyed operation created once, answered on its own."""

from __future__ import annotations

from sqlalchemy import func, select

from srs.core.models import AuditEntry
from srs.extensions import db
from srs.registry.models import Client
from tests.offline.conftest import offline_body, operation


def _clients() -> int:
    return db.session.scalar(select(func.count()).select_from(Client))


def test_three_operations_make_three_clients_and_a_resend_makes_none(login_as, app_ctx):
    officer = login_as("officer")
    ops = [
        operation(offline_body(full_name=name)) for name in ("Siti Aminah", "Budi Santoso", "Dewi Lestari")
    ]
    first = officer.post("/offline/sync", json={"operations": ops})
    assert first.status_code == 200
    results = first.get_json()["results"]
    assert [r["outcome"] for r in results] == ["created"] * 3
    assert all(r["link"].startswith("/clients/") and not r["replayed"] for r in results)
    assert _clients() == 3
    again = officer.post("/offline/sync", json={"operations": ops}).get_json()["results"]
    assert [r["client_id"] for r in again] == [r["client_id"] for r in results]
    assert all(r["replayed"] for r in again)
    assert _clients() == 3


def test_a_batch_cut_halfway_and_resent_whole_makes_each_once(login_as, app_ctx):
    officer = login_as("officer")
    ops = [operation(offline_body(full_name=f"Orang {n}", phone=None)) for n in range(4)]
    officer.post("/offline/sync", json={"operations": ops[:2]})  # the answer never reached the device
    results = officer.post("/offline/sync", json={"operations": ops}).get_json()["results"]
    assert [r["replayed"] for r in results] == [True, True, False, False]
    assert _clients() == 4


def test_each_item_answered_on_its_own(login_as, app_ctx):
    officer = login_as("officer")
    taken = offline_body(full_name="Siti Aminah")
    officer.post("/offline/sync", json={"operations": [operation(taken)]})
    results = officer.post(
        "/offline/sync",
        json={
            "operations": [
                operation(offline_body(full_name="")),  # refused: a field error, kept on the device
                operation({**offline_body(full_name="Siti A."), "id_number": taken["id_number"]}),
                operation(offline_body(full_name="Siti Aminah", id_number=None, id_type="none")),
                {"key": "", "op": "client.delete", "body": []},
            ]
        },
    ).get_json()["results"]
    refused, id_taken, duplicate, bad = results
    assert refused["outcome"] == "refused" and refused["status"] == 422 and "full_name" in refused["errors"]
    assert id_taken["outcome"] == "id_taken" and id_taken["existing_link"].startswith("/clients/")
    assert duplicate["outcome"] == "probable_duplicate" and duplicate["possible_duplicates"]
    assert bad["status"] == 422 and set(bad["errors"]) == {"key", "op", "body"}
    assert _clients() == 2


def test_a_key_reused_with_another_body_is_refused(login_as, app_ctx):
    officer = login_as("officer")
    op = operation(offline_body(full_name="Siti Aminah"))
    officer.post("/offline/sync", json={"operations": [op]})
    other = {**op, "body": offline_body(full_name="Budi Santoso")}
    result = officer.post("/offline/sync", json={"operations": [other]}).get_json()["results"][0]
    assert result["status"] == 422 and "key" in result["errors"]
    assert _clients() == 1


def test_server_time_wins_and_the_device_time_is_kept(login_as, app_ctx):
    officer = login_as("officer")
    op = operation(recorded_at="1999-01-01T00:00:00Z")  # a device whose clock is far off
    result = officer.post("/offline/sync", json={"operations": [op]}).get_json()["results"][0]
    client = db.session.get(Client, result["client_id"])
    assert client.created_at.year > 2000
    assert result["recorded_on_device"].startswith("1999-01-01T00:00:00")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "offline.synced"))
    assert entry is not None and "1999-01-01" in str(entry.details)


def test_not_a_batch_is_422_and_other_roles_are_refused(login_as):
    officer = login_as("officer")
    response = officer.post("/offline/sync", json={"operations": "x"})
    assert response.status_code == 422 and "operations" in response.get_json()["errors"]
    assert officer.post("/offline/sync", json={"operations": [operation()] * 51}).status_code == 422
    assert login_as("supervisor").post("/offline/sync", json={"operations": [operation()]}).status_code == 403


def test_the_api_sync_takes_a_bearer_token_and_is_described(client, api_token, app_ctx):
    headers = api_token("officer")
    op = operation()
    first = client.post("/api/v1/sync", json={"operations": [op]}, headers=headers).get_json()["results"]
    again = client.post("/api/v1/sync", json={"operations": [op]}, headers=headers).get_json()["results"]
    assert first[0]["outcome"] == "created" and again[0]["replayed"] is True
    assert _clients() == 1
    assert client.post("/api/v1/sync", json={"operations": []}, headers=headers).status_code == 422
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "Idempotency-Key" in spec["paths"]["/sync"]["post"]["description"]
    assert "SyncBatch" in spec["components"]["schemas"]

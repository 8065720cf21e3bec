"""Edits made offline: different fields merge, the same field changed on both sides is a conflict."""

from __future__ import annotations

from typing import Any

from srs.extensions import db
from srs.registry.models import Client
from tests.offline.conftest import offline_body, operation


def _register(officer: Any) -> dict[str, Any]:
    created = officer.post("/offline/sync", json={"operations": [operation(offline_body())]})
    client_id = created.get_json()["results"][0]["client_id"]
    record = officer.get(f"/offline/clients/{client_id}")
    assert record.status_code == 200 and record.headers["Cache-Control"] == "no-store"
    return record.get_json()


def _edit(record: dict[str, Any], **changes: Any) -> dict[str, Any]:
    base = {name: record["values"][name] for name in changes}
    body = {"client_id": record["client_id"], "version": record["version"], "base": base, "changes": changes}
    return operation(body, op="client.update")


def _server_edit(officer: Any, client_id: int, **changes: Any) -> None:
    version = officer.get(f"/offline/clients/{client_id}").get_json()["version"]
    # The online edit, as another officer's save would do it.
    from srs.registry import services
    from tests.factories import user

    client = db.session.get(Client, client_id)
    services.update_client(client, changes, user("officer.id1"), version)
    db.session.commit()


def test_an_edit_from_the_current_version_is_applied(login_as, app_ctx):
    officer = login_as("officer")
    record = _register(officer)
    result = officer.post("/offline/sync", json={"operations": [_edit(record, occupation="Petani")]})
    answer = result.get_json()["results"][0]
    assert answer["outcome"] == "updated" and answer["merged"] is False
    assert db.session.get(Client, record["client_id"]).occupation == "Petani"


def test_different_fields_merge(login_as, app_ctx):
    officer = login_as("officer")
    record = _register(officer)
    _server_edit(officer, record["client_id"], occupation="Guru")
    answer = officer.post("/offline/sync", json={"operations": [_edit(record, address="Dusun Baru RT 01")]})
    result = answer.get_json()["results"][0]
    assert result["outcome"] == "updated" and result["merged"] is True
    client = db.session.get(Client, record["client_id"])
    db.session.refresh(client)
    assert (client.occupation, client.address) == ("Guru", "Dusun Baru RT 01")


def test_the_same_field_changed_on_both_sides_is_a_conflict_with_both_values(login_as, app_ctx):
    officer = login_as("officer")
    record = _register(officer)
    _server_edit(officer, record["client_id"], occupation="Guru")
    op = _edit(record, occupation="Petani", address="Dusun Baru RT 01")
    result = officer.post("/offline/sync", json={"operations": [op]}).get_json()["results"][0]
    assert result["outcome"] == "conflict" and result["status"] == 409
    assert result["conflicts"] == {
        "occupation": {"device": "Petani", "server": "Guru", "base": record["values"]["occupation"]}
    }
    client = db.session.get(Client, record["client_id"])
    db.session.refresh(client)
    assert (client.occupation, client.address) == ("Guru", record["values"]["address"])  # nothing applied
    again = officer.post("/offline/sync", json={"operations": [op]}).get_json()["results"][0]
    assert again["replayed"] is True and again["outcome"] == "conflict"


def test_an_edit_of_a_client_outside_the_area_is_refused(login_as):
    record = _register(login_as("officer"))
    other = login_as("officer2")
    assert other.get(f"/offline/clients/{record['client_id']}").status_code == 404
    result = other.post("/offline/sync", json={"operations": [_edit(record, occupation="X")]})
    assert result.get_json()["results"][0]["outcome"] == "refused"

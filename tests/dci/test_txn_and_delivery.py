"""Transaction status (sync and async), callback retries with one message_id, the signing key."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import select

from srs import create_app
from srs.core import clock
from srs.core.models import AuditEntry
from srs.dci import jobs, signing
from srs.dci.models import DciOutbox
from srs.extensions import db
from tests.conftest import make_config
from tests.dci.conftest import CallbackServer, header, run_jobs, search_body, search_item, set_profile
from tests.dci.spec import assert_request, assert_response


def _status_body(attribute_type: str, value, txn_type: str = "search", **extra):  # type: ignore[no-untyped-def]
    return {
        "signature": "",
        "header": header("txn-status", 1, **extra),
        "message": {
            "transaction_id": "txn-status-1",
            "txnstatus_request": {
                "reference_id": "status-ref",
                "txn_type": txn_type,
                "attribute_type": attribute_type,
                "attribute_value": value,
            },
        },
    }


def test_sync_txn_status_reports_an_earlier_search_without_its_records(client, partner, people):
    body = search_body(
        search_item("idtype-value", {"type": "NIK", "value": people["siti_nik"]}, "r1"),
        search_item("idtype-value", {"type": "NIK", "value": "1"}, "r2", pagination={"page_size": 0}),
    )
    first = client.post("/dci/registry/sync/search", json=body, headers=partner["headers"]).get_json()
    transaction_id = body["message"]["transaction_id"]
    for attribute_type, value in (
        ("transaction_id", transaction_id),
        ("correlation_id", first["message"]["correlation_id"]),
        ("reference_id_list", ["r2"]),
    ):
        request = _status_body(attribute_type, value)
        assert_request("/registry/sync/txn/status", request)
        response = client.post("/dci/registry/sync/txn/status", json=request, headers=partner["headers"])
        assert response.status_code == 200
        data = response.get_json()
        assert_response("/registry/sync/txn/status", data)
        status = data["message"]["txnstatus_response"]["txn_status"]
        assert status["transaction_id"] == transaction_id
        items = {i["reference_id"]: i for i in status["search_response"]}
        assert "data" not in str(items)  # statuses, never the people found
        if attribute_type == "reference_id_list":
            assert list(items) == ["r2"]
        else:
            assert (
                items["r1"]["status"] == "succ"
                and items["r2"]["status_reason_code"] == "rjct.pagination.invalid"
            )


def test_an_unknown_transaction_is_reported_as_such(client, partner):
    request = _status_body("transaction_id", "never-sent")
    data = client.post("/dci/registry/sync/txn/status", json=request, headers=partner["headers"]).get_json()
    assert_response("/registry/sync/txn/status", data)
    (item,) = data["message"]["txnstatus_response"]["txn_status"]["search_response"]
    assert item["status"] == "rjct" and item["status_reason_code"] == "rjct.reference_id.invalid"


def test_async_txn_status_calls_back_at_txn_on_status(client, partner, people, callbacks):
    body = search_body(search_item("idtype-value", {"type": "NIK", "value": people["siti_nik"]}))
    client.post("/dci/registry/sync/search", json=body, headers=partner["headers"])
    request = _status_body("transaction_id", body["message"]["transaction_id"])
    assert_request("/registry/txn/status", request)
    response = client.post("/dci/registry/txn/status", json=request, headers=partner["headers"])
    assert response.status_code == 202
    assert_response("/registry/txn/status", response.get_json())
    run_jobs()
    callbacks.wait(1)
    (call,) = callbacks.calls
    assert call["path"] == "/registry/txn/on-status"
    assert_request("/registry/txn/on-status", call["body"])
    assert call["body"]["header"]["action"] == "txn-on-status"


def test_a_refused_callback_is_retried_with_the_same_message_id_and_a_fresh_signature(
    app, client, partner, people
):
    server = CallbackServer(fail_first=1).start()
    try:
        set_profile(app, callback_bases=[server.base])
        body = search_body(search_item("idtype-value", {"type": "NIK", "value": people["siti_nik"]}))
        client.post("/dci/registry/search", json=body, headers=partner["headers"])
        run_jobs()
        server.wait(1)
        with app.app_context():
            (row,) = db.session.scalars(select(DciOutbox)).all()
            assert row.status == "pending" and row.attempts == 1 and row.message is not None
            assert row.available_at > clock.now()
            row_id = row.id
            assert jobs.relay() == 0  # not due yet
        with time_machine.travel(clock.now() + timedelta(minutes=5), tick=False):
            with app.app_context():
                assert jobs.relay() == 1
            run_jobs()
        server.wait(2)
        first, second = (c["body"] for c in server.calls)
        assert first["header"]["message_id"] == second["header"]["message_id"]
        assert first["signature"] != second["signature"]  # signed at each attempt: signatures expire
        assert first["message"] == second["message"]  # the search ran once
        assert_request("/registry/on-search", second)
        with app.app_context():
            row = db.session.get(DciOutbox, row_id)
            assert row.status == "done" and row.attempts == 2 and row.message is None
            assert jobs.deliver(row_id) == "nothing to do"  # a late duplicate job sends nothing
        assert len(server.calls) == 2
    finally:
        server.stop()


def test_the_signing_key_is_generated_once_and_published(app, client, tmp_path, redis_url):
    keys = client.get("/.well-known/jwks.json")
    assert keys.status_code == 200
    (jwk,) = keys.get_json()["keys"]
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519" and jwk["kid"] and "d" not in jwk
    # Another process on the same instance folder signs with the same key.
    other = create_app(make_config(app.config["INSTANCE_PATH"]))
    with other.app_context():
        assert signing.jwks()["keys"][0]["kid"] == jwk["kid"]
    assert (app.config["INSTANCE_PATH"] / "dci_signing_key.pem").stat().st_mode & 0o077 == 0


def test_a_callback_refused_at_its_last_attempt_is_marked_failed_and_audited(app, client, partner, people):
    # Found by mypy: the audit call passed ``action=`` twice (audit.record's own argument and the
    # detail), so the last failure raised TypeError and the row never became 'failed'.
    server = CallbackServer(fail_first=5).start()
    try:
        set_profile(app, callback_bases=[server.base])
        app.config["DCI_MAX_ATTEMPTS"] = 1
        body = search_body(search_item("idtype-value", {"type": "NIK", "value": people["siti_nik"]}))
        client.post("/dci/registry/search", json=body, headers=partner["headers"])
        run_jobs()
        server.wait(1)
        with app.app_context():
            (row,) = db.session.scalars(select(DciOutbox)).all()
            assert row.status == "failed" and row.attempts == 1
            assert row.header is None and row.message is None
            entry = db.session.scalars(
                select(AuditEntry).where(AuditEntry.action == "dci.callback_failed")
            ).one()
            assert entry.details["callback_action"] == "on-search"
            assert "500" in entry.details["error"]
    finally:
        server.stop()

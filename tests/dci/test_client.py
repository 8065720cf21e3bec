"""SRS as a DCI client: checking a national Social Registry, and births and deaths from a civil registry.

A small fake national registry runs on 127.0.0.1 in the tests; every request SRS sends it is
validated against the spec (social_api_v1.0.0.yaml, crvs_api_v1.0.0.yaml), and so is every
callback the tests send SRS on the registry's behalf.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from srs.core import clock
from srs.core.models import AuditEntry
from srs.dci import envelope as env
from srs.dci import jobs, signing
from srs.dci.models import CivilEvent, NationalRegistry, RegistryCheck
from srs.extensions import db
from srs.registry.idnumbers import make_nik
from srs.registry.models import Client
from tests.conftest import login
from tests.dci.spec import assert_request
from tests.factories import make_client

NIK_BIRTH = date(1984, 2, 14)


class FakeRegistry:
    """A national registry: answers sync search from ``people``, ACKs async search and subscribe."""

    def __init__(self) -> None:
        self.people: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.delay = 0.0
        self.status = 200
        self.key: Ed25519PrivateKey | None = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = json.loads(raw or b"null")
                fake.requests.append(
                    {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
                )
                if fake.delay:
                    time.sleep(fake.delay)
                answer = fake.answer(self.path, body)
                with contextlib.suppress(OSError):
                    self.send_response(fake.status)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(json.dumps(answer).encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def envelope(self, action: str, message: dict[str, Any]) -> dict[str, Any]:
        header = {
            "version": "1.0.0",
            "message_id": env.new_id(),
            "message_ts": env.timestamp(),
            "action": action,
            "status": "succ",
            "sender_id": "national.registry",
            "receiver_id": "srs",
            "total_count": 1,
            "completed_count": 1,
            "is_msg_encrypted": False,
        }
        signature = signing.sign_with(self.key, "national.registry", header, message) if self.key else ""
        return {"signature": signature, "header": header, "message": message}

    def search_answer(self, body: dict[str, Any], action: str = "on-search") -> dict[str, Any]:
        request = body["message"]["search_request"][0]
        number = request["search_criteria"]["query"]["value"]
        person = self.people.get(number)
        records = [person] if person else []
        message = {
            "transaction_id": body["message"]["transaction_id"],
            "correlation_id": "corr-" + body["message"]["transaction_id"][-8:],
            "search_response": [
                {
                    "reference_id": request["reference_id"],
                    "timestamp": env.timestamp(),
                    "status": "succ",
                    "data": {
                        "version": "1.0.0",
                        "reg_type": "ns:org:RegistryType:Social",
                        "reg_records": records,
                    },
                    "pagination": {"page_size": 5, "page_number": 1, "total_count": len(records)},
                }
            ],
        }
        return self.envelope(action, message)

    def answer(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if path.endswith("/registry/sync/search"):
            return self.search_answer(body)
        return {"message": {"ack_status": "ACK", "timestamp": env.timestamp(), "correlation_id": "corr-1"}}

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake() -> Iterator[FakeRegistry]:
    server = FakeRegistry()
    yield server
    server.stop()


def _registry(app, fake: FakeRegistry, kind: str = "social", **fields: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    with app.app_context():
        row = NationalRegistry(
            kind=kind,
            name="DTSEN (test)" if kind == "social" else "Dukcapil CRVS (test)",
            country="ID",
            base_url=fake.base,
            receiver_id="national.registry",
            auth_token="registry-token",
            timeout_seconds=fields.pop("timeout_seconds", 2.0),
            inbound_token=f"tok-{kind}-{env.new_id()[:8]}",
            **fields,
        )
        db.session.add(row)
        db.session.commit()
        return {"id": row.id, "token": row.inbound_token, "name": row.name}


def _person(app, **fields: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    with app.app_context():
        nik = make_nik("351608", NIK_BIRTH, "female", 77)
        client = make_client(
            "35.16.08.2003",
            full_name="Sri Wahyuni",
            id_type="nik",
            id_number=nik,
            date_of_birth=NIK_BIRTH,
            poverty_status="unknown",
            consent_date=date(2026, 1, 5),
            consent_scope="Screening and referral",
            address="Jl. Melati 4",
            **fields,
        )
        db.session.commit()
        return {"id": client.id, "nik": nik}


def _member(nik: str) -> dict[str, Any]:
    return {
        "@type": "Member",
        "@id": "urn:dtsen:member:1",
        "member_identifier": [{"@type": "Identifier", "identifier_type": "NIK", "identifier_value": nik}],
        "demographic_info": {
            "@type": "SRPerson",
            "name": {"@type": "Name", "given_name": "Sri Wahyuni"},
            "sex": "female",
            "birth_date": NIK_BIRTH.isoformat(),
        },
        "poverty_status": "poor",
        "poverty_score": 2,
        "household_size": 5,
        "last_updated": "2026-09-30T00:00:00+07:00",
    }


def _check(client, person) -> Any:  # type: ignore[no-untyped-def]
    return client.post(f"/clients/{person['id']}/national-registry", follow_redirects=True)


def _latest(app, client_id: int) -> RegistryCheck:  # type: ignore[no-untyped-def]
    with app.app_context():
        row = db.session.scalar(
            select(RegistryCheck)
            .where(RegistryCheck.client_id == client_id)
            .order_by(RegistryCheck.id.desc())
        )
        assert row is not None
        db.session.expunge(row)
        return row


def test_an_officer_checks_the_registry_compares_and_takes_values_over(app, client, demo, fake):
    registry = _registry(app, fake)
    person = _person(app)
    fake.people[person["nik"]] = _member(person["nik"])
    login(client, "officer.id1")

    page = _check(client, person).get_data(as_text=True)
    (sent,) = fake.requests
    assert sent["path"] == "/registry/sync/search" and sent["auth"] == "Bearer registry-token"
    assert_request("/registry/sync/search", sent["body"])
    assert sent["body"]["message"]["search_request"][0]["search_criteria"]["query"] == {
        "type": "NIK",
        "value": person["nik"],
    }
    # SRS signs what it sends; the registry can check it against /.well-known/jwks.json.
    jwk = client.get("/.well-known/jwks.json").get_json()["keys"][0]
    assert signing.verify(
        sent["body"]["signature"],
        sent["body"]["header"],
        sent["body"]["message"],
        signing.load_public_key(jwk["x"]),
    ).ok
    assert 'data-testid="registry-compare"' in page and "2026-09-30" in page
    check = _latest(app, person["id"])
    assert check.status == "found"
    assert check.found["poverty_status"] == "poor" and check.found["welfare_decile"] == 2
    assert check.found["household_size"] == 5

    response = client.post(
        f"/clients/{person['id']}/national-registry/{check.id}/take-over",
        data={"fields": ["poverty_status", "welfare_decile"]},
    )
    assert response.status_code == 303
    with app.app_context():
        row = db.session.get(Client, person["id"])
        assert (row.poverty_status, row.welfare_decile, row.household_size) == ("poor", 2, None)
        assert row.welfare_source == registry["name"] and row.welfare_date == date(2026, 9, 30)
        taken = db.session.get(RegistryCheck, check.id).taken
        assert [t["field"] for t in taken] == ["poverty_status", "welfare_decile"]
        assert all(t["by"] == "officer.id1" for t in taken)
        actions = [
            e.action
            for e in db.session.scalars(
                select(AuditEntry).where(AuditEntry.object_id == str(person["id"])).order_by(AuditEntry.id)
            )
        ]
        assert "dci.registry_check" in actions and "dci.registry_takeover" in actions
        assert "client.update" in actions  # through the registry's normal, audited edit


def test_nobody_in_the_registry_and_values_it_did_not_give_cannot_be_taken(app, client, demo, fake):
    _registry(app, fake)
    person = _person(app)
    login(client, "officer.id1")
    assert "holds no one" in _check(client, person).get_data(as_text=True)
    check = _latest(app, person["id"])
    assert check.status == "not_found"
    assert 'data-testid="registry-panel"' in client.get(f"/clients/{person['id']}").get_data(as_text=True)
    response = client.post(
        f"/clients/{person['id']}/national-registry/{check.id}/take-over",
        data={"fields": ["poverty_status"]},
        follow_redirects=True,
    )
    assert "no answer from the registry" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Client, person["id"]).poverty_status == "unknown"


def test_a_registry_that_is_down_or_slow_never_blocks_and_can_be_retried(app, client, demo, fake):
    _registry(app, fake, timeout_seconds=0.5)
    person = _person(app)
    fake.people[person["nik"]] = _member(person["nik"])
    login(client, "officer.id1")

    fake.delay = 2.0
    started = time.monotonic()
    page = _check(client, person).get_data(as_text=True)
    assert time.monotonic() - started < 1.8  # the timeout, not the registry, decides how long it takes
    assert "did not answer" in page
    failed = _latest(app, person["id"])
    assert failed.status == "failed" and "0.5 s" in failed.error

    fake.delay, fake.status = 0.0, 503
    _check(client, person)
    assert _latest(app, person["id"]).error == "the registry answered HTTP 503"

    fake.status = 200
    _check(client, person)
    assert _latest(app, person["id"]).status == "found"


def test_an_asynchronous_registry_answers_by_callback(app, client, demo, fake):
    registry = _registry(app, fake, answers_async=True)
    person = _person(app)
    fake.people[person["nik"]] = _member(person["nik"])
    login(client, "officer.id1")
    assert "answer shortly" in _check(client, person).get_data(as_text=True)
    (sent,) = fake.requests
    assert sent["path"] == "/registry/search"
    assert_request("/registry/search", sent["body"])
    assert sent["body"]["header"]["sender_uri"].endswith(f"/dci/inbound/{registry['token']}/on-search")
    assert _latest(app, person["id"]).status == "pending"

    callback = fake.search_answer(sent["body"])
    assert_request("/registry/on-search", callback)
    anonymous = app.test_client()
    assert anonymous.post("/dci/inbound/not-a-token/on-search", json=callback).status_code == 404
    answer = anonymous.post(f"/dci/inbound/{registry['token']}/on-search", json=callback)
    assert answer.status_code == 200 and answer.get_json()["message"]["ack_status"] == "ACK"
    assert _latest(app, person["id"]).status == "found"
    # The same callback again finds no pending check: an error, nothing changed.
    again = anonymous.post(f"/dci/inbound/{registry['token']}/on-search", json=callback)
    assert again.status_code == 400 and again.get_json()["message"]["ack_status"] == "ERR"
    assert anonymous.post(f"/dci/inbound/{registry['token']}/on-search", data="nope").status_code == 400


def test_a_registry_with_a_key_must_sign_its_answers(app, client, demo, fake):
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    _registry(app, fake, public_key=base64.urlsafe_b64encode(public).decode().rstrip("="))
    person = _person(app)
    fake.people[person["nik"]] = _member(person["nik"])
    login(client, "officer.id1")
    _check(client, person)
    refused = _latest(app, person["id"])
    assert refused.status == "failed" and "signature" in refused.error
    fake.key = key
    _check(client, person)
    assert _latest(app, person["id"]).status == "found"


def test_only_staff_in_scope_may_check(app, client, demo, fake):
    _registry(app, fake)
    person = _person(app)
    login(client, "officer.id2")  # another district
    assert client.post(f"/clients/{person['id']}/national-registry").status_code == 404
    agency = app.test_client()
    login(agency, "agency.bpjstk")
    assert agency.post(f"/clients/{person['id']}/national-registry").status_code == 403
    assert fake.requests == []


def test_new_registrations_are_checked_by_the_worker_once(app, demo, fake):
    _registry(app, fake)
    person = _person(app)
    fake.people[person["nik"]] = _member(person["nik"])
    with app.app_context():
        assert jobs.check_new_registrations() == 1
        assert jobs.check_new_registrations() == 0
        check = db.session.scalar(select(RegistryCheck).where(RegistryCheck.client_id == person["id"]))
        assert check.status == "found" and check.user_id is None


def test_no_registry_configured_checks_nothing(app, client, demo):
    person = _person(app)
    with app.app_context():
        assert jobs.check_new_registrations() == 0
    login(client, "officer.id1")
    page = _check(client, person).get_data(as_text=True)
    assert "No national registry is configured" in page


# ---------------------------------------------------------------- the civil registry


def _notify(kind: str, person: dict[str, Any], reference: str) -> dict[str, Any]:
    message = {
        "transaction_id": "crvs-txn-1",
        "notify_event": [
            {
                "reference_id": reference,
                "timestamp": env.timestamp(),
                "data": {
                    "version": "1.0.0",
                    "reg_type": "ns:org:RegistryType:Civil",
                    "reg_event_type": f"spdci-common:RegistryEventType:{kind}",
                    "reg_record_type": "spdci-extensions-dci:Person",
                    "reg_records": person,
                },
            }
        ],
    }
    header = {
        "version": "1.0.0",
        "message_id": env.new_id(),
        "message_ts": env.timestamp(),
        "action": "notify",
        "status": "succ",
        "sender_id": "national.registry",
        "total_count": 1,
        "completed_count": 1,
    }
    return {"signature": "", "header": header, "message": message}


def test_births_and_deaths_of_registered_people_become_tasks_for_their_officers(app, client, demo, fake):
    registry = _registry(app, fake, kind="crvs")
    person = _person(app)
    login(client, "admin")
    assert client.post(f"/admin/dci/registries/{registry['id']}/subscribe").status_code == 303
    (sent,) = fake.requests
    assert sent["path"] == "/registry/subscribe"
    assert_request("/registry/subscribe", sent["body"], api="crvs")
    events = [i["subscribe_criteria"]["reg_event_type"] for i in sent["body"]["message"]["subscribe_request"]]
    assert events == ["spdci-common:RegistryEventType:LiveBirth", "spdci-common:RegistryEventType:Death"]
    with app.app_context():
        assert db.session.get(NationalRegistry, registry["id"]).subscription_status == "requested"

    crvs = app.test_client()
    on_subscribe = {
        "signature": "",
        "header": {**_notify("Death", {}, "x")["header"], "action": "on-subscribe"},
        "message": {
            "transaction_id": sent["body"]["message"]["transaction_id"],
            "correlation_id": "corr-sub",
            "subscribe_response": [
                {
                    "reference_id": "r1",
                    "timestamp": env.timestamp(),
                    "status": "succ",
                    "subscriptions": [{"code": "SUB-1", "status": "subscribe", "timestamp": env.timestamp()}],
                }
            ],
        },
    }
    assert_request("/registry/on-subscribe", on_subscribe, api="crvs")
    assert crvs.post(f"/dci/inbound/{registry['token']}/on-subscribe", json=on_subscribe).status_code == 200
    with app.app_context():
        row = db.session.get(NationalRegistry, registry["id"])
        assert (row.subscription_status, row.subscription_code) == ("subscribed", "SUB-1")

    identifier = {"@type": "Identifier", "identifier_type": "UIN", "identifier_value": person["nik"]}
    death = _notify(
        "Death",
        {"@type": "CRVS_Person", "identifier": identifier, "death_date": "2026-11-20", "sex": "female"},
        "death-1",
    )
    assert_request("/registry/notify", death, api="crvs")
    newborn = _notify(
        "LiveBirth",
        {
            "@type": "CRVS_Person",
            "name": {"@type": "Name", "given_name": "Putri"},
            "birth_date": "2026-11-25",
            "parent1_identifier": identifier,
        },
        "birth-1",
    )
    stranger = _notify(
        "Death", {"identifier": {"identifier_type": "UIN", "identifier_value": "3516081111110001"}}, "death-2"
    )
    for body in (death, newborn, death, stranger):  # the death is notified twice
        answer = crvs.post(f"/dci/inbound/{registry['token']}/notify", json=body)
        assert answer.status_code == 200 and answer.get_json()["message"]["ack_status"] == "ACK"
    with app.app_context():
        events = list(db.session.scalars(select(CivilEvent).order_by(CivilEvent.id)))
        assert [(e.kind, e.client_id, str(e.event_date)) for e in events] == [
            ("death", person["id"], "2026-11-20"),
            ("birth", person["id"], "2026-11-25"),
        ]
        assert events[1].details["name"] == "Putri"
        death_id = events[0].id
    bad = crvs.post(f"/dci/inbound/{registry['token']}/notify", json={"header": {}, "message": {}})
    assert bad.status_code == 400 and bad.get_json()["message"]["ack_status"] == "ERR"

    elsewhere = app.test_client()
    login(elsewhere, "officer.id2")  # another district: sees none of it
    assert elsewhere.get(f"/civil-events/{death_id}").status_code == 404
    assert "Putri" not in elsewhere.get("/civil-events").get_data(as_text=True)
    client = app.test_client()
    login(client, "officer.id1")
    assert 'data-testid="home-civil-events"' in client.get("/").get_data(as_text=True)
    page = client.get(f"/civil-events/{death_id}").get_data(as_text=True)
    assert "close the person" in page
    assert client.post(f"/civil-events/{death_id}", data={"outcome": ""}).status_code == 422
    done = client.post(f"/civil-events/{death_id}", data={"outcome": "Household updated."})
    assert done.status_code == 303
    with app.app_context():
        event = db.session.get(CivilEvent, death_id)
        assert event.done_at is not None and event.outcome == "Household updated."
        assert (
            db.session.scalar(
                select(func.count()).select_from(CivilEvent).where(CivilEvent.done_at.is_(None))
            )
            == 1
        )


def test_admins_configure_registries_and_bad_addresses_are_refused(app, client, demo):
    login(client, "admin")
    assert client.get("/admin/dci/registries/new").status_code == 200
    form = {
        "kind": "social",
        "name": "DTSEN",
        "country": "ID",
        "base_url": "http://169.254.169.254/latest/",
        "receiver_id": "dtsen",
        "timeout_seconds": "5",
        "active": "y",
    }
    assert client.post("/admin/dci/registries/new", data=form).status_code == 422
    assert (
        client.post("/admin/dci/registries/new", data={**form, "public_key": "not a key"}).status_code == 422
    )
    saved = client.post("/admin/dci/registries/new", data={**form, "base_url": "http://127.0.0.1:9/"})
    assert saved.status_code == 303
    listing = client.get("/admin/dci/registries/").get_data(as_text=True)
    assert "DTSEN" in listing and "/dci/inbound/" in listing
    officer = app.test_client()
    login(officer, "officer.id1")
    assert officer.get("/admin/dci/registries/").status_code == 403
    with app.app_context():
        assert clock.now() >= db.session.scalar(select(NationalRegistry.created_at))

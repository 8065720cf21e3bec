"""Fixtures for the DCI tests: a partner, a callback receiver on 127.0.0.1, envelopes, clients."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import select

from srs.core import clock
from srs.core.queue import get_queue
from srs.core.redis import get_redis
from srs.core.transaction import commit
from srs.dci import partners, signing
from srs.dci import services as svc
from srs.dci.models import DciPartner
from srs.dci.vocabulary import ATTRIBUTES, ID_TYPES, RECORD_FIELDS
from srs.extensions import db
from srs.regions.models import Region
from srs.registry.idnumbers import make_nik, make_vn_pid
from srs.registry.models import Client, Household, HouseholdMember
from tests.conftest import DEMO_PASSWORD
from tests.factories import region  # noqa: F401 - the folder's tests import it from here


class CallbackServer:
    """A partner's callback endpoint: records every POST; ``fail_first`` answers 500 that many times."""

    def __init__(self, fail_first: int = 0) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail_first = fail_first
        self.received = threading.Condition()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                with server.received:
                    server.calls.append({"path": self.path, "body": json.loads(raw or b"null")})
                    failing = server.fail_first > 0
                    if failing:
                        server.fail_first -= 1
                    server.received.notify_all()
                with contextlib.suppress(OSError):
                    self.send_response(500 if failing else 200)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"message": {"ack_status": "ACK"}}')

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> CallbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def bodies(self, action: str | None = None) -> list[dict[str, Any]]:
        return [c["body"] for c in self.calls if action is None or c["body"]["header"]["action"] == action]

    def wait(self, count: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        with self.received:
            while len(self.calls) < count and time.monotonic() < deadline:
                self.received.wait(0.05)


@pytest.fixture
def callbacks() -> Iterator[CallbackServer]:
    server = CallbackServer().start()
    yield server
    server.stop()


def run_jobs() -> None:
    """Run every queued job on the real Redis with a SimpleWorker (burst), in an app context."""
    from flask import current_app

    app = current_app._get_current_object() if _has_app() else queue_app()
    with app.app_context():
        SimpleWorker([get_queue()], connection=get_redis(), serializer=JSONSerializer).work(burst=True)


def _has_app() -> bool:
    from flask import has_app_context

    return has_app_context()


_APP: list[Any] = []


def queue_app() -> Any:
    return _APP[0]


@pytest.fixture(autouse=True)
def _remember_app(app):  # type: ignore[no-untyped-def]
    _APP[:] = [app]
    yield


@pytest.fixture
def partner(app, demo, callbacks) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A partner allowed everything, called back at the test's callback server; its token header."""
    with app.test_request_context():
        partners.create_partner(
            partners.PartnerInput(
                username="partner.test",
                name="Test partner",
                sender_id="spmis.test",
                id_types=list(ID_TYPES),
                attributes=list(ATTRIBUTES),
                record_fields=list(RECORD_FIELDS),
                callback_bases=[callbacks.base],
                public_key=None,
                password=DEMO_PASSWORD,
            )
        )
        commit()
    client = app.test_client()
    response = client.post("/api/v1/auth/token", json={"username": "partner.test", "password": DEMO_PASSWORD})
    assert response.status_code == 201, response.get_json()
    return {"headers": {"Authorization": f"Bearer {response.get_json()['token']}"}, "sender_id": "spmis.test"}


def set_profile(app, **changes: Any) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        row = db.session.scalar(select(DciPartner).where(DciPartner.sender_id == "spmis.test"))
        for name, value in changes.items():
            setattr(row, name, value)
        db.session.commit()


def header(action: str, total: int = 1, **extra: Any) -> dict[str, Any]:
    values = {
        "version": "1.0.0",
        "message_id": svc.env.new_id(),
        "message_ts": clock.now().isoformat(),
        "action": action,
        "sender_id": "spmis.test",
        "total_count": total,
    }
    values.update(extra)
    return values


def search_item(query_type: str, query: Any, reference: str = "ref-1", **criteria: Any) -> dict[str, Any]:
    search_criteria = {"reg_type": "ns:org:RegistryType:Social", "query_type": query_type, "query": query}
    search_criteria.update(criteria)
    return {
        "reference_id": reference,
        "timestamp": clock.now().isoformat(),
        "search_criteria": search_criteria,
    }


def search_body(*items: dict[str, Any], action: str = "search", **header_extra: Any) -> dict[str, Any]:
    return {
        "signature": "",
        "header": header(action, len(items), **header_extra),
        "message": {"transaction_id": "txn-" + svc.env.new_id()[:8], "search_request": list(items)},
    }


def sign_body(body: dict[str, Any], key: Ed25519PrivateKey, now: float | None = None) -> dict[str, Any]:
    body["signature"] = signing.sign_with(key, "spmis.test", body["header"], body["message"], now=now)
    return body


@pytest.fixture
def people(app, demo) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Clients with consent and without, in Indonesia and Viet Nam, one household of three."""
    with app.app_context():
        mojokerto = region("35.16.08.2003")
        hanoi = db.session.scalar(select(Region).where(Region.country == "VN", Region.level == "ward"))
        hanoi = hanoi or db.session.scalar(
            select(Region).where(Region.country == "VN").order_by(Region.depth.desc())
        )
        today = clock.today()

        def person(name: str, sex: str, born: date, where: Region, **fields: Any) -> Client:
            client = Client(
                full_name=name,
                name_key=name.lower(),
                sex=sex,
                date_of_birth=born,
                region_id=where.id,
                consent_given=fields.pop("consent", True),
                **fields,
            )
            db.session.add(client)
            db.session.flush()
            return client

        young = date(today.year - 20, 1, 1)
        old = date(today.year - 70, 1, 1)
        siti = person(
            "Siti Aminah",
            "female",
            young,
            mojokerto,
            id_type="nik",
            id_number=make_nik("351608", young, "female", 1),
            phone="+6281234567890",
            welfare_decile=2,
            poverty_status="poor",
            disability=True,
            household_size=3,
        )
        budi = person(
            "Budi Hartono",
            "male",
            old,
            mojokerto,
            id_type="nik",
            id_number=make_nik("351608", old, "male", 2),
            welfare_decile=7,
            poverty_status="not_poor",
            household_size=3,
        )
        hidden = person(
            "Tanpa Persetujuan",
            "female",
            young,
            mojokerto,
            id_type="nik",
            id_number=make_nik("351608", young, "female", 3),
            consent=False,
            welfare_decile=1,
        )
        lan = person(
            "Nguyễn Thị Lan",
            "female",
            young,
            hanoi,
            id_type="vn_pid",
            id_number=make_vn_pid(1, young, "female", 12345),
            welfare_decile=3,
            poverty_status="near_poor",
        )
        household = Household(region_id=mojokerto.id, address="Jl. Majapahit 1")
        db.session.add(household)
        db.session.flush()
        for client, relationship in ((budi, "head"), (siti, "child")):
            db.session.add(
                HouseholdMember(
                    household_id=household.id,
                    client_id=client.id,
                    full_name=client.full_name,
                    relationship_to_head=relationship,
                    sex=client.sex,
                    date_of_birth=client.date_of_birth,
                )
            )
            client.household_id = household.id
        db.session.add(
            HouseholdMember(
                household_id=household.id,
                full_name="Anak Kecil",
                relationship_to_head="grandchild",
                sex="male",
                date_of_birth=date(today.year - 3, 5, 1),
            )
        )
        db.session.commit()
        return {
            "siti": siti.id,
            "budi": budi.id,
            "hidden": hidden.id,
            "lan": lan.id,
            "household": household.id,
            "siti_nik": siti.id_number,
            "hidden_nik": hidden.id_number,
            "lan_pid": lan.id_number,
        }

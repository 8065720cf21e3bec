"""The write path's statement budget: a registration over the API sends a fixed, small number of SQL
statements (33 before issue 16's second pass, 13 on PostgreSQL after it, 12 once the answer took the
consent the registration recorded instead of reading it back, 10 once the audit chain was sealed
after the commit; docs/benchmarks.md). A change that adds a query per registration shows here
first."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from srs.core import audit_chain
from srs.extensions import db
from tests.registry.conftest import payload

# The figure is 10 on PostgreSQL, 11 on SQLite (SQLite inserts the two audit entries one by one); the
# audit chain's lock and head read are no longer in the request (2 statements). A little room, not a lot.
REGISTRATION_BUDGET = 12


@contextmanager
def statements(app) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_a_registration_stays_within_its_statement_budget(app, client, api_token):
    headers = api_token("officer")
    warm = client.post("/api/v1/clients", json=payload(), headers=headers)  # caches, the pool
    assert warm.status_code == 201, warm.get_json()
    body = payload(full_name="Siti Rahayu Kedua", phone="081298765432")
    body.pop("id_number", None)
    body["id_type"] = "none"
    with statements(app) as seen:
        response = client.post("/api/v1/clients", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert data["screenings"] == [] and data["referrals"] == []
    assert data["consent"]["given"] is True
    assert len(seen) <= REGISTRATION_BUDGET, "\n".join(s.split("\n")[0][:120] for s in seen)
    # The answer's consent is the registration's own record, not read again: it is what a read gives.
    again = client.get(f"/api/v1/clients/{data['id']}", headers=headers).get_json()
    assert data["consent"] == again["consent"]
    assert {k: v for k, v in data.items() if k != "possible_duplicates"} == {
        k: v for k, v in again.items() if k != "possible_duplicates"
    }


def test_a_registration_takes_no_chain_lock_and_the_sealer_chains_its_entries(app, client, api_token):
    """The request inserts its audit entries unsealed: no advisory lock (PostgreSQL), no write-lock
    statement (SQLite), no read of the chain's head; after the sealer runs, the chain verifies."""
    headers = api_token("officer")
    with statements(app) as seen:
        response = client.post("/api/v1/clients", json=payload(), headers=headers)
    assert response.status_code == 201, response.get_json()
    sent = [" ".join(s.split()) for s in seen]
    assert [s for s in sent if "pg_advisory" in s or "SET id = id" in s] == []
    assert [s for s in sent if s.startswith("SELECT") and "FROM audit_entries" in s] == []
    assert [s for s in sent if s.startswith("INSERT INTO audit_entries")]  # written with the change
    with app.app_context():
        assert audit_chain.seal_pending(db.engine) >= 2  # the registration and its consent
        with db.engine.connect() as conn:
            report = audit_chain.verify(conn)
    assert report.intact, report.problem
    assert report.unsealed == 0 and report.entries >= 2

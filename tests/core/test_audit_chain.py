"""The audit log is a hash chain: appends serialised, breaks found, entries never changed by SRS."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from srs.core import audit, audit_chain
from srs.core.models import AuditEntry
from srs.core.transaction import commit
from srs.extensions import db


def _verify(app):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=["verify-audit"])


def _entries(app) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def _tamper(sql: str, **params: object) -> None:
    """Change the log behind SRS's back, as someone with database access could."""
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # The append-only trigger refuses this; a superuser can switch triggers off.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(sql), params)


def test_entries_written_by_requests_form_an_intact_chain(app, login_as):
    officer = login_as("officer")
    officer.get("/clients/")
    login_as("admin").get("/admin/audit")
    entries = _entries(app)
    assert len(entries) >= 4
    assert entries[0].prev_hash == audit_chain.GENESIS
    for before, entry in zip(entries, entries[1:], strict=False):
        assert entry.prev_hash == before.hash
        assert len(entry.hash) == 64
    result = _verify(app)
    assert result.exit_code == 0, result.output
    assert f"audit chain intact: {len(entries)} entries" in result.output
    assert entries[-1].hash in result.output


def test_a_changed_entry_is_the_first_broken_link(app, login_as):
    login_as("officer").get("/clients/")
    entries = _entries(app)
    target = entries[1]
    with app.app_context():
        _tamper("UPDATE audit_entries SET username = 'someone.else' WHERE id = :id", id=target.id)
    result = _verify(app)
    assert result.exit_code == 1
    assert f"entry {target.id}: stored hash {target.hash}" in result.output
    assert "changed after it was written" in result.output
    assert "after 1 intact entries" in result.output


def test_a_removed_entry_breaks_the_link_of_the_one_after_it(app, login_as):
    login_as("officer").get("/clients/")
    entries = _entries(app)
    assert len(entries) >= 3
    with app.app_context():
        _tamper("DELETE FROM audit_entries WHERE id = :id", id=entries[1].id)
    result = _verify(app)
    assert result.exit_code == 1
    assert f"entry {entries[2].id}: prev_hash {entries[2].prev_hash}" in result.output
    assert f"hash of entry {entries[0].id}" in result.output


def test_a_changed_entry_with_its_hash_recomputed_breaks_the_next_link(app, login_as):
    login_as("officer").get("/clients/")
    entries = _entries(app)
    fields = {name: getattr(entries[1], name) for name in audit_chain.HASHED_FIELDS}
    forged = audit_chain.entry_hash(entries[1].prev_hash, {**fields, "action": "forged"})
    with app.app_context():
        _tamper(
            "UPDATE audit_entries SET action = 'forged', hash = :h WHERE id = :id", h=forged, id=entries[1].id
        )
    result = _verify(app)
    assert result.exit_code == 1
    assert f"entry {entries[2].id}: prev_hash" in result.output
    assert f"or entry {entries[1].id} was changed" in result.output


def test_a_rolled_back_request_writes_none_of_its_entries_and_a_savepoint_only_drops_its_own(app):
    with app.test_request_context():
        audit.record("test.kept_before")
        savepoint = db.session.begin_nested()
        audit.record("test.in_savepoint")
        savepoint.rollback()
        audit.record("test.kept_after")
        commit()
        audit.record("test.rolled_back")
        db.session.rollback()
        commit()
    assert [e.action for e in _entries(app)] == ["test.kept_before", "test.kept_after"]


def test_a_query_on_the_log_sees_the_entries_of_its_own_transaction(app_ctx):
    audit.record("test.pending", "client", 7)
    found = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "test.pending"))
    assert found is not None and found.object_id == "7" and found.hash
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_entries_added_directly_to_the_session_are_chained_too(app_ctx):
    db.session.add_all([AuditEntry(action=f"test.direct{i}", details={"n": i}) for i in range(3)])
    audit.record("test.recorded")
    db.session.commit()
    entries = list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert [e.action for e in entries] == ["test.direct0", "test.direct1", "test.direct2", "test.recorded"]
    with db.engine.connect() as conn:
        assert audit_chain.verify(conn).intact


def test_details_are_hashed_as_they_are_read_back(app_ctx):
    from datetime import date

    audit.record("test.types", "client", 1, when=date(2026, 1, 2), pair=(1, 2), nested={3: "x"}, text="é")
    db.session.commit()
    db.session.expire_all()
    entry = db.session.scalar(select(AuditEntry))
    assert entry.details == {"when": "2026-01-02", "pair": [1, 2], "nested": {"3": "x"}, "text": "é"}
    with db.engine.connect() as conn:
        assert audit_chain.verify(conn).intact


def test_parallel_writers_never_fork_the_chain(app):
    """Eight threads, each with its own connection, append 5 entries each at the same moment."""
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with app.app_context():
                start.wait()
                for i in range(5):
                    audit.record("test.parallel", "writer", n, i=i)
                    db.session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context(), db.engine.connect() as conn:
        report = audit_chain.verify(conn)
    assert report.intact, report.problem
    assert report.entries == 40


def test_postgresql_refuses_update_and_delete_of_an_entry_but_truncate_works(app_ctx):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's")
    audit.record("test.immutable")
    db.session.commit()
    for statement in ("UPDATE audit_entries SET action = 'x'", "DELETE FROM audit_entries"):
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(text(statement))
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 1
    db.session.rollback()  # TRUNCATE waits for every open transaction that read the table
    with db.engine.begin() as conn:
        conn.execute(text("TRUNCATE audit_entries"))
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0

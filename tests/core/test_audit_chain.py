"""The audit log is a hash chain: entries written unsealed, sealed after the commit in commit order,
breaks found, entries never changed by SRS but for their one sealing."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from srs.core import audit, audit_chain, clock
from srs.core.models import AuditEntry
from srs.core.transaction import commit
from srs.extensions import db


def _verify(app):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=["verify-audit"])


def _entries(app) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    """The entries in chain order (the unsealed ones last, by id)."""
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEntry).order_by(
                    AuditEntry.chain_seq.is_(None), AuditEntry.chain_seq, AuditEntry.id
                )
            )
        )


def _seal(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return audit_chain.seal_pending(db.engine)


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
    unsealed = _entries(app)
    assert len(unsealed) >= 4
    # The requests wrote them without chaining them (no lock, no head read): the sealer does.
    assert all(e.hash is None and e.prev_hash is None and e.chain_seq is None for e in unsealed)
    assert _seal(app) == len(unsealed)
    entries = _entries(app)
    assert [e.chain_seq for e in entries] == list(range(1, len(entries) + 1))
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
    _seal(app)
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
    _seal(app)
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
    _seal(app)
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
    assert found is not None and found.object_id == "7" and found.hash is None  # sealed after the commit
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_entries_added_directly_to_the_session_are_chained_too(app_ctx):
    db.session.add_all([AuditEntry(action=f"test.direct{i}", details={"n": i}) for i in range(3)])
    audit.record("test.recorded")
    db.session.commit()
    assert audit_chain.seal_pending(db.engine) == 4
    entries = list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.chain_seq)))
    assert [e.action for e in entries] == ["test.direct0", "test.direct1", "test.direct2", "test.recorded"]
    with db.engine.connect() as conn:
        report = audit_chain.verify(conn)
    assert report.intact and report.entries == 4 and report.unsealed == 0


def test_details_are_hashed_as_they_are_read_back(app_ctx):
    from datetime import date

    audit.record("test.types", "client", 1, when=date(2026, 1, 2), pair=(1, 2), nested={3: "x"}, text="é")
    db.session.commit()
    db.session.expire_all()
    entry = db.session.scalar(select(AuditEntry))
    assert entry.details == {"when": "2026-01-02", "pair": [1, 2], "nested": {"3": "x"}, "text": "é"}
    db.session.rollback()  # SQLite: the sealer writes on a connection of its own
    assert audit_chain.seal_pending(db.engine) == 1
    with db.engine.connect() as conn:
        report = audit_chain.verify(conn)
    assert report.intact and report.entries == 1


def test_parallel_writers_and_sealers_never_fork_the_chain(app):
    """Eight threads, each with its own connection, append 5 entries each at the same moment and
    run the sealer after each commit: the sealers are serialised by the chain's lock."""
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with app.app_context():
                start.wait()
                for i in range(5):
                    audit.record("test.parallel", "writer", n, i=i)
                    db.session.commit()
                    audit_chain.seal_pending(db.engine)
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
    assert report.entries == 40 and report.unsealed == 0
    assert _seal(app) == 0


def test_postgresql_refuses_update_and_delete_of_an_entry_but_truncate_works(app_ctx):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's")
    audit.record("test.immutable")
    db.session.commit()
    audit_chain.seal_pending(db.engine)
    for statement in ("UPDATE audit_entries SET action = 'x'", "DELETE FROM audit_entries"):
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(text(statement))
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 1
    db.session.rollback()  # TRUNCATE waits for every open transaction that read the table
    with db.engine.begin() as conn:
        conn.execute(text("TRUNCATE audit_entries"))
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_postgresql_lets_an_entry_be_sealed_once_and_nothing_else(app_ctx):
    """The trigger's one exception: the three seal columns set from NULL, every other column as it was."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's")
    audit.record("test.unsealed")
    db.session.commit()
    entry_id = db.session.scalar(select(AuditEntry.id))
    db.session.rollback()
    seal = "UPDATE audit_entries SET chain_seq = 1, prev_hash = :p, hash = :h"
    refused = [
        "UPDATE audit_entries SET action = 'x'",  # an unsealed entry cannot be changed either
        seal + ", action = 'x'",  # another column changed while sealing
        seal + ", details = '{\"forged\": true}'",
        "UPDATE audit_entries SET chain_seq = 1",  # a half seal
        "UPDATE audit_entries SET prev_hash = :p, hash = :h",
        "DELETE FROM audit_entries",
    ]
    for statement in refused:
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(text(statement), {"p": audit_chain.GENESIS, "h": "a" * 64})
    assert audit_chain.seal_pending(db.engine) == 1
    sealed = db.session.get(AuditEntry, entry_id)
    assert sealed is not None and sealed.chain_seq == 1 and sealed.action == "test.unsealed"
    for statement in (
        "UPDATE audit_entries SET chain_seq = 2, prev_hash = :p, hash = :h",  # a second seal
        "UPDATE audit_entries SET chain_seq = NULL, prev_hash = NULL, hash = NULL",  # unsealing
        "UPDATE audit_entries SET username = 'x'",
        "DELETE FROM audit_entries",
    ):
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(text(statement), {"p": audit_chain.GENESIS, "h": "b" * 64})
    db.session.rollback()
    with db.engine.connect() as conn:
        assert audit_chain.verify(conn).intact


def _insert(conn, entry_id: int, action: str) -> None:  # type: ignore[no-untyped-def]
    conn.execute(
        text("INSERT INTO audit_entries (id, at, action, details) VALUES (:id, :at, :action, '{}')"),
        {"id": entry_id, "at": clock.now(), "action": action},
    )


def test_entries_committed_out_of_id_order_are_chained_in_commit_order(app_ctx):
    """A transaction that took its id first but commits last gets a later place in the chain, and
    the chain verifies in that order (it would not in id order)."""
    if db.engine.dialect.name == "postgresql":
        # Two real transactions: the first takes its id, the second takes a later one and commits.
        with db.engine.connect() as slow:
            slow.begin()
            _insert(slow, 10, "test.slow")
            with db.engine.begin() as fast:
                _insert(fast, 11, "test.fast")
            assert audit_chain.seal_pending(db.engine) == 1  # the slow one is not committed yet
            slow.commit()
    else:
        # SQLite writes one transaction at a time: the later id is simply committed first.
        with db.engine.begin() as fast:
            _insert(fast, 11, "test.fast")
        assert audit_chain.seal_pending(db.engine) == 1
        with db.engine.begin() as slow:
            _insert(slow, 10, "test.slow")
    with db.engine.connect() as conn:
        before = audit_chain.verify(conn)
    assert before.intact and before.entries == 1 and before.unsealed == 1
    assert audit_chain.seal_pending(db.engine) == 1
    rows = db.session.execute(
        select(AuditEntry.id, AuditEntry.chain_seq, AuditEntry.prev_hash, AuditEntry.hash).order_by(
            AuditEntry.chain_seq
        )
    ).all()
    assert [(r.id, r.chain_seq) for r in rows] == [(11, 1), (10, 2)]
    assert rows[0].prev_hash == audit_chain.GENESIS and rows[1].prev_hash == rows[0].hash
    with db.engine.connect() as conn:
        report = audit_chain.verify(conn)
    assert report.intact, report.problem
    assert report.entries == 2 and report.unsealed == 0 and report.last_hash == rows[1].hash


def test_the_sealer_is_idempotent_and_continues_the_chain(app_ctx):
    for i in range(3):
        audit.record("test.first", n=i)
    db.session.commit()
    assert audit_chain.seal_pending(db.engine, batch=2) == 3  # two batches
    sealed = db.session.execute(select(AuditEntry.id, AuditEntry.chain_seq, AuditEntry.hash)).all()
    db.session.rollback()
    assert audit_chain.seal_pending(db.engine) == 0
    assert db.session.execute(select(AuditEntry.id, AuditEntry.chain_seq, AuditEntry.hash)).all() == sealed
    audit.record("test.later")
    db.session.commit()
    assert audit_chain.seal_pending(db.engine) == 1
    later = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "test.later"))
    assert later is not None and later.chain_seq == 4
    assert later.prev_hash == max(sealed, key=lambda r: r.chain_seq).hash
    db.session.rollback()
    with db.engine.connect() as conn:
        assert audit_chain.verify(conn).entries == 4


def test_a_sealer_pass_with_nothing_to_seal_is_one_query(app_ctx):
    from sqlalchemy import event

    audit.record("test.sealed")
    db.session.commit()
    audit_chain.seal_pending(db.engine)
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        assert audit_chain.seal_pending(db.engine) == 0
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert len(seen) == 1 and "pg_advisory" not in seen[0], seen


def test_unsealed_entries_are_reported_apart_and_a_stale_one_is_a_warning(app):
    with app.app_context():
        audit.record("test.sealed")
        db.session.commit()
        audit_chain.seal_pending(db.engine)
        for i in range(2):
            audit.record("test.waiting", n=i)
        db.session.commit()
        first = db.session.scalar(select(func.min(AuditEntry.at)).where(AuditEntry.chain_seq.is_(None)))
        db.session.rollback()
        with db.engine.connect() as conn:
            report = audit_chain.verify(conn)
    assert report.intact and report.entries == 1 and report.unsealed == 2
    assert report.oldest_unsealed_at is not None
    assert abs(
        report.oldest_unsealed_at - first.replace(tzinfo=report.oldest_unsealed_at.tzinfo)
    ) < timedelta(milliseconds=1)
    assert not report.unsealed_too_long(report.oldest_unsealed_at + timedelta(minutes=9))
    assert report.unsealed_too_long(report.oldest_unsealed_at + timedelta(minutes=11))

    runner = app.test_cli_runner()
    only = runner.invoke(args=["verify-audit", "--no-seal"])
    assert only.exit_code == 0, only.output
    assert "audit chain intact: 1 entries" in only.output
    assert "2 entries not sealed yet" in only.output
    # One recorded an hour ago that no sealer took: the warning line.
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO audit_entries (at, action, details) VALUES (:at, 'test.old', '{}')"),
            {"at": clock.now() - timedelta(hours=1)},
        )
    stale = runner.invoke(args=["verify-audit", "--no-seal"])
    assert stale.exit_code == 0 and "3 entries not sealed yet" in stale.output
    assert "WARNING: an entry has waited more than 10 minutes for the sealer" in stale.output
    sealed = runner.invoke(args=["verify-audit"])  # seals first
    assert sealed.exit_code == 0, sealed.output
    assert "sealed 3 waiting entries" in sealed.output and "audit chain intact: 4 entries" in sealed.output
    assert "not sealed yet" not in sealed.output


def test_a_sealed_entry_taken_out_of_the_chain_breaks_it(app, login_as):
    login_as("officer").get("/clients/")
    _seal(app)
    entries = _entries(app)
    with app.app_context():
        _tamper("UPDATE audit_entries SET chain_seq = NULL WHERE id = :id", id=entries[-1].id)
    result = app.test_cli_runner().invoke(args=["verify-audit"])
    assert result.exit_code == 1
    assert f"entry {entries[-1].id}: sealed (it has a hash) but has no place in the chain" in result.output


def test_the_worker_runs_the_sealer_as_a_periodic_job(app):
    from srs.core import jobs
    from srs.core.queue import job_name
    from srs.core.wiring import wiring

    scheduled = {j.func: j.every_seconds for j in wiring(app).periodic_jobs}
    assert scheduled[job_name(jobs.seal_audit_chain)] == app.config["AUDIT_SEAL_SECONDS"] == 5
    with app.app_context():
        audit.record("test.job")
        db.session.commit()
        db.session.remove()
        assert jobs.seal_audit_chain() == 1
        assert jobs.seal_audit_chain() == 0
        assert db.session.scalar(select(AuditEntry.chain_seq)) == 1

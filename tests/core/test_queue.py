"""The job decorator (fresh session, one commit, after-commit work) and jobs named by their function."""

from __future__ import annotations

import logging

import pytest
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import func, select

from srs.core.models import AuditEntry
from srs.core.queue import enqueue_after_commit, get_queue, job, job_name
from srs.core.redis import get_redis
from srs.core.transaction import after_commit
from srs.core.wiring import Feature, PeriodicJob, ScheduledJob, register_feature, wiring
from srs.extensions import db

EVENTS: list[str] = []


def _entry(action: str) -> AuditEntry:
    return AuditEntry(action=action, object_type="test")


def _count(action: str) -> int:
    return db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == action)) or 0


@job
def write_and_follow(action: str) -> int:
    """Adds a row and asks for work after the commit; the decorator commits."""
    db.session.add(_entry(action))
    # Runs after the commit: the row is visible from a fresh session by then.
    after_commit(lambda: EVENTS.append(f"after commit: {_count(action)}"))
    return 1


@job
def fail_after_writing(action: str) -> None:
    db.session.add(_entry(action))
    after_commit(lambda: EVENTS.append("must not run"))
    raise RuntimeError("boom")


@job(summary=lambda result, name: f"greeted {name}" if result else None)
def greet(name: str) -> bool:
    return name != "nobody"


@job
def outer(action: str) -> int:
    db.session.add(_entry(action))
    # A job called from a job runs in the caller's transaction (no fresh session that would drop it).
    return write_and_follow(action) + 1


@job
def queued_job(action: str) -> None:
    db.session.add(_entry(action))


@job
def periodic_tick() -> None:
    db.session.add(_entry("test.tick"))


@pytest.fixture(autouse=True)
def _events() -> None:
    EVENTS.clear()


def test_a_job_commits_then_runs_its_after_commit_work(app_ctx):
    assert write_and_follow("test.job") == 1
    assert EVENTS == ["after commit: 1"]
    assert _count("test.job") == 1


def test_a_failing_job_rolls_back_and_drops_its_after_commit_work(app_ctx):
    with pytest.raises(RuntimeError):
        fail_after_writing("test.failed")
    assert EVENTS == []
    assert _count("test.failed") == 0


def test_a_job_starts_with_a_fresh_session_and_runs_no_leftover_work(app_ctx):
    db.session.add(_entry("test.leftover"))  # the caller's unfinished work is not the job's
    after_commit(lambda: EVENTS.append("leftover"))
    write_and_follow("test.job")
    assert EVENTS == ["after commit: 1"]
    assert _count("test.leftover") == 0


def test_a_job_called_from_a_job_shares_its_transaction(app_ctx):
    assert outer("test.outer") == 2
    assert _count("test.outer") == 2
    assert EVENTS == ["after commit: 2"]


def test_one_line_for_a_job_that_did_something(app_ctx, caplog):
    caplog.set_level(logging.INFO, logger=__name__)
    greet("Wati")
    greet("nobody")
    assert [r.getMessage() for r in caplog.records if r.name == __name__] == ["greeted Wati"]


def test_jobs_are_queued_and_registered_by_function(app_ctx):
    assert job_name(queued_job) == "tests.core.test_queue.queued_job"
    with app_ctx.test_request_context():
        enqueue_after_commit(queued_job, "test.queued")
        db.session.commit()
        assert get_queue().count == 0  # nothing goes to Redis before the commit
        from srs.core.transaction import commit

        commit()
        [queued] = get_queue().jobs
        assert queued.func_name == "tests.core.test_queue.queued_job"
        SimpleWorker([get_queue()], connection=get_redis(), serializer=JSONSerializer).work(burst=True)
    assert _count("test.queued") == 1
    # A feature names its periodic job by function; the worker's schedule holds the dotted path RQ runs.
    schedule = wiring(app_ctx).periodic_jobs
    before = list(schedule)
    try:
        register_feature(app_ctx, Feature(name="test-periodic", periodic_jobs=(PeriodicJob(queued_job, 30),)))
        assert [j.func for j in schedule if j.func.startswith("tests.")] == [job_name(queued_job)]
    finally:
        schedule[:] = before


def test_a_periodic_job_still_waiting_in_the_queue_is_not_enqueued_again(app_ctx):
    """A busy worker must not fall further behind by one job per period (deliveries wait behind)."""
    from srs.core.periodic import enqueue_due

    schedule = wiring(app_ctx).periodic_jobs
    before = list(schedule)
    schedule[:] = [ScheduledJob(job_name(periodic_tick), 30)]
    try:
        connection, queue = get_redis(), get_queue()
        name = job_name(periodic_tick)
        assert enqueue_due(connection, queue, now=3000.0) == [name]
        assert enqueue_due(connection, queue, now=3010.0) == []  # the same period
        assert enqueue_due(connection, queue, now=3030.0) == []  # next period: the first still waits
        assert [j.func_name for j in queue.jobs] == [name]
        SimpleWorker([queue], connection=connection, serializer=JSONSerializer).work(burst=True)
        assert _count("test.tick") == 1
        assert enqueue_due(connection, queue, now=3060.0) == [name]  # it ran: the next one goes in
        assert [j.func_name for j in queue.jobs] == [name]
    finally:
        schedule[:] = before


def test_a_job_enqueued_unless_waiting_after_each_commit_waits_in_the_queue_once(app_ctx):
    """As the relay after each referral: a run not yet started sees every commit before it starts."""
    queue = get_queue()
    with app_ctx.test_request_context():
        from srs.core.transaction import commit

        for _ in range(3):
            enqueue_after_commit(periodic_tick, unless_waiting=True)
            commit()
        assert [j.func_name for j in queue.jobs] == [job_name(periodic_tick)]
        SimpleWorker([queue], connection=get_redis(), serializer=JSONSerializer).work(burst=True)
        enqueue_after_commit(periodic_tick, unless_waiting=True)
        commit()
        assert len(queue.jobs) == 1  # the first run started: a new one goes in
        with pytest.raises(ValueError, match="takes no arguments"):
            enqueue_after_commit(queued_job, "x", unless_waiting=True)

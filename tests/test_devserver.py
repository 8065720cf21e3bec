"""`make run` as a person uses it: migrate, start, see the banner, Ctrl-C, nothing left running."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from srs.config import PROJECT_ROOT

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(instance: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SRS_")}
    env.update(SRS_INSTANCE_PATH=str(instance), FLASK_APP="srs", **extra)
    return env


def _flask(instance: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "flask", *args],
        env=_env(instance),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def _redis_running(instance: Path) -> bool:
    return (instance / "redis" / "redis.sock").exists()


def test_flask_commands_leave_no_redis_behind(tmp_path):
    _flask(tmp_path, "db", "upgrade")
    assert (tmp_path / "srs.db").exists()
    assert not _redis_running(tmp_path)


def test_run_serves_and_ctrl_c_stops_everything(tmp_path):
    _flask(tmp_path, "db", "upgrade")
    seeded = _flask(tmp_path, "seed-demo", "--if-empty")
    assert "officer.id1" in seeded.stdout
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "srs.devserver"],
        env=_env(tmp_path, SRS_PORT=str(port)),
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output = ""
        deadline = time.monotonic() + 60
        while "Press Ctrl-C to stop." not in output and time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line:
                break
            output += line
        assert f"http://127.0.0.1:{port}/" in output, output
        assert "officer.id1" in output and "agency.vn.vss" in output
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).json()["status"] == "ok"
        os.killpg(server.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        rest, _ = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
    assert server.returncode == 0
    assert "SRS stopped." in rest
    assert not _redis_running(tmp_path)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    # Neither the worker nor the web server outlives Ctrl-C: the process group is empty.
    with pytest.raises(ProcessLookupError):
        os.killpg(server.pid, 0)

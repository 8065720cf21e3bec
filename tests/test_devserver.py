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
        timeout=600,  # seeding the demo takes ~40 s alone, several times that on a loaded machine
        check=True,
    )


def _redis_running(instance: Path) -> bool:
    return (instance / "redis" / "redis.sock").exists()


def _processes() -> list[tuple[int, int, int, str]]:
    """(pid, parent pid, process group, state) of every process, read from /proc."""
    rows = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # it ended while we looked
        fields = text[text.rindex(")") + 2 :].split()
        rows.append((int(stat.parent.name), int(fields[1]), int(fields[2]), fields[0]))
    return rows


def _descendants(root: int) -> set[int]:
    rows = _processes()
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, ppid, _group, _state in rows if ppid in frontier} - found
        found |= frontier
    return found


def _still_running(pids: set[int], group: int) -> list[tuple[int, int, int, str]]:
    """Live processes among ``pids`` or in ``group``.

    A zombie ("Z") has ended; reaping an orphaned one is the init process's job, and some container
    init processes never do it, so a zombie is not something SRS left running.
    """
    return [row for row in _processes() if (row[0] in pids or row[2] == group) and row[3] != "Z"]


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
        worker_log = tmp_path / "logs" / "worker.log"
        deadline = time.monotonic() + 60
        while "Listening on" not in (worker_log.read_text() if worker_log.exists() else ""):
            assert time.monotonic() < deadline, "the worker never started listening"
            time.sleep(0.2)
        started = _descendants(server.pid)  # the web server, the worker and the worker's scheduler
        assert len(started) >= 2, started
        os.killpg(server.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        rest, _ = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
    assert server.returncode == 0
    assert "SRS stopped." in rest
    # The terminal keeps the banner readable: RQ's own lines go to the full log in instance/logs.
    assert "Listening on" not in output + rest and "started with PID" not in output + rest
    assert "Listening on srs-default" in worker_log.read_text()
    assert (tmp_path / "logs" / "web.log").exists()
    assert not _redis_running(tmp_path)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    # Neither the worker (nor its scheduler or work horse) nor the web server outlives Ctrl-C.
    assert _still_running(started, server.pid) == []

"""`make run`: the web server, the worker and the embedded Redis together; Ctrl-C stops them all.

The terminal keeps the banner (URL and demo logins) readable: after it come only warnings and one
line per job that did something. The full logs of both processes are in instance/logs/ (web.log,
worker.log). ``python -m srs.devserver web`` is the web process itself (waitress, 8 threads).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from srs.config import PROJECT_ROOT, Config
from srs.core.logs import configure_logging
from srs.core.redis import ensure_embedded_redis, stop_embedded_redis

HOST = os.environ.get("SRS_HOST", "127.0.0.1")
PORT = int(os.environ.get("SRS_PORT", "5000"))

ROLE_NAMES = {
    "admin": "administrator",
    "officer": "district officer",
    "supervisor": "supervisor",
    "agency_staff": "agency staff",
}


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def demo_logins() -> list[str]:
    """One line per demo user present in the database (none when the demo data was not seeded)."""
    from sqlalchemy import select

    from srs import create_app
    from srs.accounts.models import User
    from srs.accounts.seed import DEMO_USERS
    from srs.extensions import db

    app = create_app()
    with app.app_context():
        users = {
            u.username: u
            for u in db.session.scalars(select(User).where(User.username.in_([d[0] for d in DEMO_USERS])))
        }
        lines = []
        for username, *_rest in DEMO_USERS:
            user = users.get(username)
            if user is None:
                continue
            where = user.agency.name if user.agency else ", ".join(r.name for r in user.regions)
            role = ROLE_NAMES.get(user.role, user.role)
            lines.append(f"    {username:<16} {role}{' — ' + where if where else ''}")
        db.session.remove()
        db.engine.dispose()
    return lines


def serve_web() -> None:
    """The web process: its full log in the log folder, warnings and errors on the console."""
    from waitress import serve

    from srs import create_app

    log_dir = os.environ.get("SRS_LOG_DIR")
    configure_logging("web", Path(log_dir) if log_dir else None)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C reaches every process of the group
        serve(create_app(), host=HOST, port=PORT, threads=8)


def main() -> int:
    config = Config()
    if not _port_free(HOST, PORT):
        print(
            f"Port {PORT} on {HOST} is already in use (another SRS still running?). "
            f"Stop it, or choose another port: SRS_PORT=5001 make run",
            file=sys.stderr,
        )
        return 1
    env = dict(os.environ)
    embedded_redis_dir = None
    if not config.REDIS_URL:
        embedded_redis_dir = config.INSTANCE_PATH / "redis"
        env["SRS_REDIS_URL"] = ensure_embedded_redis(embedded_redis_dir)
    log_dir = config.INSTANCE_PATH / "logs"
    env["SRS_LOG_DIR"] = str(log_dir)
    logins = demo_logins()
    children = [
        subprocess.Popen([sys.executable, "worker.py"], env=env, cwd=PROJECT_ROOT),  # noqa: S603
        subprocess.Popen([sys.executable, "-m", "srs.devserver", "web"], env=env, cwd=PROJECT_ROOT),  # noqa: S603
    ]
    stopping = False
    crashed = False

    def stop(*_args: object) -> None:
        nonlocal stopping
        if not stopping:
            print("\nStopping SRS (web server, worker, Redis)...", flush=True)
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        deadline = time.monotonic() + 30
        while not stopping and not _listening(HOST, PORT) and time.monotonic() < deadline:
            if any(child.poll() is not None for child in children):
                print("SRS could not start; see the messages above.", flush=True)
                crashed = True
                stopping = True
            time.sleep(0.2)
        if not stopping and all(child.poll() is None for child in children):
            banner = [f"\n  SRS is running at http://{HOST}:{PORT}/\n"]
            if logins:
                banner.append(f"  Demo logins (password: {config.DEMO_PASSWORD}):")
                banner.extend(logins)
            banner.append(f"\n  Full logs: {log_dir / 'web.log'} and {log_dir / 'worker.log'}")
            banner.append("  Press Ctrl-C to stop.\n")
            print("\n".join(banner), flush=True)
        while not stopping:
            if any(child.poll() is not None for child in children):
                print("A process of SRS stopped; stopping the others.", flush=True)
                crashed = True
                break
            time.sleep(0.1)
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if embedded_redis_dir is not None:
            stop_embedded_redis(embedded_redis_dir)
        print("SRS stopped.", flush=True)
    return 1 if crashed else 0


if __name__ == "__main__":
    if sys.argv[1:] == ["web"]:
        serve_web()
    else:
        sys.exit(main())

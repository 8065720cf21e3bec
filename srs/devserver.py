"""`make run`: the web server, the worker and the embedded Redis together; Ctrl-C stops them all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from srs.config import Config
from srs.core.redis import ensure_embedded_redis, stop_embedded_redis

HOST = os.environ.get("SRS_HOST", "127.0.0.1")
PORT = int(os.environ.get("SRS_PORT", "5000"))


def main() -> int:
    config = Config()
    env = dict(os.environ)
    embedded_redis_dir = None
    if not config.REDIS_URL:
        embedded_redis_dir = config.INSTANCE_PATH / "redis"
        env["SRS_REDIS_URL"] = ensure_embedded_redis(embedded_redis_dir)
    children = [
        subprocess.Popen([sys.executable, "worker.py"], env=env),  # noqa: S603
        subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "waitress", f"--host={HOST}", f"--port={PORT}", "--threads=8", "wsgi:app"],
            env=env,
        ),
    ]
    password = config.DEMO_PASSWORD
    print(
        f"\n  SRS is running at http://{HOST}:{PORT}/\n\n"
        f"  Demo logins (password: {password}):\n"
        "    admin            administrator\n"
        "    officer.id1      district officer, Kabupaten Mojokerto (ID)\n"
        "    officer.id2      district officer, Kota Mojokerto (ID)\n"
        "    officer.vn1      officer, Ha Noi communes (VN)\n"
        "    supervisor.id    supervisor, Jawa Timur (ID)\n"
        "    agency.bpjstk    agency staff, BPJS Ketenagakerjaan\n"
        "    agency.vn.vss    agency staff, Viet Nam Social Security\n\n"
        "  Press Ctrl-C to stop.\n",
        flush=True,
    )
    stopping = False

    def stop(*_args: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            if any(child.poll() is not None for child in children):
                print("A process of SRS stopped; stopping the others.", flush=True)
                break
            time.sleep(0.5)
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
        if embedded_redis_dir is not None:
            stop_embedded_redis(embedded_redis_dir)
        print("SRS stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A small threaded HTTP server standing in for an agency's system: it counts deliveries per key."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class AgencyServer:
    """``mode``: ok | fail (500) | hang (never answers in time) | slow_first (the first request is slow)."""

    def __init__(self, mode: str = "ok", delay: float = 5.0) -> None:
        self.mode = mode
        self.delay = delay
        self.requests: list[dict[str, Any]] = []
        self.received = threading.Event()
        self._lock = threading.Lock()
        agency = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                with agency._lock:
                    first = not agency.requests
                    agency.requests.append(
                        {
                            "key": self.headers.get("Idempotency-Key"),
                            "signature": self.headers.get("X-SRS-Signature"),
                            "body": body,
                            "at": time.monotonic(),
                        }
                    )
                agency.received.set()
                if agency.mode == "hang" or (agency.mode == "slow_first" and first):
                    time.sleep(agency.delay)
                status = 500 if agency.mode == "fail" else 200
                with contextlib.suppress(OSError):  # the caller may be gone (killed, timed out)
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"ok": true}')

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/srs-webhook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> AgencyServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def per_key(self) -> Counter[str]:
        with self._lock:
            return Counter(r["key"] for r in self.requests)

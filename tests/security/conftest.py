"""The auditor's tool: every log line the process writes, the access log included (SRS itself is
served over real HTTP by ``live_url`` of tests/conftest.py)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest

# Fixtures of other folders the attacks use: the counted password checks, a client with records.
from tests.accounts.test_throttle import password_checks  # noqa: F401
from tests.registry.test_region_copies import world  # noqa: F401


class LogCapture(logging.Handler):
    """Every record from INFO up, formatted with its traceback, as a log file would hold it."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)
        with self._lock:
            self.lines.append(text)

    @property
    def text(self) -> str:
        with self._lock:
            return "\n".join(self.lines)

    def access_lines(self) -> list[str]:
        """The access log: one line per request, with its method, path and query string."""
        with self._lock:
            return [line for line in self.lines if line.startswith("werkzeug ") and "HTTP/1.1" in line]


@pytest.fixture
def logs() -> Iterator[LogCapture]:
    """Capture what the process logs from INFO up, the access log and SQLAlchemy's SQL log included
    (the worst case: an operator who switched SQL logging on to chase a problem)."""
    capture = LogCapture()
    root = logging.getLogger()
    loggers = [root, logging.getLogger("werkzeug"), logging.getLogger("sqlalchemy.engine")]
    levels = [logger.level for logger in loggers]
    root.addHandler(capture)
    for logger in loggers:
        logger.setLevel(logging.INFO)
    yield capture
    root.removeHandler(capture)
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)

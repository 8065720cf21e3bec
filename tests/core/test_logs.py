"""The console of `make run` and of the worker: SRS's lines and warnings; everything in the log file."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from srs.core.logs import configure_logging


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)


def _chatter() -> None:
    logging.getLogger("rq.worker").info("srs-default: srs.referrals.jobs.relay() (1234)")
    logging.getLogger("rq.worker").info("Successfully completed srs.referrals.jobs.relay() job in 0.01s")
    logging.getLogger("waitress").info("Serving on http://127.0.0.1:5000")
    logging.getLogger("srs.referrals.jobs").info("outbox 12: delivered")
    logging.getLogger("srs.referrals.jobs").info("file only", extra={"srs_console": False})
    logging.getLogger("srs.core.queue").warning("Redis is not answering")
    logging.getLogger("rq.worker").warning("Lost connection to Redis")


def test_console_shows_srs_lines_and_warnings_and_the_file_everything(root_logging, tmp_path):
    console = io.StringIO()
    path = configure_logging("worker", tmp_path / "logs", stream=console)
    _chatter()
    lines = console.getvalue().splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [
        "worker outbox 12: delivered",
        "worker WARNING Redis is not answering",
        "worker WARNING Lost connection to Redis",
    ]
    assert path == tmp_path / "logs" / "worker.log"
    full = path.read_text()
    for text in ("srs-default: srs.referrals.jobs.relay()", "Serving on", "file only", "Lost connection"):
        assert text in full
    assert "rq.worker INFO" in full  # who said it, at which level


def test_configuring_again_replaces_its_own_handlers_only(root_logging, tmp_path):
    mine = logging.StreamHandler(io.StringIO())
    logging.getLogger().addHandler(mine)
    console = io.StringIO()
    configure_logging("web", tmp_path, stream=io.StringIO())
    configure_logging("web", tmp_path, stream=console)
    logging.getLogger("srs").warning("once")
    assert console.getvalue().count("once") == 1
    assert (tmp_path / "web.log").read_text().count("once") == 1
    assert mine in logging.getLogger().handlers


def test_verbose_shows_rq_chatter_and_no_folder_means_no_file(root_logging, tmp_path):
    console = io.StringIO()
    assert configure_logging("worker", None, verbose=True, stream=console) is None
    _chatter()
    assert "srs-default: srs.referrals.jobs.relay()" in console.getvalue()
    assert list(tmp_path.iterdir()) == []

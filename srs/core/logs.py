"""Logging for the processes SRS starts (the worker, and the web server under ``make run``).

The terminal stays readable: it shows SRS's own lines (one per job that did something; a relay or
reconciler pass that found nothing says nothing) and everyone's warnings and errors. RQ's, waitress's
and the other libraries' INFO chatter ("job OK", "result kept for 60 s" for every pass) goes only
to the full log file, ``<log_dir>/<process>.log``, when a log folder is given.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TextIO

# Marks the handlers installed here, so a second call replaces them and leaves others alone.
_OURS = "_srs_handler"


class _ConsoleFilter(logging.Filter):
    """SRS's own records from INFO up (but for lines meant for the file only); others' from WARNING."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        if getattr(record, "srs_console", True) is False:
            return False
        return record.levelno >= logging.INFO and (record.name == "srs" or record.name.startswith("srs."))


class _ConsoleFormatter(logging.Formatter):
    """``12:00:01 worker  outbox 12: delivered``; the level is named only from WARNING up."""

    def __init__(self, process: str) -> None:
        super().__init__(datefmt="%H:%M:%S")
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        level = "" if record.levelno < logging.WARNING else f"{record.levelname} "
        text = f"{self.formatTime(record, self.datefmt)} {self.process:<6} {level}{record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def configure_logging(
    process: str, log_dir: Path | None = None, *, verbose: bool = False, stream: TextIO | None = None
) -> Path | None:
    """Send this process's logs to the console (filtered) and to ``log_dir/<process>.log`` (all).

    ``verbose`` shows every INFO line on the console too (RQ's included). Returns the log file's path,
    or None without a log folder. Safe to call again: it replaces only what it installed before.
    """
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(logging.INFO)
    console = logging.StreamHandler(stream or sys.stderr)
    console.setFormatter(_ConsoleFormatter(process))
    if not verbose:
        console.addFilter(_ConsoleFilter())
    setattr(console, _OURS, True)
    root.addHandler(console)
    if log_dir is None:
        return None
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / f"{process}.log"
    # Appending: the worker's work horses (forked children) write through the same handler.
    full = logging.FileHandler(path, encoding="utf-8")
    full.setFormatter(logging.Formatter("%(asctime)s %(process)d %(name)s %(levelname)s %(message)s"))
    setattr(full, _OURS, True)
    root.addHandler(full)
    return path

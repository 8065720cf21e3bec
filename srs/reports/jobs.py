"""Background jobs of the reports."""

from __future__ import annotations

import logging
from typing import Any

from srs.core import audit
from srs.core.queue import job
from srs.reports import facts

log = logging.getLogger(__name__)
CHECK_EVERY_SECONDS = 3600


@job(summary=lambda found: None)  # a drift already has its warning line
def check_report_facts() -> dict[str, int]:
    """Periodic: when the dashboard's facts or monthly summaries have drifted from the records (rows
    loaded or deleted with SQL, past the app), rebuild them and say so in the log and the audit log.

    Returns the drift found (empty: nothing to do). The rebuild holds the fact tables for its
    duration (about a minute at two million referrals), which is why it only runs on a drift.
    """
    found = facts.drift()
    if not found:
        return found
    log.warning("report facts out of step with the records %s: rebuilding", found)
    facts.rebuild_all()
    facts.rebuild_referrals()
    details: dict[str, Any] = dict(found)  # rows out of step by table (no table is called "user")
    audit.record("report.facts_rebuilt", "report", None, **details)
    return found

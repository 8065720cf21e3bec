"""Background jobs of privacy: escalating data-subject requests past their legal deadline."""

from __future__ import annotations

from srs.core.queue import job
from srs.privacy import requests as ledger

# Hourly, as complaints: the shortest legal period is 3 x 24 hours, so an hour late at most.
ESCALATION_EVERY_SECONDS = 3600


@job
def escalate_overdue_requests() -> int:
    """Periodic: mark open requests past their legal deadline as escalated (each once)."""
    return len(ledger.escalate_overdue())

"""Background jobs of cases and complaints."""

from __future__ import annotations

from srs.cases.complaints import escalate_overdue
from srs.core.queue import job


@job
def escalate_overdue_complaints() -> int:
    """Periodic: mark complaints past their deadline as escalated (each once)."""
    return len(escalate_overdue())

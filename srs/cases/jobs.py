"""Background jobs of cases and complaints."""

from __future__ import annotations

from srs.cases.complaints import escalate_overdue
from srs.core.transaction import commit


def escalate_overdue_complaints() -> int:
    """Periodic: mark complaints past their deadline as escalated (each once) and commit."""
    escalated = escalate_overdue()
    commit()
    return len(escalated)

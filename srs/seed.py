"""Demo data: every feature's seed steps, in their order (regions 0, agencies 5, users 10,
programmes 20, clients 30, screenings 40, referrals 50, cases 60).

Each step is idempotent, takes the demo password and returns lines to print.
"""

from __future__ import annotations

from srs.core.wiring import wiring
from srs.extensions import db


def seed_demo(password: str) -> list[str]:
    """Create the demo data that is missing; returns lines to print."""
    summary: list[str] = []
    for step in wiring().seed_steps:
        db.session.flush()
        summary.extend(step.run(password))
    return summary

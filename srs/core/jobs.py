"""Core's background jobs: the audit chain's sealer."""

from __future__ import annotations

from srs.core import audit_chain
from srs.core.queue import job
from srs.extensions import db


@job(summary=lambda count: f"audit chain: {count} entries sealed" if count else None, console=False)
def seal_audit_chain() -> int:
    """Periodic: seal the audit entries committed since the last pass; how many.

    The sealer commits on a connection of its own (``audit_chain.seal_pending``); the job's own
    session has nothing to commit.
    """
    return audit_chain.seal_pending(db.engine)

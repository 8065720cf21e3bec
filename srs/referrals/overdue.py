"""Overdue referrals: the two measures, defined once for every page, list, figure and export.

A referral is overdue when its due time (``Referral.due_at``) has passed and the agency still owes it
something. What it owes names the measure:

- ``awaiting_decision``: waiting for a decision past due. Pending (not yet in the agency's hands) or
  delivered, no decision (accept or decline) yet.
- ``not_completed``: accepted but not completed past due. The agency accepted and has not recorded the
  outcome yet.

Both are measured against the same due time: a referral has one, set when it is made (the agency's
``response_days`` in working days, to the end of that day). The dashboard has always counted accepted
referrals past it as overdue, and nothing else records a separate completion deadline, so the due time
is also the completion due date. Declined, completed and cancelled referrals are never overdue.

The SQL condition takes the status and due-time columns, so the records (``referrals``) and the
dashboard's facts (``report_referral_facts``, which copy both) are counted by the same definition; the
Python predicate ``kind_of`` says the same of one loaded referral.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_

from srs.core import clock
from srs.referrals.models import Referral

AWAITING_DECISION = "awaiting_decision"
NOT_COMPLETED = "not_completed"
KINDS = (AWAITING_DECISION, NOT_COMPLETED)

# The statuses in which the agency still owes each step.
STATUSES_BY_KIND: dict[str, tuple[str, ...]] = {
    AWAITING_DECISION: ("pending", "delivered"),
    NOT_COMPLETED: ("accepted",),
}
KIND_OF_STATUS: dict[str, str] = {s: kind for kind, statuses in STATUSES_BY_KIND.items() for s in statuses}
# Every status that can be overdue: the open ones (the partial indexes on open referrals serve them).
STATUSES: tuple[str, ...] = tuple(KIND_OF_STATUS)

LABELS: dict[str, Any] = {
    AWAITING_DECISION: _l("Waiting for a decision past due"),
    NOT_COMPLETED: _l("Accepted but not completed past due"),
}
# After a number, in running text ("3 waiting for a decision past due").
PHRASES: dict[str, Any] = {
    AWAITING_DECISION: _l("waiting for a decision past due"),
    NOT_COMPLETED: _l("accepted but not completed past due"),
}
# The badge beside a referral's status.
BADGES: dict[str, Any] = {
    AWAITING_DECISION: _l("Overdue: no decision yet"),
    NOT_COMPLETED: _l("Overdue: not completed"),
}


def condition(
    status: Any, due_at: Any, kind: str | None = None, now: datetime | None = None
) -> ColumnElement[bool]:
    """SQL: the row is overdue (of ``kind``, or of either kind when None) at ``now`` (default: now).

    ``status`` and ``due_at`` are the columns to test: ``Referral``'s or ``ReferralFact``'s.
    """
    statuses = STATUSES_BY_KIND[kind] if kind is not None else STATUSES
    return and_(status.in_(statuses), due_at.is_not(None), due_at < (now or clock.now()))


def referral_condition(kind: str | None = None, now: datetime | None = None) -> ColumnElement[bool]:
    """SQL over ``referrals``: overdue of ``kind`` (either kind when None)."""
    return condition(Referral.status, Referral.due_at, kind, now)


def kind_of(status: str, due_at: datetime | None, now: datetime | None = None) -> str | None:
    """Python: the measure a referral in ``status`` due at ``due_at`` counts in now, or None."""
    kind = KIND_OF_STATUS.get(status)
    if kind is None or due_at is None or not due_at < (now or clock.now()):
        return None
    return kind


def kind_of_referral(referral: Referral, now: datetime | None = None) -> str | None:
    """Python: the measure ``referral`` counts in now (None: not overdue)."""
    return kind_of(referral.status, referral.due_at, now)


def by_kind(counts_by_status: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Counts of overdue rows grouped by status, as counts per measure (every measure present)."""
    result = dict.fromkeys(KINDS, 0)
    for status, n in counts_by_status:
        kind = KIND_OF_STATUS.get(status)
        if kind is not None:
            result[kind] += n
    return result


def parse_filter(raw: str | None) -> str | None:
    """A list's ``overdue`` query argument: "1" for either kind ("any"), a kind's name for that kind,
    anything else for no overdue filter."""
    if raw == "1":
        return "any"
    return raw if raw in KINDS else None

"""Objection to a decision taken by automated processing alone (UU 27/2022 art. 10; Law 91/2025).

Any screening result can be sent to a named person for human review. The reviewer records their own
decision and the reason; the profile and the referral show it beside the rules' outcome, which stays
as it was (the evidence of what the automated processing said).
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from srs.accounts.models import User
from srs.core import audit, clock
from srs.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from srs.core.ids import parse_id
from srs.extensions import db
from srs.privacy import policies
from srs.privacy.models import DataSubjectRequest, HumanReview
from srs.programmes.models import OUTCOMES, Screening, ScreeningResult
from srs.registry.models import Client
from srs.registry.services import client_is_visible

REVIEWER_ROLES = policies.REVIEWER_ROLES


def _bad(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(_("Please correct the marked fields."), {field: [message]})


def _text(value: Any, field: str, required: bool, limit: int = 2000) -> str | None:
    if value is not None and not isinstance(value, str):
        raise _bad(field, _("Must be text."))
    text = (value or "").strip()
    if required and not text:
        raise _bad(field, _("This field is required."))
    if len(text) > limit:
        raise _bad(field, _("At most %(n)d characters.", n=limit))
    return text or None


def result_of(client: Client, raw_result_id: Any) -> ScreeningResult:
    """One of the client's screening results (422 when the id names none of theirs)."""
    pk = parse_id(raw_result_id)
    result = db.session.get(ScreeningResult, pk) if pk is not None else None
    if result is None or db.session.get_one(Screening, result.screening_id).client_id != client.id:
        raise _bad("result_id", _("Not a screening result of this person."))
    return result


def request_review(client: Client, data: dict[str, Any], user: User) -> HumanReview:
    """Send one screening result to a named reviewer (an officer or supervisor who covers the person)."""
    if client.anonymised_at is not None:
        raise Conflict(_("The record has been erased."))
    result = result_of(client, data.get("result_id"))
    reviewer_name = data.get("reviewer")
    reviewer = (
        db.session.scalar(select(User).where(User.username == reviewer_name))
        if isinstance(reviewer_name, str)
        else None
    )
    if (
        reviewer is None
        or not reviewer.active
        or not policies.can_review_screenings(reviewer)
        or not client_is_visible(client, reviewer)
    ):
        raise _bad("reviewer", _("Name an officer or supervisor who covers this person."))
    if reviewer.id == user.id and not policies.may_review_own_referral(user):
        raise _bad("reviewer", _("Send it to someone else: the review must be by another person."))
    note = _text(data.get("note"), "note", required=False)
    request_id = parse_id(data.get("request_id")) if data.get("request_id") not in (None, "") else None
    if request_id is not None:
        found = db.session.get(DataSubjectRequest, request_id)
        if found is None or found.client_id != client.id or found.kind != "objection":
            raise _bad("request_id", _("Not an objection request of this person."))
    pending = db.session.scalar(
        select(HumanReview).where(HumanReview.result_id == result.id, HumanReview.decided_at.is_(None))
    )
    if pending is not None:
        raise Conflict(_("This result is already waiting for a review."))
    review = HumanReview(
        result_id=result.id,
        client_id=client.id,
        request_id=request_id,
        reviewer_id=reviewer.id,
        requested_by_id=user.id,
        requested_at=clock.now(),
        note=note,
    )
    db.session.add(review)
    db.session.flush()
    audit.record(
        "screening.review_requested",
        "client",
        client.id,
        user=user,
        review_id=review.id,
        result_id=result.id,
        reviewer=reviewer.username,
    )
    return review


def get_review(review_id: Any) -> HumanReview:
    pk = parse_id(review_id)
    review = db.session.get(HumanReview, pk) if pk is not None else None
    if review is None:
        raise NotFound(_("No such review."))
    return review


def decide(review: HumanReview, data: dict[str, Any], user: User) -> HumanReview:
    """The named reviewer's decision and reason (only they may record it, once)."""
    if review.reviewer_id != user.id:
        raise Forbidden(_("Only the named reviewer may decide."))
    if review.decided_at is not None:
        raise Conflict(_("This review has been decided."))
    decision = data.get("decision")
    if decision not in OUTCOMES:
        raise _bad("decision", _("Choose eligible, not eligible or needs information."))
    reason = _text(data.get("reason"), "reason", required=True)
    review.decision = decision
    review.reason = reason
    review.decided_at = clock.now()
    audit.record(
        "screening.reviewed", "client", review.client_id, user=user, review_id=review.id, decision=decision
    )
    return review


def reviews_of(client: Client) -> list[HumanReview]:
    return list(
        db.session.scalars(
            select(HumanReview).where(HumanReview.client_id == client.id).order_by(HumanReview.id.desc())
        )
    )


def reviews_for_screening(screening_id: int | None) -> list[HumanReview]:
    """The reviews of a screening's results (the referral made from it shows them)."""
    if screening_id is None:
        return []
    return list(
        db.session.scalars(
            select(HumanReview)
            .join(ScreeningResult, ScreeningResult.id == HumanReview.result_id)
            .where(ScreeningResult.screening_id == screening_id)
            .order_by(HumanReview.id)
        )
    )


def review_dict(review: HumanReview) -> dict[str, Any]:
    result = db.session.get_one(ScreeningResult, review.result_id)
    return {
        "id": review.id,
        "client_id": review.client_id,
        "result_id": review.result_id,
        "programme_code": result.programme.code,
        "automated_outcome": result.outcome,
        "reviewer": review.reviewer.username,
        "reviewer_id": review.reviewer_id,
        "reviewer_name": review.reviewer.full_name,
        "requested_at": review.requested_at.isoformat(),
        "note": review.note,
        "status": "decided" if review.decided_at else "waiting",
        "decision": review.decision,
        "reason": review.reason,
        "decided_at": review.decided_at.isoformat() if review.decided_at else None,
    }

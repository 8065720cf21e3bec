"""Erasure by anonymisation (UU 27/2022 art. 8 and 43; Law 91/2025), and legal holds.

What goes: the name, ID number, phone, address and exact birth date (``date_of_birth`` keeps 1 July of
the birth year, never shown as a date: the year, sex and region stay for the statistics), the person's
household links, every free-text note about them, their duplicate pairs and the kept answers of
idempotent requests that hold a copy of their record. What stays: the record's id and its facts
(screenings, referrals and their statuses), so report facts, summaries and every dashboard figure
read the same as before, age groups included: the facts keep the birth year only and every age in the
reports is the age reached during the calendar year (srs/reports/ages.py), which the kept year gives.

The audit log is not rewritten: its entries are hash-chained and name the record by id only (ID
numbers are masked when written, srs.core.audit.scrub).

Everything happens in the caller's transaction: a failure half-way rolls all of it back. A second
erasure of the same record gives the same answer and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import delete, func, or_, select, update
from werkzeug.routing import BuildError

from srs.accounts.models import User
from srs.agencies.models import Agency
from srs.cases.models import Case, CaseNote, Complaint
from srs.core import audit, clock, idempotency
from srs.core.errors import Conflict, ValidationFailed
from srs.core.transaction import changed_rows
from srs.extensions import db
from srs.privacy.models import DataSubjectRequest, Erasure, LegalHold
from srs.programmes.models import Programme
from srs.referrals import notices
from srs.referrals.models import OPEN_STATUSES, Referral, ReferralEvent
from srs.registry.households import _successor, rebased_relationship
from srs.registry.models import Client, DuplicateCandidate, Household, HouseholdMember

# The day of the year an anonymised birth date keeps: the middle of the year, as demographers place
# a birth known only by its year.
KEPT_MONTH, KEPT_DAY = 7, 1
OPEN_CASE_STATUSES = ("open", "on_hold")
ERASURE_EVENT = "client.erasure_requested"


class ErasureRefused(Conflict):
    """Something still needs the data (409 with what must happen first)."""


@dataclass
class ErasureResult:
    erasure: Erasure
    repeated: bool  # the record was anonymised before: nothing changed this time


def blockers(client: Client) -> list[str]:
    """Why the record may not be erased now, one sentence each (empty: it may be)."""
    reasons: list[str] = []
    open_referrals = db.session.scalar(
        select(func.count()).where(Referral.client_id == client.id, Referral.status.in_(OPEN_STATUSES))
    )
    if open_referrals:
        reasons.append(_("%(n)d open referral(s): close or cancel them first.", n=open_referrals))
    open_case = db.session.scalar(
        select(Case.id).where(Case.client_id == client.id, Case.status.in_(OPEN_CASE_STATUSES))
    )
    if open_case is not None:
        reasons.append(_("An open case file: close it first."))
    hold = active_hold(client)
    if hold is not None:
        reasons.append(_("A legal hold set by a supervisor: %(reason)s", reason=hold.reason))
    return reasons


def active_hold(client: Client) -> LegalHold | None:
    return db.session.scalar(
        select(LegalHold)
        .where(LegalHold.client_id == client.id, LegalHold.lifted_at.is_(None))
        .order_by(LegalHold.id)
    )


def set_hold(client: Client, reason: Any, user: User) -> LegalHold:
    """A supervisor's legal hold: the record may not be erased while it is active."""
    if reason is not None and not isinstance(reason, str):
        raise ValidationFailed(_("Say why the record is held."), {"reason": [_("Must be text.")]})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why the record is held."), {"reason": [_("A reason is required.")]})
    if len(reason) > 1000:
        raise ValidationFailed(_("The reason is too long."), {"reason": [_("At most 1000 characters.")]})
    if active_hold(client) is not None:
        raise Conflict(_("The record is already on hold."))
    hold = LegalHold(client_id=client.id, reason=reason, set_by_id=user.id, set_at=clock.now())
    db.session.add(hold)
    db.session.flush()
    audit.record("client.legal_hold", "client", client.id, user=user, hold_id=hold.id)
    return hold


def lift_hold(client: Client, user: User) -> LegalHold:
    hold = active_hold(client)
    if hold is None:
        raise Conflict(_("The record is not on hold."))
    hold.lifted_at = clock.now()
    hold.lifted_by_id = user.id
    audit.record("client.legal_hold_lifted", "client", client.id, user=user, hold_id=hold.id)
    return hold


def _request(client: Client, request_id: Any) -> DataSubjectRequest | None:
    if request_id in (None, ""):
        return None
    if isinstance(request_id, str) and request_id.isdigit():
        request_id = int(request_id)
    found = (
        db.session.get(DataSubjectRequest, request_id)
        if isinstance(request_id, int) and not isinstance(request_id, bool)
        else None
    )
    if found is None or found.client_id != client.id or found.kind != "erasure":
        raise ValidationFailed(
            _("Choose an erasure request of this person."),
            {"request_id": [_("Not an erasure request of this person.")]},
        )
    return found


def erase(client: Client, user: User, *, request_id: Any = None, note: str | None = None) -> ErasureResult:
    """Anonymise the person's record in the current transaction (the caller commits).

    Raises ErasureRefused (409) while an open referral, an open case or a legal hold needs the data.
    """
    earlier = db.session.scalar(select(Erasure).where(Erasure.client_id == client.id))
    if earlier is not None:
        return ErasureResult(earlier, repeated=True)
    request = _request(client, request_id)
    reasons = blockers(client)
    if reasons:
        raise ErasureRefused(_("The record cannot be erased yet.") + " " + " ".join(reasons))
    if note is not None and not isinstance(note, str):
        raise ValidationFailed(_("The note must be text."), {"note": [_("Must be text.")]})
    if note is not None and len(note) > 2000:
        raise ValidationFailed(_("The note is too long."), {"note": [_("At most 2000 characters.")]})
    now = clock.now()
    summary: dict[str, Any] = {}
    # The notes first: their bulk updates expire what the session holds, so nothing is pending yet.
    summary["notes"] = _clear_notes(client)
    summary["idempotency_keys"] = idempotency.forget(*_locations(client))
    summary["household_members"] = _settle_household(client)
    summary["duplicates"] = changed_rows(
        delete(DuplicateCandidate).where(
            or_(DuplicateCandidate.client_id == client.id, DuplicateCandidate.other_client_id == client.id)
        )
    )
    summary["agencies"] = _notify_agencies(client)
    _strip_identity(client, now)
    erasure = Erasure(client_id=client.id, request_id=request.id if request else None, at=now, by_id=user.id)
    erasure.summary = summary
    db.session.add(erasure)
    db.session.flush()
    if request is not None:
        request.served_by_kind = "erasure"
        request.served_by_id = erasure.id
    # Counts and agency codes only: the log keeps no trace of what was removed.
    audit.record("client.anonymise", "client", client.id, user=user, erasure_id=erasure.id, **summary)
    return ErasureResult(erasure, repeated=False)


def _strip_identity(client: Client, now: Any) -> None:
    client.full_name = ""
    client.name_key = ""
    client.id_type = "none"
    client.id_number = None
    client.phone = None
    client.address = None
    client.date_of_birth = date(client.date_of_birth.year, KEPT_MONTH, KEPT_DAY)
    client.consent_scope = None
    client.needs_review = False
    client.needs_id_followup = False
    client.extra = {}
    client.anonymised_at = now


def _settle_household(client: Client) -> int:
    """Take the person out of their household; a household left with no registered person goes.

    Its other members were then known only through this person (names and birth dates they gave),
    so they go with them. When the person headed a household others stay in, the next registered
    member takes over as the registry's own succession does. Returns how many member rows went.
    """
    household_id = client.household_id
    client.household = None
    client.household_id = None
    own = db.session.scalar(select(HouseholdMember).where(HouseholdMember.client_id == client.id))
    if household_id is None and own is not None:
        household_id = own.household_id
    if household_id is None:
        return 0
    household = db.session.get_one(Household, household_id)
    remaining = [m for m in household.members if own is None or m.id != own.id]
    registered = [m for m in remaining if m.client_id is not None]
    if not registered:
        db.session.delete(household)  # its member rows go with it (cascade)
        db.session.flush()
        return len(household.members)
    if own is not None and own.relationship_to_head == "head":
        successor = _successor(registered)
        if successor is not None:
            was = successor.relationship_to_head
            for member in remaining:
                if member is successor:
                    member.relationship_to_head = "head"
                else:
                    member.relationship_to_head = (
                        rebased_relationship(was, member.relationship_to_head) or "other"
                    )
    if own is not None:
        household.members.remove(own)
    db.session.flush()
    return 0 if own is None else 1


def _clear_notes(client: Client) -> int:
    """Every free-text note about the person, emptied; returns how many rows changed."""
    referral_ids = select(Referral.id).where(Referral.client_id == client.id).scalar_subquery()
    changed = 0
    statements = [
        update(Referral)
        .where(Referral.client_id == client.id)
        .values(note=None, consent_override_reason=None, version=Referral.version + 1),
        update(ReferralEvent).where(ReferralEvent.referral_id.in_(referral_ids)).values(note=None),
        update(CaseNote)
        .where(CaseNote.case_id.in_(select(Case.id).where(Case.client_id == client.id).scalar_subquery()))
        .values(body=""),
        update(Case).where(Case.client_id == client.id).values(hold_reason=None, closure_note=None),
        update(Complaint)
        .where(Complaint.client_id == client.id)
        .values(
            complainant_name=None,
            complainant_phone=None,
            description="",
            resolution=None,
            rejection_reason=None,
        ),
        update(DataSubjectRequest).where(DataSubjectRequest.client_id == client.id).values(note=None),
    ]
    for statement in statements:
        changed += changed_rows(statement.execution_options(synchronize_session=False))
    db.session.expire_all()  # rows loaded before the bulk updates must not be flushed back over them
    return changed


def _locations(client: Client) -> list[str]:
    """The URLs a kept idempotent answer may name for this person's records."""
    referral_ids = list(db.session.scalars(select(Referral.id).where(Referral.client_id == client.id)))
    wanted = [("api.get_client", {"client_id": client.id}), ("registry.profile", {"client_id": client.id})]
    for rid in referral_ids:
        wanted += [("api.get_referral", {"referral_id": rid}), ("referrals.detail", {"referral_id": rid})]
    found: list[str] = []
    for endpoint, values in wanted:
        try:
            path = url_for(endpoint, **values)  # type: ignore[arg-type]  # ids are URL values
        except BuildError:  # a feature not installed in this app
            continue
        found += [path, url_for(endpoint, **values, _external=True)]  # type: ignore[arg-type]
    return found


def _notify_agencies(client: Client) -> list[str]:
    """A ``client.erasure_requested`` notice to each agency that received the person's data.

    The body names the records the agency already holds (the client and referral ids), nothing else.
    """

    def payload(referral: Referral) -> dict[str, Any]:
        programme = db.session.get_one(Programme, referral.programme_id)
        return {"client_id": client.id, "referral": {"id": referral.id, "programme_code": programme.code}}

    messages = notices.notify_recipients(client.id, ERASURE_EVENT, payload)
    agency_ids = {db.session.get_one(Referral, m.referral_id).agency_id for m in messages}
    return sorted(db.session.get_one(Agency, agency_id).code for agency_id in agency_ids)


def erasure_of(client: Client) -> Erasure | None:
    return db.session.scalar(select(Erasure).where(Erasure.client_id == client.id))

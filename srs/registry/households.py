"""Household changes beyond adding and editing one member: a new head, moving a client, and what
merging two records of one person does to their households.

The head of a household is the member whose ``relationship_to_head`` is ``"head"``; every other
member's relationship says what they are *to the head* ("child" = the head's child). The head is
always a registered client (registration and the first added member make the client the head), so
the household can always be reached from a profile: a member without a client record must be
linked to one before they can become the head.

``Client.household_size`` is typed by the officer (the family card may list people not recorded
here), not derived from the members, so none of these changes touch it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from srs.accounts.models import User
from srs.core import audit
from srs.core.errors import Conflict, ValidationFailed
from srs.core.ids import parse_id
from srs.extensions import db
from srs.regions.scope import region_id_condition
from srs.registry.members import _RECORD_FACTS, _relationship, remove_household_member
from srs.registry.models import Client, Household, HouseholdMember
from srs.registry.validation import _Errors

# What the old head becomes to the new head, by what the new head was to the old head.
OLD_HEAD_BECOMES = {
    "spouse": "spouse",
    "child": "parent",
    "parent": "child",
    "sibling": "sibling",
    "grandchild": "other_relative",  # a grandparent: there is no closer code
    "other_relative": "other_relative",
    "other": "other",
}

# REBASE[new head's relationship][member's relationship] = the member's relationship to the new
# head. None: it cannot be worked out (a grandchild of the old head may be the new head's child or
# a nephew), so the member gets "other" and the officer is asked to check. In-laws, grandparents,
# aunts, uncles and cousins have no code of their own: they are "other_relative".
REBASE: dict[str, dict[str, str | None]] = {
    # The new head is the old head's spouse: the old head's children are the household's children.
    "spouse": {
        "spouse": None,
        "child": "child",
        "parent": "other_relative",
        "sibling": "other_relative",
        "grandchild": "grandchild",
        "other_relative": "other_relative",
        "other": "other",
    },
    # The new head is the old head's child.
    "child": {
        "spouse": "parent",
        "child": "sibling",
        "parent": "other_relative",
        "sibling": "other_relative",
        "grandchild": None,
        "other_relative": "other_relative",
        "other": "other",
    },
    # The new head is the old head's parent.
    "parent": {
        "spouse": "other_relative",
        "child": "grandchild",
        "parent": "spouse",
        "sibling": "child",
        "grandchild": "other_relative",
        "other_relative": None,
        "other": "other",
    },
    # The new head is the old head's brother or sister.
    "sibling": {
        "spouse": "other_relative",
        "child": "other_relative",
        "parent": "parent",
        "sibling": "sibling",
        "grandchild": "other_relative",
        "other_relative": None,
        "other": "other",
    },
    # The new head is the old head's grandchild.
    "grandchild": {
        "spouse": "other_relative",
        "child": None,
        "parent": "other_relative",
        "sibling": "other_relative",
        "grandchild": None,
        "other_relative": None,
        "other": "other",
    },
    # A more distant relative or someone unrelated: nobody else's relationship follows.
    "other_relative": {},
    "other": {},
}


def rebased_relationship(new_head_was: str, member_was: str) -> str | None:
    """A member's relationship to the new head, or None when it cannot be worked out."""
    return REBASE.get(new_head_was, {}).get(member_was)


@dataclass
class HeadChange:
    """What changing the head did: the relationships changed and those the officer should check."""

    new_head: HouseholdMember
    old_head: HouseholdMember | None
    changes: list[dict[str, Any]] = field(default_factory=list)
    to_review: list[str] = field(default_factory=list)


def _locked_household(household_id: int) -> Household:
    """The household with its members re-read under a row lock (PostgreSQL), so two officers
    changing the same household one after the other each see the other's result."""
    db.session.execute(select(Household.id).where(Household.id == household_id).with_for_update())
    household = db.session.get(Household, household_id, populate_existing=True)
    assert household is not None
    db.session.scalars(
        select(HouseholdMember)
        .where(HouseholdMember.household_id == household_id)
        .execution_options(populate_existing=True)
    ).all()
    return household


def _bad(field_name: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, {field_name: [message]})


def _member_id(raw: Any) -> int | None:
    # Past MAX_ID no record can match: the same "no such member/household" as an unknown number.
    return parse_id(raw)


def change_head(client: Client, raw_member_id: Any, user: User) -> HeadChange:
    """Make another member of the client's household its head, in the caller's transaction.

    Every other member's relationship is re-expressed relative to the new head where that follows
    from what they were to the old head (see REBASE); where it does not, it becomes "other" and the
    member is listed in ``to_review``. Audited on the timelines of the client, the old and the new head.
    """
    if client.household_id is None:
        raise _bad("member_id", _("This client has no household yet."))
    household = _locked_household(client.household_id)
    member_id = _member_id(raw_member_id)
    if member_id is None:
        raise _bad("member_id", _("Choose the member who becomes the head of the household."))
    new_head = next((m for m in household.members if m.id == member_id), None)
    if new_head is None:
        raise _bad("member_id", _("This person is not a member of this household."))
    if new_head.relationship_to_head == "head":
        raise _bad("member_id", _("%(name)s is already the head of the household.", name=new_head.full_name))
    if new_head.client_id is None:
        raise _bad(
            "member_id",
            _(
                "Only a registered client can be the head of a household: link %(name)s to their "
                "client record first (Edit, then the registered client number).",
                name=new_head.full_name,
            ),
        )
    old_head = next((m for m in household.members if m.relationship_to_head == "head"), None)
    was = new_head.relationship_to_head
    result = HeadChange(new_head=new_head, old_head=old_head)
    for member in household.members:
        if member is new_head:
            after: str | None = "head"
        elif member is old_head:
            after = OLD_HEAD_BECOMES.get(was)
        elif old_head is None:
            after = None  # no head to start from: nothing can be worked out
        else:
            after = rebased_relationship(was, member.relationship_to_head)
        if after is None:
            after = "other"
            result.to_review.append(member.full_name)
        if after != member.relationship_to_head:
            result.changes.append(
                {
                    "member_id": member.id,
                    "name": member.full_name,
                    "from": member.relationship_to_head,
                    "to": after,
                }
            )
            member.relationship_to_head = after
    db.session.flush()
    details = {
        "new_head": new_head.full_name,
        "new_head_client_id": new_head.client_id,
        "old_head": old_head.full_name if old_head is not None else None,
        "relationships": result.changes,
        "to_review": result.to_review,
        "household_id": household.id,
    }
    people = [client.id, new_head.client_id, old_head.client_id if old_head is not None else None]
    for person in dict.fromkeys(p for p in people if p is not None):
        audit.record("client.household_head", "client", person, user=user, **details)
    return result


# --- moving a client to another household --------------------------------------------------------


def move_client(client: Client, data: Mapping[str, Any], user: User) -> Household:
    """Move the client into another household in the user's area (or into one, if they have none).

    ``data`` holds ``household_id`` and ``relationship_to_head`` (to the target's head). The head of
    a household with other members must hand over first (change_head); a client who was the only
    member leaves an empty household, which is deleted. The member's own facts (disability, in
    education, pregnant) go along. Audited on the client and on both heads' timelines.
    """
    errors = _Errors()
    target: Household | None = None
    target_id = _member_id(data.get("household_id"))
    if target_id is None:
        errors.add("household_id", _("Give the number of the household to move to."))
    else:
        target = db.session.scalar(
            select(Household).where(Household.id == target_id, region_id_condition(Household.region_id, user))
        )
        if target is None:
            errors.add("household_id", _("No household with this number in your area."))
        elif target.id == client.household_id:
            errors.add("household_id", _("%(name)s is already in this household.", name=client.full_name))
    relationship = _relationship(data, errors)
    if errors:
        raise ValidationFailed(_("Some fields need attention."), errors.by_field)
    assert target is not None and relationship is not None
    # Lock both households in id order so two moves between the same pair cannot deadlock.
    old_id = client.household_id
    for household_id in sorted(i for i in (old_id, target.id) if i is not None):
        _locked_household(household_id)
    facts: dict[str, Any] = {"disability": client.disability, "in_education": client.in_education}
    facts["pregnant"] = client.pregnant
    old_head_client_id = None
    if old_id is not None:
        old = db.session.get(Household, old_id)
        assert old is not None
        own = next((m for m in old.members if m.client_id == client.id), None)
        head = next((m for m in old.members if m.relationship_to_head == "head"), None)
        old_head_client_id = head.client_id if head is not None else None
        if own is not None:
            if own.relationship_to_head == "head" and len(old.members) > 1:
                raise _bad(
                    "household_id",
                    _(
                        "%(name)s is the head of household %(id)d: make another member the head "
                        "first, then move them.",
                        name=client.full_name,
                        id=old.id,
                    ),
                )
            facts = {"disability": own.disability, "in_education": own.in_education, "pregnant": own.pregnant}
            # Removal leaves the old household's audit to us (one entry per person, below).
            remove_household_member(client, own, user, audit_it=False)
        else:
            client.household_id = None
    member = HouseholdMember(
        household=target,
        client_id=client.id,
        full_name=client.full_name,
        relationship_to_head=relationship,
        sex=client.sex,
        date_of_birth=client.date_of_birth,
        **facts,
    )
    db.session.add(member)
    client.household_id = target.id
    db.session.flush()
    target_head = next((m for m in target.members if m.relationship_to_head == "head"), None)
    moved = {"moved_client": client.full_name, "member_client_id": client.id, "relationship": relationship}
    audit.record(
        "client.household_move",
        "client",
        client.id,
        user=user,
        from_household_id=old_id,
        to_household_id=target.id,
        **moved,
    )
    if old_head_client_id not in (None, client.id):
        audit.record(
            "client.household",
            "client",
            old_head_client_id,
            user=user,
            removed_member=client.full_name,
            relationship=None,
            member_client_id=client.id,
            moved_to_household_id=target.id,
        )
    if target_head is not None and target_head.client_id not in (None, client.id):
        audit.record(
            "client.household",
            "client",
            target_head.client_id,
            user=user,
            added_member=client.full_name,
            relationship=relationship,
            member_id=member.id,
            member_client_id=client.id,
        )
    return target


# --- merging two records of one person -----------------------------------------------------------

# Who takes over as head when a merged-away record headed another household: the closest family
# first (change_head can re-express most relationships from a spouse), then by who was added first.
_SUCCESSION = ("spouse", "child", "parent", "sibling", "grandchild", "other_relative", "other")
_MEMBER_OWN_FACTS = ("disability", "in_education", "pregnant")


def _membership(client: Client) -> HouseholdMember | None:
    """The client's own member row (at most one: the unique index ix_household_members_client_id)."""
    return db.session.scalar(select(HouseholdMember).where(HouseholdMember.client_id == client.id))


def _successor(members: list[HouseholdMember]) -> HouseholdMember | None:
    registered = [m for m in members if m.client_id is not None and m.relationship_to_head in _SUCCESSION]
    registered.sort(key=lambda m: (_SUCCESSION.index(m.relationship_to_head), m.id))
    return registered[0] if registered else None


@dataclass(frozen=True)
class MergePlan:
    """What merging a duplicate into a kept record will do to their households (see plan_merge).

    ``outcome``: None (the duplicate is in no household: nothing to do), "joined" (the kept client
    takes the duplicate's place), "same" (both in one household: the duplicate's row goes) or "left"
    (different households: the duplicate leaves theirs). ``new_head`` is the member who will head
    the duplicate's household when the duplicate headed it; ``refused``: nobody could take over.
    """

    outcome: str | None
    household_id: int | None = None
    kept_household_id: int | None = None
    new_head: HouseholdMember | None = None
    dissolved: bool = False
    refused: bool = False


def plan_merge(keep_member: HouseholdMember | None, dup_member: HouseholdMember | None) -> MergePlan:
    """Predict, without changing anything, what a merge does to the two records' households.

    The one place the merge's household rules are decided: check_merge and merge_households act
    on this plan, and the review page shows it before the supervisor chooses.
    """
    if dup_member is None:
        return MergePlan(None)
    household_id = dup_member.household_id
    if keep_member is None:
        return MergePlan("joined", household_id)
    heads = dup_member.relationship_to_head == "head"
    if keep_member.household_id == household_id:
        # The kept client becomes head in the duplicate's place.
        return MergePlan("same", household_id, household_id, new_head=keep_member if heads else None)
    # The kept client stays in their own household; a head leaving another hands over first.
    others = [m for m in dup_member.household.members if m is not dup_member]
    successor = _successor(others) if heads and others else None
    return MergePlan(
        "left",
        household_id,
        keep_member.household_id,
        new_head=successor,
        dissolved=not others,
        refused=heads and bool(others) and successor is None,
    )


def check_merge(keep: Client, duplicate: Client) -> None:
    """Refuse, before anything changes, a merge that would leave a household without a head.

    The kept client stays in their own household, so a duplicate heading *another* household must
    hand over to a member who is a registered client (only they can be head); with none, the
    supervisor is told which household to sort out first.
    """
    plan = plan_merge(_membership(keep), _membership(duplicate))
    if plan.refused:
        assert plan.household_id is not None
        raise _headless(duplicate, plan.household_id)


def _headless(duplicate: Client, household_id: int) -> Conflict:
    return Conflict(
        _(
            "Record #%(dup)d is the head of household %(id)d, and none of its other members is a "
            "registered client who could take over. Link one of them to their client record and "
            "make them the head (or move the other members out), then merge again.",
            dup=duplicate.id,
            id=household_id,
        )
    )


def _head_client_id(household: Household) -> int | None:
    head = next((m for m in household.members if m.relationship_to_head == "head"), None)
    return head.client_id if head is not None else None


def merge_households(keep: Client, duplicate: Client, user: User) -> dict[str, Any] | None:
    """Settle the households of two records being merged, so the person is a member once.

    * Only the duplicate in a household: the kept client takes the duplicate's place (relationship
      and own facts stay; name, sex and birth date come from the kept record).
    * Both in the same household: the duplicate's row goes; if the duplicate was the head, the kept
      client becomes head first (change_head re-expresses everyone's relationship).
    * In different households: the kept client stays in their own; the duplicate leaves the other
      one, handing the head over to a registered member first (check_merge refused the merge if
      there is none); a household left empty is deleted, as when moving a client.

    Facts the kept client's member row lacks (disability, in education, pregnant) are taken from the
    duplicate's. Returns what happened, for the merge's audit entry (None: no household involved);
    the heads of the households concerned get an entry on their own timelines.
    """
    dup_member = _membership(duplicate)
    if dup_member is None:
        return None
    keep_member = _membership(keep)
    ids = {dup_member.household_id} | ({keep_member.household_id} if keep_member is not None else set())
    for household_id in sorted(ids):
        _locked_household(household_id)
    household = dup_member.household
    # Planned again under the locks: the household may have changed since check_merge read it.
    plan = plan_merge(keep_member, dup_member)
    details: dict[str, Any] = {
        "household_id": household.id,
        "duplicate_relationship": dup_member.relationship_to_head,
    }
    if keep_member is None:
        dup_member.client_id = keep.id
        for name in _RECORD_FACTS:
            setattr(dup_member, name, getattr(keep, name))
        keep.household_id = household.id
        duplicate.household_id = None
        db.session.flush()
        details.update(outcome="joined", kept_name=keep.full_name)
        head_id = _head_client_id(household)
        if head_id not in (None, keep.id):
            audit.record(
                "client.household",
                "client",
                head_id,
                user=user,
                updated_member=dup_member.full_name,
                member_id=dup_member.id,
                changes={"member_client_id": {"from": duplicate.id, "to": keep.id}},
            )
        return details
    for name in _MEMBER_OWN_FACTS:
        if getattr(keep_member, name) is None and getattr(dup_member, name) is not None:
            setattr(keep_member, name, getattr(dup_member, name))
    if plan.refused:  # changed since check_merge read it; the caller rolls back
        raise _headless(duplicate, household.id)
    details["outcome"] = plan.outcome
    if plan.outcome == "left":
        details.update(kept_household_id=plan.kept_household_id, kept_name=keep.full_name)
    change: HeadChange | None = None
    if plan.new_head is not None:
        # change_head finds the household through a client in it: the kept one when it is shared.
        change = change_head(keep if plan.outcome == "same" else duplicate, plan.new_head.id, user)
    if plan.outcome == "left":
        details["dissolved"] = plan.dissolved
    if change is not None:
        details["new_head"] = change.new_head.full_name
        details["new_head_client_id"] = change.new_head.client_id
        details["to_review"] = [name for name in change.to_review if name != dup_member.full_name]
    name, relationship = dup_member.full_name, dup_member.relationship_to_head
    head_id = _head_client_id(household) if not details.get("dissolved") else None
    # The removal is recorded here, once per person concerned (the merge entries and the head's).
    remove_household_member(duplicate, dup_member, user, audit_it=False)
    duplicate.household_id = None
    db.session.flush()
    if head_id not in (None, keep.id, duplicate.id):
        audit.record(
            "client.household",
            "client",
            head_id,
            user=user,
            removed_member=name,
            relationship=relationship,
            member_client_id=duplicate.id,
            merged_into_client_id=keep.id,
        )
    return details


def describe_merge(details: Mapping[str, Any] | None) -> str:
    """What a merge did to the households, in a sentence or two (flash message and timeline)."""
    if not details:
        return ""
    hid = details.get("household_id")
    outcome = details.get("outcome")
    parts: list[str] = []
    if outcome == "joined":
        parts.append(
            _(
                "%(name)s took the merged record's place in household %(id)s.",
                name=details.get("kept_name", ""),
                id=hid,
            )
        )
    elif outcome == "same":
        parts.append(_("Both records were in household %(id)s: the second entry was removed.", id=hid))
    elif outcome == "left":
        parts.append(
            _(
                "The merged record was taken out of household %(id)s; %(name)s stays in household %(own)s.",
                id=hid,
                name=details.get("kept_name", ""),
                own=details.get("kept_household_id"),
            )
        )
    if details.get("new_head"):
        parts.append(_("%(name)s is now the head of household %(id)s.", name=details["new_head"], id=hid))
    if details.get("to_review"):
        parts.append(
            _(
                "Check the relationships in household %(id)s: %(names)s.",
                id=hid,
                names=", ".join(details["to_review"]),
            )
        )
    if details.get("dissolved"):
        parts.append(_("Household %(id)s had no other members and was deleted.", id=hid))
    return " ".join(parts)


# --- what a merge will do, shown on the review page before the supervisor chooses ---------------


@dataclass
class MergePreview:
    """One record of a review pair: its household line, and what keeping it (merging the other
    into it) will do to the households; ``warn`` when the two are in different households."""

    member: HouseholdMember | None
    notice: str = ""
    warn: bool = False


def describe_plan(plan: MergePlan, keep: Client, duplicate: Client) -> str:
    """What a merge *will* do to the households, in a sentence or two ("" when nothing)."""
    hid = plan.household_id
    if plan.outcome is None:
        return ""
    if plan.refused:
        return _(
            "This merge will be refused: record #%(dup)d is the head of household %(id)d and none of "
            "its other members is a registered client who could take over.",
            dup=duplicate.id,
            id=hid,
        )
    parts: list[str] = []
    if plan.outcome == "joined":
        parts.append(
            _(
                "%(name)s will take record #%(dup)d's place in household %(id)d.",
                name=keep.full_name,
                dup=duplicate.id,
                id=hid,
            )
        )
    elif plan.outcome == "same":
        parts.append(_("Both records are in household %(id)d: the second entry will be removed.", id=hid))
    else:
        parts.append(
            _(
                "Households differ: record #%(dup)d will be taken out of household %(id)d; %(name)s "
                "stays in household %(own)d.",
                dup=duplicate.id,
                id=hid,
                name=keep.full_name,
                own=plan.kept_household_id,
            )
        )
    if plan.new_head is not None:
        parts.append(
            _("%(name)s will become the head of household %(id)d.", name=plan.new_head.full_name, id=hid)
        )
    if plan.dissolved:
        parts.append(_("Household %(id)d will have no members left and will be deleted.", id=hid))
    return " ".join(parts)


def merge_previews(pairs: list[Any]) -> dict[tuple[int, int], MergePreview]:
    """For each review pair's records: keyed (pair id, client id of the record kept).

    Reads only: one query for the member rows of every client on the page (with their households'
    members), then plan_merge for both directions of each pair.
    """
    ids = {c.id for p in pairs for c in (p.client, p.other_client)}
    members: dict[int, HouseholdMember] = {}
    if ids:
        rows = db.session.scalars(
            select(HouseholdMember)
            .where(HouseholdMember.client_id.in_(ids))
            .options(selectinload(HouseholdMember.household).selectinload(Household.members))
        )
        members = {m.client_id: m for m in rows if m.client_id is not None}
    previews: dict[tuple[int, int], MergePreview] = {}
    for pair in pairs:
        for keep, duplicate in ((pair.client, pair.other_client), (pair.other_client, pair.client)):
            plan = plan_merge(members.get(keep.id), members.get(duplicate.id))
            previews[(pair.id, keep.id)] = MergePreview(
                member=members.get(keep.id),
                notice=describe_plan(plan, keep, duplicate),
                warn=plan.outcome == "left",
            )
    return previews

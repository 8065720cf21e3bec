"""The members of a client's household: add, change, remove.

Changing the head, moving a client to another household and merging households are in households.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, update

from srs.accounts.models import User
from srs.core import audit
from srs.core.errors import NotFound, ValidationFailed
from srs.core.ids import parse_id
from srs.extensions import db
from srs.registry.models import RELATIONSHIPS, Client, Household, HouseholdMember
from srs.registry.services import display_value, load_client
from srs.registry.validation import _Errors, parse_bool, parse_pregnant, validate_member

_MEMBER_FACTS = ("full_name", "sex", "date_of_birth", "disability", "in_education", "pregnant")
# Facts a member linked to a client record takes from that record (edited on its own profile).
_RECORD_FACTS = ("full_name", "sex", "date_of_birth")


def _relationship(data: Mapping[str, Any], errors: _Errors) -> str | None:
    relationship = data.get("relationship_to_head")
    if relationship not in RELATIONSHIPS or relationship == "head":
        errors.add("relationship_to_head", _("Choose the relationship to the head of the household."))
        return None
    return str(relationship)


def _client_to_link(
    raw_id: Any, client: Client, user: User, errors: _Errors, member: HouseholdMember | None = None
) -> Client | None:
    """The registered client a household member is (to be) linked to, checked for the user's area."""
    try:
        linked = load_client(raw_id, user)
    except NotFound:
        errors.add("member_client_id", _("No client with this number in your area."))
        return None
    household_id = client.household_id
    if linked.id == client.id and member is None:
        errors.add("member_client_id", _("A client cannot be their own household member."))
    elif linked.household_id is not None and linked.household_id != household_id:
        errors.add(
            "member_client_id",
            _(
                "This client already belongs to household %(id)d: move them from their own profile "
                "(Move to another household).",
                id=linked.household_id,
            ),
        )
    elif household_id is not None and db.session.scalar(
        select(HouseholdMember.id).where(
            HouseholdMember.household_id == household_id,
            HouseholdMember.client_id == linked.id,
            HouseholdMember.id != (member.id if member is not None else -1),
        )
    ):
        errors.add("member_client_id", _("This client is already a member of this household."))
    else:
        return linked
    return None


def _member_from_client(member: HouseholdMember, linked: Client) -> None:
    member.client_id = linked.id
    for name in _RECORD_FACTS:
        setattr(member, name, getattr(linked, name))


def _member_changes(member: HouseholdMember, values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    changes = {}
    for name, value in values.items():
        old = getattr(member, name)
        if old != value:
            changes[name] = {"from": display_value(old), "to": display_value(value)}
    return changes


def _start_household(client: Client) -> Household:
    household = Household(region_id=client.region_id, address=client.address)
    db.session.add(household)
    db.session.add(
        HouseholdMember(
            household=household,
            client_id=client.id,
            full_name=client.full_name,
            relationship_to_head="head",
            sex=client.sex,
            date_of_birth=client.date_of_birth,
        )
    )
    client.household = household
    db.session.flush()
    return household


def add_household_member(client: Client, data: Mapping[str, Any], user: User) -> HouseholdMember:
    """Add a person to the client's household (started with the client as head if needed).

    ``data`` holds either ``member_client_id`` (a registered client in the user's area) or the
    member's own facts (name, relationship, sex, birth date, disability, in education, pregnant).
    """
    errors = _Errors()
    linked: Client | None = None
    raw_id = data.get("member_client_id")
    if raw_id not in (None, ""):
        linked = _client_to_link(raw_id, client, user, errors)
        facts: dict[str, Any] = {"relationship_to_head": _relationship(data, errors)}
        for name in ("disability", "in_education"):
            # Unknown on the form keeps what the client record says.
            value = parse_bool(data.get(name), name, errors)
            facts[name] = value if value is not None else getattr(linked, name, None)
        facts["pregnant"] = parse_pregnant(data, linked.sex if linked else None, "", errors)
    else:
        facts = validate_member(data, "", errors)
    # Member fields are top-level in the form: drop the empty prefix.
    errors.by_field = {k.lstrip("."): v for k, v in errors.by_field.items()}
    if errors:
        raise ValidationFailed(_("Some fields need attention."), errors.by_field)
    household = client.household or _start_household(client)
    member = HouseholdMember(household=household, **facts)
    if linked is not None:
        _member_from_client(member, linked)
        linked.household = household
    db.session.add(member)
    db.session.flush()
    audit.record(
        "client.household",
        "client",
        client.id,
        user=user,
        added_member=member.full_name,
        relationship=member.relationship_to_head,
        member_id=member.id,
        member_client_id=linked.id if linked else None,
    )
    return member


def get_member(client: Client, member_id: Any) -> HouseholdMember:
    """A member of the client's household; anything else is a 404 (the client is already scoped)."""
    pk = parse_id(member_id)
    member = db.session.get(HouseholdMember, pk) if pk is not None else None
    if member is None or client.household_id is None or member.household_id != client.household_id:
        raise NotFound(_("No such household member."))
    return member


def member_input(member: HouseholdMember) -> dict[str, Any]:
    """A member's stored facts in the form's input shape."""
    return {
        "member_client_id": member.client_id,
        "relationship_to_head": member.relationship_to_head,
        **{name: getattr(member, name) for name in _MEMBER_FACTS},
    }


def update_household_member(
    client: Client, member: HouseholdMember, data: Mapping[str, Any], user: User
) -> HouseholdMember:
    """Change a member's relationship and facts, or link them to a registered client.

    The head stays the head. A member linked to a client record takes name, sex and birth date
    from that record (they are edited on the member's own profile).
    """
    errors = _Errors()
    is_head = member.relationship_to_head == "head"
    linked: Client | None = None
    raw_id = data.get("member_client_id")
    if raw_id not in (None, "") and str(raw_id) != str(member.client_id or ""):
        if member.client_id is not None:
            errors.add("member_client_id", _("This member is already linked to a client record."))
        else:
            linked = _client_to_link(raw_id, client, user, errors, member)
    values: dict[str, Any]
    if member.client_id is not None or linked is not None:
        sex = linked.sex if linked is not None else member.sex
        values = {
            "disability": parse_bool(data.get("disability"), "disability", errors),
            "in_education": parse_bool(data.get("in_education"), "in_education", errors),
            "pregnant": parse_pregnant(data, sex, "", errors),
        }
        if not is_head:
            values["relationship_to_head"] = _relationship(data, errors)
    else:
        checked = dict(data)
        if is_head:
            checked["relationship_to_head"] = "spouse"  # any non-head value: the head's is not editable
        values = validate_member(checked, "", errors)
        if is_head:
            values.pop("relationship_to_head")
    errors.by_field = {k.lstrip("."): v for k, v in errors.by_field.items()}
    if errors:
        raise ValidationFailed(_("Some fields need attention."), errors.by_field)
    if linked is not None:
        values.update({name: getattr(linked, name) for name in _RECORD_FACTS})
    changes = _member_changes(member, values)
    for name, value in values.items():
        setattr(member, name, value)
    if linked is not None:
        member.client_id = linked.id
        linked.household_id = member.household_id
        changes["member_client_id"] = {"from": None, "to": linked.id}
    db.session.flush()
    if changes:
        audit.record(
            "client.household",
            "client",
            client.id,
            user=user,
            updated_member=member.full_name,
            member_id=member.id,
            changes=changes,
        )
    return member


def remove_household_member(
    client: Client, member: HouseholdMember, user: User, *, audit_it: bool = True
) -> None:
    """Take a member out of the household; a linked client record stays, without a household.

    The head is removed only as the last member, which dissolves the household; with others left,
    another member must be made the head first (households.change_head). ``audit_it=False`` is for
    callers that record the change themselves (moving a client to another household).
    """
    household = member.household
    if member.relationship_to_head == "head" and len(household.members) > 1:
        raise ValidationFailed(
            _("The head of the household cannot be removed while other members remain."),
            {"member": [_("Make another member the head first, then remove this person.")]},
        )
    name, relationship, linked_id = member.full_name, member.relationship_to_head, member.client_id
    if linked_id is not None:
        linked = db.session.get(Client, linked_id)
        if linked is not None and linked.household_id == household.id:
            linked.household_id = None
    household.members.remove(member)
    db.session.flush()
    if not household.members:
        # Nobody is left: no client may point at an empty household.
        db.session.execute(
            update(Client).where(Client.household_id == household.id).values(household_id=None)
        )
        db.session.delete(household)
        db.session.flush()
    if not audit_it:
        return
    audit.record(
        "client.household",
        "client",
        client.id,
        user=user,
        removed_member=name,
        relationship=relationship,
        member_client_id=linked_id,
    )

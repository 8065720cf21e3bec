"""The client registry: register, read, edit, find duplicates, merge, search, households.

Services never commit: the request (or the job) commits once at the edge. Every read of a client's
profile and every change is audited; ID numbers never enter the audit details unmasked.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlalchemy.orm.exc import StaleDataError

from srs.core import audit
from srs.core.errors import Conflict, NotFound, ValidationFailed
from srs.core.ids import parse_id
from srs.core.models import AuditEntry, utcnow
from srs.core.pagination import Page, paginate
from srs.core.scope import region_id_condition, region_in_scope, sees_everything
from srs.core.slots import TimelineItem
from srs.extensions import db
from srs.regions.models import Region
from srs.regions.services import district_of, get_by_code
from srs.registry.idnumbers import normalise_number
from srs.registry.models import (
    RELATIONSHIPS,
    Client,
    ClientName,
    DuplicateCandidate,
    Household,
    HouseholdMember,
    ImportBatch,
)
from srs.registry.normalise import fold_name, phone_candidates
from srs.registry.validation import INPUT_FIELDS, _Errors, parse_bool, parse_date, validate_client

# Model attributes an edit may change (what validate_client returns, minus helpers).
EDITABLE = (
    "id_type",
    "id_number",
    "full_name",
    "name_key",
    "sex",
    "date_of_birth",
    "phone",
    "region_id",
    "address",
    "occupation",
    "work_status",
    "monthly_income",
    "household_size",
    "disability",
    "in_education",
    "pregnant",
    "poverty_status",
    "welfare_decile",
    "welfare_source",
    "welfare_date",
    "enrolments",
    "consent_given",
    "consent_date",
    "consent_scope",
    "needs_id_followup",
)
# Attributes that are derived or internal: never shown as "what changed".
_HIDDEN_CHANGES = {"name_key", "needs_id_followup"}
SEARCH_CANDIDATES = 2000  # SQLite fallback: rows ranked in Python at most
PG_MIN_SIMILARITY = 0.45
NAME_SEARCH_CAP = 1000  # name matches ranked at most; more is never useful to a person


class DuplicateId(Conflict):
    """The (id_type, id_number) pair is already registered."""

    def __init__(self, detail: str, existing_id: int | None) -> None:
        super().__init__(detail, {"id_number": [detail]})
        self.existing_id = existing_id


class StaleVersion(Conflict):
    """Someone else saved the client after the version the caller read."""

    def __init__(self, detail: str, changes: list[dict[str, Any]], current_version: int) -> None:
        super().__init__(detail)
        self.changes = changes
        self.current_version = current_version


@dataclass
class PossibleDuplicate:
    client: Client
    reason: str  # name_birth_district | phone


@dataclass
class Registered:
    client: Client
    possible_duplicates: list[PossibleDuplicate] = field(default_factory=list)


# --- lookups -------------------------------------------------------------------------------------


def scoped_clients(user: Any) -> Select[tuple[Client]]:
    """Clients the user may see (merged-away records excluded)."""
    return select(Client).where(Client.merged_into_id.is_(None), region_id_condition(Client.region_id, user))


def get_client(client_id: Any, user: Any, *, include_merged: bool = False) -> Client:
    """The client if it exists and lies in the user's scope; NotFound otherwise (never 403)."""
    pk = parse_id(client_id)
    if pk is None:
        raise NotFound(_("No client with this number in your area."))
    stmt = select(Client).where(Client.id == pk, region_id_condition(Client.region_id, user))
    if not include_merged:
        stmt = stmt.where(Client.merged_into_id.is_(None))
    client = db.session.scalar(stmt)
    if client is None:
        raise NotFound(_("No client with this number in your area."))
    return client


def read_profile(client: Client, user: Any, *, page: str | None = None) -> Client:
    """Record that ``user`` opened a page with the client's full record and ID number.

    ``page`` names the page when it is not the profile (the edit form shows every field too).
    """
    if page is None:
        audit.record("client.read", "client", client.id, user=user)
    else:
        audit.record("client.read", "client", client.id, user=user, page=page)
    return client


def _region_lookup() -> Any:
    cache: dict[str, Region | None] = {}

    def lookup(code: str) -> Region | None:
        if code not in cache:
            cache[code] = get_by_code(code)
        return cache[code]

    return lookup


def client_input(client: Client) -> dict[str, Any]:
    """A client's stored values in the API's input shape (the base an edit is applied to)."""
    return {
        "id_type": client.id_type,
        "id_number": client.id_number,
        "full_name": client.full_name,
        "sex": client.sex,
        "date_of_birth": client.date_of_birth.isoformat() if client.date_of_birth else None,
        "phone": client.phone,
        "region_code": client.region.code if client.region else None,
        "address": client.address,
        "occupation": client.occupation,
        "work_status": client.work_status,
        "monthly_income": client.monthly_income,
        "household_size": client.household_size,
        "disability": client.disability,
        "in_education": client.in_education,
        "pregnant": client.pregnant,
        "poverty_status": client.poverty_status,
        "welfare_decile": client.welfare_decile,
        "welfare_source": client.welfare_source,
        "welfare_date": client.welfare_date.isoformat() if client.welfare_date else None,
        "enrolments": list(client.enrolments or []),
        "consent": {
            "given": client.consent_given,
            "date": client.consent_date.isoformat() if client.consent_date else None,
            "scope": client.consent_scope,
        },
    }


# --- duplicates ----------------------------------------------------------------------------------


def _id_taken(id_type: str, id_number: str | None, exclude_id: int | None = None) -> Client | None:
    if id_type == "none" or not id_number:
        return None
    stmt = select(Client).where(Client.id_type == id_type, Client.id_number == id_number)
    if exclude_id is not None:
        stmt = stmt.where(Client.id != exclude_id)
    return db.session.scalar(stmt)


def _raise_duplicate_id(existing: Client, user: Any) -> None:
    if region_in_scope(existing.region, user):
        detail = _(
            "This ID number is already registered: client #%(id)d, %(name)s.",
            id=existing.id,
            name=existing.full_name,
        )
        raise DuplicateId(detail, existing.merged_into_id or existing.id)
    raise DuplicateId(_("This ID number is already registered to another client."), None)


def find_probable_duplicates(
    name_key: str, birth_date: date, region: Region, phone: str | None, exclude_id: int | None = None
) -> list[PossibleDuplicate]:
    """Clients with the same folded name and birth date in the same district, or the same phone."""
    district = district_of(region)
    in_district = select(Region.id).where(Region.path.startswith(district.path, autoescape=True))
    conditions = [
        and_(
            Client.name_key == name_key,
            Client.date_of_birth == birth_date,
            Client.region_id.in_(in_district),
        )
    ]
    if phone:
        conditions.append(Client.phone == phone)
    stmt = select(Client).where(Client.merged_into_id.is_(None), or_(*conditions)).order_by(Client.id)
    if exclude_id is not None:
        stmt = stmt.where(Client.id != exclude_id)
    found = []
    for other in db.session.scalars(stmt.limit(50)):
        same_name = other.name_key == name_key and other.date_of_birth == birth_date
        found.append(PossibleDuplicate(other, "name_birth_district" if same_name else "phone"))
    return found


def _flag_duplicates(client: Client, duplicates: list[PossibleDuplicate]) -> None:
    if not duplicates:
        return
    existing = {
        (a, b)
        for a, b in db.session.execute(
            select(DuplicateCandidate.client_id, DuplicateCandidate.other_client_id).where(
                or_(
                    DuplicateCandidate.client_id == client.id, DuplicateCandidate.other_client_id == client.id
                )
            )
        )
    }
    for dup in duplicates:
        pair = (client.id, dup.client.id)
        if pair in existing or pair[::-1] in existing:
            continue
        db.session.add(
            DuplicateCandidate(client_id=client.id, other_client_id=dup.client.id, reason=dup.reason)
        )
    client.needs_review = True


def visible_duplicates(duplicates: list[PossibleDuplicate], user: Any) -> list[PossibleDuplicate]:
    """Only the candidates the user may see are shown to them (the review queue sees them all)."""
    return [d for d in duplicates if region_in_scope(d.client.region, user)]


# --- register and edit ---------------------------------------------------------------------------


def _validate_household(data: Mapping[str, Any], user: Any) -> dict[str, Any] | None:
    """The optional ``household`` of a new client.

    ``{"household_id", "relationship_to_head"}`` joins an existing household in the user's area;
    ``{"new": true}`` and/or ``{"members": [...]}`` starts one with the client as its head.
    """
    value = data.get("household")
    if value is None:
        return None
    errors = _Errors()
    if not isinstance(value, Mapping):
        raise ValidationFailed(_("Some fields need attention."), {"household": [_("Must be an object.")]})
    new = value.get("new", False)
    if not isinstance(new, bool):
        errors.add("household.new", _("Must be true or false."))
        new = False
    result: dict[str, Any] = {"members": [], "new": new}
    if value.get("household_id") is not None:
        household = None
        # The API takes a JSON integer; parse_id also refuses one past every id column.
        hid = parse_id(value.get("household_id")) if isinstance(value.get("household_id"), int) else None
        if hid is not None:
            household = db.session.scalar(
                select(Household).where(Household.id == hid, region_id_condition(Household.region_id, user))
            )
        if household is None:
            errors.add("household.household_id", _("No household with this number in your area."))
        result["household"] = household
        relationship = value.get("relationship_to_head")
        if relationship not in RELATIONSHIPS or relationship == "head":
            errors.add(
                "household.relationship_to_head",
                _("Choose one of: %(choices)s.", choices=", ".join(r for r in RELATIONSHIPS if r != "head")),
            )
        result["relationship"] = relationship
    members = value.get("members", [])
    if not isinstance(members, list) or len(members) > 30:
        errors.add("household.members", _("Give a list of at most 30 members."))
        members = []
    if (members or new) and "household" in result:
        errors.add("household.members", _("Either join a household or start a new one, not both."))
    for index, member in enumerate(members):
        prefix = f"household.members.{index}"
        if not isinstance(member, Mapping):
            errors.add(prefix, _("Must be an object."))
            continue
        result["members"].append(_validate_member(member, prefix, errors))
    if errors:
        raise ValidationFailed(_("Some fields need attention."), errors.by_field)
    return result


def _validate_member(member: Mapping[str, Any], prefix: str, errors: _Errors) -> dict[str, Any]:
    name = member.get("full_name")
    if not isinstance(name, str) or not fold_name(name) or len(name.strip()) > 200:
        errors.add(f"{prefix}.full_name", _("A name of 1 to 200 characters with at least one letter."))
        name = None
    relationship = member.get("relationship_to_head")
    if relationship not in RELATIONSHIPS or relationship == "head":
        errors.add(
            f"{prefix}.relationship_to_head",
            _("Choose one of: %(choices)s.", choices=", ".join(r for r in RELATIONSHIPS if r != "head")),
        )
    sex = member.get("sex")
    if sex not in (None, "", "female", "male"):
        errors.add(f"{prefix}.sex", _("Choose one of: %(choices)s.", choices="female, male"))
        sex = None
    birth = parse_date(member.get("date_of_birth"), f"{prefix}.date_of_birth", errors)
    return {
        "full_name": " ".join(name.split()) if isinstance(name, str) else None,
        "relationship_to_head": relationship,
        "sex": sex or None,
        "date_of_birth": birth,
        "disability": parse_bool(member.get("disability"), f"{prefix}.disability", errors),
        "in_education": parse_bool(member.get("in_education"), f"{prefix}.in_education", errors),
        "pregnant": _pregnant(member, sex, prefix, errors),
    }


def _pregnant(member: Mapping[str, Any], sex: str | None, prefix: str, errors: _Errors) -> bool | None:
    pregnant = parse_bool(member.get("pregnant"), f"{prefix}.pregnant", errors)
    if pregnant and sex == "male":
        errors.add(f"{prefix}.pregnant", _("Only a woman can be recorded as pregnant."))
    return pregnant


def _validate_registration(
    data: Mapping[str, Any], user: Any
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The client's fields and their household part, with the errors of both reported together."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    household_input = None
    try:
        cleaned = validate_client(data, user=user, lookup_region=_region_lookup())
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if isinstance(data, Mapping):
        try:
            household_input = _validate_household(data, user)
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationFailed(_("Some fields need attention."), errors)
    return cleaned, household_input


def check_new_client(data: Mapping[str, Any], user: Any) -> list[PossibleDuplicate]:
    """Validate a registration without saving it; the probable duplicates the user may see.

    Raises what register_client would (ValidationFailed, DuplicateId), so the form can show it first.
    """
    cleaned, _household = _validate_registration(data, user)
    existing = _id_taken(cleaned["id_type"], cleaned["id_number"])
    if existing is not None:
        _raise_duplicate_id(existing, user)
    found = find_probable_duplicates(
        cleaned["name_key"], cleaned["date_of_birth"], cleaned["region"], cleaned["phone"]
    )
    return visible_duplicates(found, user)


def register_client(data: Mapping[str, Any], user: Any, *, source: str = "form") -> Registered:
    """Validate and register a client (with an optional household); flag probable duplicates.

    Raises ValidationFailed (422) for bad fields and DuplicateId (409) when the ID number is taken.
    """
    cleaned, household_input = _validate_registration(data, user)
    existing = _id_taken(cleaned["id_type"], cleaned["id_number"])
    if existing is not None:
        _raise_duplicate_id(existing, user)
    region = cleaned.pop("region")
    # Everything the new row needs is settled before its INSERT, so it starts at version 1.
    duplicates = find_probable_duplicates(
        cleaned["name_key"], cleaned["date_of_birth"], region, cleaned["phone"]
    )
    client = Client(**cleaned, region=region, created_by_id=user.id, version=1, needs_review=bool(duplicates))
    if client.consent_given:
        client.consent_recorded_by_id = user.id
    household = _household_for_new_client(client, household_input)
    if household is not None:
        client.household = household
    db.session.add(client)
    try:
        db.session.flush()
    except IntegrityError:
        # Another request registered the same ID number between our check and our insert.
        db.session.rollback()
        existing = _id_taken(cleaned["id_type"], cleaned["id_number"])
        if existing is not None:
            _raise_duplicate_id(existing, user)
        raise
    if household is not None:
        _add_new_client_members(client, household, household_input)
    for dup in duplicates:
        db.session.add(
            DuplicateCandidate(client_id=client.id, other_client_id=dup.client.id, reason=dup.reason)
        )
    audit.record(
        "client.register",
        "client",
        client.id,
        user=user,
        source=source,
        region=region.code,
        needs_id_followup=client.needs_id_followup,
        possible_duplicates=[d.client.id for d in duplicates],
        household_id=client.household_id,
        relationship=_relationship_of(client, household_input),
    )
    if household is not None:
        _audit_household_join(client, household, household_input, user)
    db.session.flush()
    return Registered(client, duplicates)


def _audit_household_join(client: Client, household: Household, household_input: Any, user: Any) -> None:
    """On the timelines of the new client and of the head whose household they joined."""
    joined = household_input.get("household") is not None
    people = [client.id]
    if joined:
        head = next((m for m in household.members if m.relationship_to_head == "head"), None)
        if head is not None and head.client_id not in (None, client.id):
            people.append(head.client_id)
    for person in people:
        audit.record(
            "client.household",
            "client",
            person,
            user=user,
            added_member=client.full_name,
            relationship=household_input["relationship"] if joined else "head",
            member_client_id=client.id,
        )


def _relationship_of(client: Client, household_input: dict[str, Any] | None) -> str | None:
    if client.household_id is None or household_input is None:
        return None
    return household_input["relationship"] if household_input.get("household") is not None else "head"


def _household_for_new_client(client: Client, household_input: dict[str, Any] | None) -> Household | None:
    if household_input is None:
        return None
    if household_input.get("household") is not None:
        return household_input["household"]
    if not household_input["members"] and not household_input["new"]:
        return None
    household = Household(region=client.region, address=client.address)
    db.session.add(household)
    return household


def _add_new_client_members(client: Client, household: Household, household_input: dict[str, Any]) -> None:
    joining = household_input.get("household") is not None
    db.session.add(
        HouseholdMember(
            household=household,
            client_id=client.id,
            full_name=client.full_name,
            relationship_to_head=household_input["relationship"] if joining else "head",
            sex=client.sex,
            date_of_birth=client.date_of_birth,
            disability=client.disability,
            in_education=client.in_education,
            pregnant=client.pregnant,
        )
    )
    for member in household_input["members"]:
        db.session.add(HouseholdMember(household=household, **member))


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


def _display(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def changes_since(client: Client, version: int) -> list[dict[str, Any]]:
    """What others changed after ``version``: field, who, and the value now stored."""
    entries = db.session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.object_type == "client",
            AuditEntry.object_id == str(client.id),
            AuditEntry.action == "client.update",
        )
        .order_by(AuditEntry.id)
    )
    seen: dict[str, dict[str, Any]] = {}
    current = client_input(client)
    for entry in entries:
        details = entry.details or {}
        if int(details.get("version", 0)) <= version:
            continue
        for name in details.get("changes", {}):
            value = current.get(name)
            if name.startswith("consent_"):
                value = current["consent"].get(name.removeprefix("consent_"))
            seen[name] = {"field": name, "by": entry.username, "at": entry.at, "value": value}
    return list(seen.values())


def _stale(client: Client, version: int) -> StaleVersion:
    changes = changes_since(client, version)
    fields = ", ".join(c["field"] for c in changes) or _("unknown fields")
    return StaleVersion(
        _(
            "Someone else saved this client after you opened it (now version %(v)d); they changed: "
            "%(fields)s. Nothing was overwritten.",
            v=client.version,
            fields=fields,
        ),
        changes,
        client.version,
    )


def update_client(client: Client, data: Mapping[str, Any], user: Any, expected_version: Any) -> Client:
    """Apply a (partial) change if the caller read the current version; audit what changed.

    Raises StaleVersion (409) when someone saved in between, ValidationFailed (422) for bad fields.
    """
    if not isinstance(data, Mapping):
        raise ValidationFailed(_("The client data must be an object."), {})
    if isinstance(expected_version, str) and expected_version.strip().strip('"').isdigit():
        expected_version = int(expected_version.strip().strip('"'))
    if not isinstance(expected_version, int) or isinstance(expected_version, bool):
        raise ValidationFailed(
            _("Send the version you read."), {"version": [_("Send the version you read (a number).")]}
        )
    if expected_version != client.version:
        raise _stale(client, expected_version)
    unknown = [k for k in data if k not in INPUT_FIELDS and k != "version"]
    if unknown:
        raise ValidationFailed(
            _("Some fields need attention."), {k: [_("This field cannot be changed here.")] for k in unknown}
        )
    merged = {**client_input(client), **{k: v for k, v in data.items() if k != "version"}}
    cleaned = validate_client(merged, user=user, lookup_region=_region_lookup(), current_region=client.region)
    existing = _id_taken(cleaned["id_type"], cleaned["id_number"], exclude_id=client.id)
    if existing is not None:
        _raise_duplicate_id(existing, user)
    region = cleaned.pop("region")
    changes: dict[str, dict[str, Any]] = {}
    for name in EDITABLE:
        old, new = getattr(client, name), cleaned[name]
        if old != new:
            if name not in _HIDDEN_CHANGES:
                label = "region_code" if name == "region_id" else name
                old_shown = client.region.code if name == "region_id" else _display(old)
                new_shown = region.code if name == "region_id" else _display(new)
                changes[label] = {"from": old_shown, "to": new_shown}
            setattr(client, name, new)
    if not changes:
        return client
    if any(k.startswith("consent_") for k in changes):
        client.consent_recorded_by_id = user.id
    client.region = region
    try:
        db.session.flush()
    except StaleDataError as exc:
        # Saved by someone else between our version check and our write.
        db.session.rollback()
        raise _stale(client, expected_version) from exc
    except IntegrityError:
        db.session.rollback()
        existing = _id_taken(cleaned["id_type"], cleaned["id_number"], exclude_id=client.id)
        if existing is not None:
            _raise_duplicate_id(existing, user)
        raise
    if {"full_name", "date_of_birth", "region_code", "phone"} & changes.keys():
        duplicates = find_probable_duplicates(
            client.name_key, client.date_of_birth, region, client.phone, exclude_id=client.id
        )
        _flag_duplicates(client, duplicates)
    audit.record("client.update", "client", client.id, user=user, changes=changes, version=client.version)
    return client


# --- households ----------------------------------------------------------------------------------

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
    raw_id: Any, client: Client, user: Any, errors: _Errors, member: HouseholdMember | None = None
) -> Client | None:
    """The registered client a household member is (to be) linked to, checked for the user's area."""
    try:
        linked = get_client(raw_id, user)
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
            changes[name] = {"from": _display(old), "to": _display(value)}
    return changes


def add_household_member(client: Client, data: Mapping[str, Any], user: Any) -> HouseholdMember:
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
        facts["pregnant"] = _pregnant(data, linked.sex if linked else None, "", errors)
    else:
        facts = _validate_member(data, "", errors)
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
    member = db.session.get(HouseholdMember, member_id) if isinstance(member_id, int) else None
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
    client: Client, member: HouseholdMember, data: Mapping[str, Any], user: Any
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
            "pregnant": _pregnant(data, sex, "", errors),
        }
        if not is_head:
            values["relationship_to_head"] = _relationship(data, errors)
    else:
        checked = dict(data)
        if is_head:
            checked["relationship_to_head"] = "spouse"  # any non-head value: the head's is not editable
        values = _validate_member(checked, "", errors)
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
    client: Client, member: HouseholdMember, user: Any, *, audit_it: bool = True
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


# --- review queue and merge ----------------------------------------------------------------------


def review_queue(user: Any, page: int, per_page: int) -> Page[DuplicateCandidate]:
    """Open probable-duplicate pairs where the user may see both clients."""
    a, b = aliased(Client), aliased(Client)
    stmt = (
        select(DuplicateCandidate)
        .join(a, DuplicateCandidate.client_id == a.id)
        .join(b, DuplicateCandidate.other_client_id == b.id)
        .where(
            DuplicateCandidate.status == "open",
            region_id_condition(a.region_id, user),
            region_id_condition(b.region_id, user),
        )
        .order_by(DuplicateCandidate.created_at, DuplicateCandidate.id)
    )
    return paginate(stmt, page, per_page)


def get_candidate(candidate_id: Any, user: Any) -> DuplicateCandidate:
    try:
        pk = int(candidate_id)
    except (TypeError, ValueError) as exc:
        raise NotFound() from exc
    candidate = db.session.get(DuplicateCandidate, pk)
    if (
        candidate is None
        or not region_in_scope(candidate.client.region, user)
        or not region_in_scope(candidate.other_client.region, user)
    ):
        raise NotFound()
    return candidate


def _settle_review_flag(client: Client) -> None:
    still_open = db.session.scalar(
        select(func.count())
        .select_from(DuplicateCandidate)
        .where(
            DuplicateCandidate.status == "open",
            or_(DuplicateCandidate.client_id == client.id, DuplicateCandidate.other_client_id == client.id),
        )
    )
    client.needs_review = bool(still_open)


def open_pairs_of(client: Client, user: Any) -> list[DuplicateCandidate]:
    """Open probable-duplicate pairs that involve the client (for its profile)."""
    pairs = db.session.scalars(
        select(DuplicateCandidate)
        .where(
            DuplicateCandidate.status == "open",
            or_(DuplicateCandidate.client_id == client.id, DuplicateCandidate.other_client_id == client.id),
        )
        .order_by(DuplicateCandidate.id)
    )
    return [p for p in pairs if client_is_visible(p.client, user) and client_is_visible(p.other_client, user)]


def start_import(filename: str, content: bytes, total_rows: int, user: Any) -> ImportBatch:
    """Keep an uploaded file for the import job (enqueued by the caller after the commit)."""
    batch = ImportBatch(filename=filename, content=content, uploaded_by_id=user.id, total_rows=total_rows)
    db.session.add(batch)
    db.session.flush()
    audit.record(
        "clients.import_started", "client_import", batch.id, user=user, filename=filename, rows=total_rows
    )
    return batch


def mark_distinct(candidate: DuplicateCandidate, user: Any) -> None:
    """The two records are different people: close the pair and clear the flags it caused."""
    if candidate.status != "open":
        raise Conflict(_("This pair was already decided."))
    candidate.status = "distinct"
    candidate.resolved_at = utcnow()
    candidate.resolved_by_id = user.id
    db.session.flush()
    for c in (candidate.client, candidate.other_client):
        _settle_review_flag(c)
    audit.record(
        "client.duplicate_distinct",
        "client",
        candidate.client_id,
        user=user,
        other_client_id=candidate.other_client_id,
    )


def client_foreign_keys() -> list[tuple[Any, Any]]:
    """Every (table, column) in the schema that points at clients.id, other features' included.

    Not client_names: the search copy of a client's own name, which the merge removes (by trigger)
    rather than moving to the kept record.
    """
    clients = db.metadata.tables["clients"]
    found = []
    for table in db.metadata.sorted_tables:
        if table is ClientName.__table__:
            continue
        for fk in table.foreign_keys:
            if fk.column is clients.c.id and not (table is clients and fk.parent.name == "merged_into_id"):
                found.append((table, fk.parent))
    return found


@dataclass
class Merged:
    """The kept client, and what the merge did to the households (None: no household involved)."""

    client: Client
    households: dict[str, Any] | None = None


def merge_clients(keep: Client, duplicate: Client, user: Any) -> Merged:
    """Fold ``duplicate`` into ``keep``: every record pointing at the duplicate now points at ``keep``.

    Screenings, referrals, notes and whatever other features add follow the foreign keys, found
    generically in the schema. Household memberships are settled first so the person is a member
    of one household, once (households.merge_households). Facts ``keep`` lacks are taken from the
    duplicate; the duplicate stays (marked merged) so its audit history remains readable from ``keep``.
    """
    # households imports this module; importing it here avoids the cycle.
    from srs.registry import households

    if keep.id == duplicate.id:
        raise Conflict(_("A client cannot be merged into itself."))
    if keep.merged_into_id or duplicate.merged_into_id:
        raise Conflict(_("One of these clients was already merged."))
    households.check_merge(keep, duplicate)
    filled: list[str] = []
    moved_id = None
    if keep.id_type == "none" and duplicate.id_type != "none":
        moved_id = (duplicate.id_type, duplicate.id_number)
        duplicate.id_type, duplicate.id_number, duplicate.needs_id_followup = "none", None, True
        db.session.flush()
        keep.id_type, keep.id_number, keep.needs_id_followup = moved_id[0], moved_id[1], False
        filled.append("id_number")
    for name in (
        "phone",
        "address",
        "occupation",
        "work_status",
        "monthly_income",
        "household_size",
        "disability",
        "in_education",
        "pregnant",
        "welfare_decile",
        "welfare_source",
        "welfare_date",
    ):
        if getattr(keep, name) is None and getattr(duplicate, name) is not None:
            setattr(keep, name, getattr(duplicate, name))
            filled.append(name)
    if keep.poverty_status == "unknown" and duplicate.poverty_status != "unknown":
        keep.poverty_status = duplicate.poverty_status
        filled.append("poverty_status")
    enrolments = list(keep.enrolments or [])
    for code in duplicate.enrolments or []:
        if code not in enrolments:
            enrolments.append(code)
    keep.enrolments = enrolments
    if not keep.consent_given and duplicate.consent_given:
        keep.consent_given = True
        keep.consent_date = duplicate.consent_date
        keep.consent_scope = duplicate.consent_scope
        keep.consent_recorded_by_id = duplicate.consent_recorded_by_id
        filled.append("consent")
    db.session.flush()
    household_details = households.merge_households(keep, duplicate, user)

    # Pairs between the two are settled by the merge itself; delete them before repointing.
    db.session.execute(
        update(DuplicateCandidate)
        .where(
            or_(
                and_(
                    DuplicateCandidate.client_id == duplicate.id,
                    DuplicateCandidate.other_client_id == keep.id,
                ),
                and_(
                    DuplicateCandidate.client_id == keep.id,
                    DuplicateCandidate.other_client_id == duplicate.id,
                ),
            )
        )
        .values(status="merged", resolved_at=utcnow(), resolved_by_id=user.id)
    )
    moved: dict[str, int] = {}
    for table, column in client_foreign_keys():
        if table.name == "client_duplicates":
            continue
        try:
            result = db.session.execute(
                table.update().where(column == duplicate.id).values({column.name: keep.id})
            )
        except IntegrityError as exc:
            # Another feature's rule (say, one open referral per client and programme) would be
            # broken by the merge: nothing is changed; the records must be sorted out first.
            raise Conflict(
                _(
                    "These records cannot be merged automatically: both have %(what)s that may exist "
                    "only once per client. Close one of them first.",
                    what=table.name,
                )
            ) from exc
        if result.rowcount:
            moved[f"{table.name}.{column.name}"] = result.rowcount
    # Open pairs of the duplicate with third clients move to the kept client.
    for pair in db.session.scalars(
        select(DuplicateCandidate).where(
            DuplicateCandidate.status == "open",
            or_(
                DuplicateCandidate.client_id == duplicate.id,
                DuplicateCandidate.other_client_id == duplicate.id,
            ),
        )
    ):
        other = pair.other_client_id if pair.client_id == duplicate.id else pair.client_id
        already = db.session.scalar(
            select(DuplicateCandidate.id).where(
                or_(
                    and_(
                        DuplicateCandidate.client_id == keep.id, DuplicateCandidate.other_client_id == other
                    ),
                    and_(
                        DuplicateCandidate.client_id == other, DuplicateCandidate.other_client_id == keep.id
                    ),
                )
            )
        )
        if already:
            pair.status, pair.resolved_at, pair.resolved_by_id = "merged", utcnow(), user.id
        elif pair.client_id == duplicate.id:
            pair.client_id = keep.id
        else:
            pair.other_client_id = keep.id
    duplicate.merged_into_id = keep.id
    duplicate.needs_review = False
    db.session.flush()
    db.session.expire(keep, ["household"])
    _settle_review_flag(keep)
    audit.record(
        "client.merge",
        "client",
        keep.id,
        user=user,
        merged_client_id=duplicate.id,
        filled=filled,
        moved=moved,
        households=household_details,
    )
    audit.record(
        "client.merged_into",
        "client",
        duplicate.id,
        user=user,
        kept_client_id=keep.id,
        households=household_details,
    )
    return Merged(client=keep, households=household_details)


# --- search --------------------------------------------------------------------------------------


def _digits_query(q: str) -> str | None:
    compact = normalise_number(q).lstrip("+")
    return compact if compact.isdigit() and len(compact) >= 6 else None


def search_clients(
    q: str | None, user: Any, *, region_code: str | None = None, page: int = 1, per_page: int = 50
) -> Page[Client]:
    """Clients in the user's scope matching an ID number, a phone, or a name (typo-tolerant).

    PostgreSQL ranks names by trigram similarity (GIN index); SQLite narrows candidates with LIKE on
    parts of the folded words and ranks a bounded set with difflib.
    """
    stmt = scoped_clients(user)
    region = None
    if region_code:
        region = get_by_code(region_code)
        if region is None or not region_in_scope(region, user):
            raise NotFound(_("No region in your area has the code %(code)s.", code=region_code))
        stmt = stmt.where(_below(region, Client.region_id))
    q = (q or "").strip()
    if not q:
        return paginate(stmt.order_by(Client.created_at.desc(), Client.id.desc()), page, per_page)
    digits = _digits_query(q)
    if digits is not None:
        phones = phone_candidates(q) or phone_candidates("+" + digits)
        condition = and_(Client.id_type.in_(("nik", "vn_pid")), Client.id_number == digits)
        if phones:
            condition = or_(condition, Client.phone.in_(phones))
        return paginate(stmt.where(condition).order_by(Client.id), page, per_page)
    folded = fold_name(q)
    if not folded:
        return Page(items=[], page=page, per_page=per_page, total=0)
    if db.engine.dialect.name == "postgresql":
        names = select(ClientName.client_id).where(region_id_condition(ClientName.region_id, user))
        if region is not None:
            names = names.where(_below(region, ClientName.region_id))
        return _search_names_pg(names, folded, page, per_page)
    return _search_names_fallback(stmt, folded, page, per_page)


def _below(region: Region, region_id_column: Any) -> Any:
    return region_id_column.in_(select(Region.id).where(Region.path.startswith(region.path, autoescape=True)))


def _search_names_pg(names: Select[tuple[int]], folded: str, page: int, per_page: int) -> Page[Client]:
    """Rank the scoped rows of client_names (merged records are not there) by trigram similarity."""
    # A single typo in a full name keeps its trigram similarity above 0.6; 0.45 (instead of the
    # default 0.3) keeps common short names from matching tens of thousands of rows, which is what
    # makes a search on a million clients slow.
    db.session.execute(select(func.set_config("pg_trgm.similarity_threshold", str(PG_MIN_SIMILARITY), True)))
    ids: list[int] = []
    name_key = ClientName.name_key
    if " " in folded:
        ids = _ranked_ids(names, name_key.op("%")(folded), func.similarity(name_key, folded))
    if not ids:
        # One word ("huong"), or a part of a name that matches no whole name: word similarity finds
        # it inside longer names. Only then, because a second trigram index scan over a million
        # names doubles the time of every search.
        ids = _ranked_ids(names, name_key.op("%>")(folded), func.word_similarity(folded, name_key))
    start = (page - 1) * per_page
    page_ids = ids[start : start + per_page]
    loaded = {c.id: c for c in db.session.scalars(select(Client).where(Client.id.in_(page_ids)))}
    return Page(
        items=[loaded[i] for i in page_ids if i in loaded], page=page, per_page=per_page, total=len(ids)
    )


def _ranked_ids(names: Select[tuple[int]], condition: Any, score: Any) -> list[int]:
    # One ranked query for ids (capped) instead of a count plus a page: the count over a large
    # match set costs as much as the search itself.
    return list(
        db.session.scalars(
            names.where(condition).order_by(score.desc(), ClientName.client_id).limit(NAME_SEARCH_CAP)
        )
    )


def _token_score(query_tokens: list[str], name_tokens: list[str]) -> float:
    if not name_tokens:
        return 0.0
    total = 0.0
    for token in query_tokens:
        total += max(difflib.SequenceMatcher(None, token, other).ratio() for other in name_tokens)
    return total / len(query_tokens)


def _search_names_fallback(
    stmt: Select[tuple[Client]], folded: str, page: int, per_page: int
) -> Page[Client]:
    tokens = folded.split()
    patterns = set()
    for token in tokens:
        patterns.add(token)
        if len(token) >= 4:
            # A typo leaves the start or the end of a word intact.
            patterns.add(token[:3])
            patterns.add(token[-3:])
    condition = or_(*[Client.name_key.like(f"%{p}%") for p in sorted(patterns)])
    candidates = list(db.session.scalars(stmt.where(condition).order_by(Client.id).limit(SEARCH_CANDIDATES)))
    scored = []
    for client in candidates:
        score = _token_score(tokens, client.name_key.split())
        if score >= 0.75:
            scored.append((score, client))
    scored.sort(key=lambda item: (-item[0], item[1].id))
    start = (page - 1) * per_page
    return Page(
        items=[c for _s, c in scored[start : start + per_page]],
        page=page,
        per_page=per_page,
        total=len(scored),
    )


# --- timeline ------------------------------------------------------------------------------------

_TIMELINE_ACTIONS = (
    "client.update",
    "client.merge",
    "client.household",
    "client.household_head",
    "client.household_move",
)


def _change_line(changes: dict[str, Any]) -> str:
    parts = []
    for name, change in changes.items():
        if isinstance(change, dict):
            parts.append(f"{name}: {change.get('from')!s} → {change.get('to')!s}")
    return "; ".join(parts)


def _household_line(details: dict[str, Any]) -> tuple[str, str]:
    if "updated_member" in details:
        return _("Household member changed"), f"{details['updated_member']}: " + _change_line(
            details.get("changes", {})
        )
    if "moved_to_household_id" in details:
        return _("Household member removed"), _(
            "%(name)s moved to household %(id)s",
            name=details["removed_member"],
            id=details["moved_to_household_id"],
        )
    if "removed_member" in details:
        title, name = _("Household member removed"), details["removed_member"]
    else:
        title, name = _("Household member added"), details.get("added_member", "")
    from srs.registry.forms import RELATIONSHIP_LABELS as RELATIONSHIP_NAMES

    relationship = details.get("relationship")
    label = RELATIONSHIP_NAMES.get(relationship, relationship) if relationship else ""
    return title, f"{name} ({label})" if label else str(name)


def _relationship_name(code: Any) -> str:
    from srs.registry.forms import RELATIONSHIP_LABELS as RELATIONSHIP_NAMES

    return str(RELATIONSHIP_NAMES.get(code, code))


def _head_line(details: dict[str, Any]) -> tuple[str, str]:
    parts = [f"{details.get('old_head') or '—'} → {details.get('new_head', '')}"]
    for change in details.get("relationships", []):
        parts.append(
            f"{change.get('name')}: {_relationship_name(change.get('from'))} → "
            f"{_relationship_name(change.get('to'))}"
        )
    if details.get("to_review"):
        parts.append(_("to check: %(names)s", names=", ".join(details["to_review"])))
    return _("Head of household changed"), "; ".join(parts)


def _household_move_line(details: dict[str, Any]) -> str:
    return _(
        "%(name)s: household %(old)s → %(new)s (%(relationship)s)",
        name=details.get("moved_client", ""),
        old=details.get("from_household_id") or "—",
        new=details.get("to_household_id"),
        relationship=_relationship_name(details.get("relationship")),
    )


def registry_timeline(client: Client) -> list[TimelineItem]:
    """Registration (from the client rows), edits with what changed, household changes and merges
    (from the audit log). Records merged into this one bring their history along.
    """
    from srs.accounts.models import User

    records = [client, *db.session.scalars(select(Client).where(Client.merged_into_id == client.id))]
    creators = {
        user_id: username
        for user_id, username in db.session.execute(
            select(User.id, User.username).where(
                User.id.in_({r.created_by_id for r in records if r.created_by_id})
            )
        )
    }
    items = []
    for record in records:
        import_id = (record.extra or {}).get("import_id")
        detail = _("Bulk import #%(id)s", id=import_id) if import_id else None
        if record.id != client.id:
            detail = (detail + " · " if detail else "") + _("from merged record #%(id)s", id=record.id)
        items.append(
            TimelineItem(
                at=record.created_at,
                kind="registration",
                title=_("Registered"),
                detail=detail,
                by=creators.get(record.created_by_id),
            )
        )
    entries = db.session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.object_type == "client",
            AuditEntry.object_id.in_([str(r.id) for r in records]),
            AuditEntry.action.in_(_TIMELINE_ACTIONS),
        )
        .order_by(AuditEntry.at)
    )
    for entry in entries:
        details = entry.details or {}
        if entry.action == "client.update":
            title = _("Details changed")
            detail = _change_line(details.get("changes", {}))
        elif entry.action == "client.household":
            title, detail = _household_line(details)
        elif entry.action == "client.household_head":
            title, detail = _head_line(details)
        elif entry.action == "client.household_move":
            title = _("Moved to another household")
            detail = _household_move_line(details)
        else:
            from srs.registry.households import describe_merge

            title = _("Merged with a duplicate record")
            detail = _("Record #%(id)s was merged into this one.", id=details.get("merged_client_id"))
            if details.get("households"):
                detail += " " + describe_merge(details["households"])
        if entry.object_id != str(client.id):
            detail = (detail + " · " if detail else "") + _("from merged record #%(id)s", id=entry.object_id)
        items.append(
            TimelineItem(
                at=entry.at, kind=entry.action.split(".")[1], title=title, detail=detail, by=entry.username
            )
        )
    return items


def client_is_visible(client: Client, user: Any) -> bool:
    return sees_everything(user) or region_in_scope(client.region, user)

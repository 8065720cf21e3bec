"""The client registry's core: look clients up, register them, edit them.

Households' members live in members.py and households.py, duplicates in duplicates.py and merge.py,
search in search.py, the profile's timeline in timeline.py.

Services never commit: the request (or the job) commits once at the edge. Every read of a client's
profile and every change is audited; ID numbers never enter the audit details unmasked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from srs.accounts.models import User
from srs.core import audit
from srs.core.errors import Conflict, ValidationFailed
from srs.core.ids import parse_id
from srs.core.models import AuditEntry
from srs.extensions import db
from srs.regions.models import Region
from srs.regions.scope import load_in_scope, region_id_condition, region_in_scope, sees_everything
from srs.regions.services import get_by_code
from srs.registry import consent, policies
from srs.registry.duplicates import (
    PossibleDuplicate,
    _flag_duplicates,
    _id_taken,
    _raise_duplicate_id,
    find_probable_duplicates,
    visible_duplicates,
)
from srs.registry.fields import api_value, client_fields, personal_fields
from srs.registry.models import (
    RELATIONSHIPS,
    Client,
    DuplicateCandidate,
    Household,
    HouseholdMember,
    ImportBatch,
)
from srs.registry.validation import _Errors, validate_client, validate_member

# Model attributes an edit may change besides the table's own (what validate_client derives).
_DERIVED = ("name_key", "needs_id_followup")
# Attributes that are derived or internal: never shown as "what changed".
_HIDDEN_CHANGES = {"name_key", "needs_id_followup"}


class StaleVersion(Conflict):
    """Someone else saved the client after the version the caller read."""

    def __init__(self, detail: str, changes: list[dict[str, Any]], current_version: int) -> None:
        super().__init__(detail)
        self.changes = changes
        self.current_version = current_version


@dataclass
class Registered:
    client: Client
    possible_duplicates: list[PossibleDuplicate] = field(default_factory=list)
    # The consent the registration recorded (its only record), so the answer needs no read of it.
    consent_state: consent.ConsentState = field(default_factory=lambda: consent.ConsentState(None, None))


# --- lookups -------------------------------------------------------------------------------------


def scoped_clients(user: User) -> Select[Client]:
    """Clients the user may see (merged-away records excluded)."""
    return select(Client).where(Client.merged_into_id.is_(None), region_id_condition(Client.region_id, user))


def load_client(client_id: Any, user: User) -> Client:
    """The client if it exists, lies in the user's scope and was not merged away; NotFound otherwise.

    A merged-away record is gone for every purpose (no edit, case, complaint, screening or referral
    for it by URL); only the profile page asks ``surviving_client_id`` to send the reader on.
    """
    return load_in_scope(
        Client,
        client_id,
        user,
        where=(Client.merged_into_id.is_(None),),
        message=_("No client with this number in your area."),
        # Its region is read by nearly every caller (the country, the code, the scope of a change).
        options=(joinedload(Client.region),),
    )


def surviving_client_id(client_id: Any, user: User) -> int | None:
    """The record a merged-away client in the user's scope now lives on in (None: no such record)."""
    pk = parse_id(client_id)
    if pk is None:
        return None
    return db.session.scalar(
        select(Client.merged_into_id).where(
            Client.id == pk, Client.merged_into_id.is_not(None), region_id_condition(Client.region_id, user)
        )
    )


def read_profile(client: Client, user: User, *, page: str | None = None) -> Client:
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


def client_input(client: Client, consent_state: consent.ConsentState | None = None) -> dict[str, Any]:
    """A client's stored values in the API's input shape (the base an edit is applied to);
    ``consent_state``: ``consent.state(client)`` when the caller has read it already."""
    data = {f.name: api_value(f, client) for f in client_fields()}
    data["consent"] = _consent_input(client, consent_state)
    return data


def _consent_input(client: Client, consent_state: consent.ConsentState | None = None) -> dict[str, Any]:
    """The current consent as an edit's base: given, date and scope, and what it covers."""
    now = consent.view(client, consent_state) if client.id is not None else None
    return {
        "given": client.consent_given,
        "date": client.consent_date.isoformat() if client.consent_date else None,
        "scope": client.consent_scope,
        "purposes": now["purposes"] if now and now["purposes"] else None,
        "agencies": now["agencies"] if now else None,
    }


def editable_attributes() -> tuple[str, ...]:
    """Model attributes an edit may change: the table's, and what is derived from them.

    Not consent's: it changes through its records (srs/registry/consent.py), never set directly.
    """
    names: list[str] = []
    for f in client_fields():
        if f.type != "consent" and f.stored_as is not None:
            names.append(f.stored_as)
    return (*names, *_DERIVED)


# --- register and edit ---------------------------------------------------------------------------


def _validate_household(data: Mapping[str, Any], user: User) -> dict[str, Any] | None:
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
        result["members"].append(validate_member(member, prefix, errors))
    if errors:
        raise ValidationFailed(_("Some fields need attention."), errors.by_field)
    return result


def _validate_registration(
    data: Mapping[str, Any], user: User
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


def check_new_client(data: Mapping[str, Any], user: User) -> list[PossibleDuplicate]:
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


def register_client(data: Mapping[str, Any], user: User, *, source: str = "form") -> Registered:
    """Validate and register a client (with an optional household); flag probable duplicates.

    Raises ValidationFailed (422) for bad fields and DuplicateId (409) when the ID number is taken.
    """
    cleaned, household_input = _validate_registration(data, user)
    existing = _id_taken(cleaned["id_type"], cleaned["id_number"])
    if existing is not None:
        _raise_duplicate_id(existing, user)
    region = cleaned.pop("region")
    consent_input = consent.take_input(cleaned)
    # Everything the new row needs is settled before its INSERT, so it starts at version 1 (its
    # consent columns too: they are what the consent record recorded below says).
    duplicates = find_probable_duplicates(
        cleaned["name_key"], cleaned["date_of_birth"], region, cleaned["phone"]
    )
    client = Client(**cleaned, region=region, created_by_id=user.id, version=1, needs_review=bool(duplicates))
    if consent_input.given:
        client.consent_given = True
        client.consent_date = consent_input.given_on
        client.consent_scope = consent_input.scope
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
    if household is not None and household_input is not None:  # a household comes from the input
        _add_new_client_members(client, household, household_input)
    consent_now = consent.ConsentState(None, None)
    if consent_input.given:
        record = consent.record_consent(client, consent_input, user, source=source, first=True)
        consent_now = consent.ConsentState(record, None)
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
    return Registered(client, duplicates, consent_now)


def _audit_household_join(client: Client, household: Household, household_input: Any, user: User) -> None:
    """On the timelines of the new client and of the head whose household they joined."""
    joined = household_input.get("household") is not None
    people = [client.id]
    if joined:
        head = next((m for m in household.members if m.relationship_to_head == "head"), None)
        if head is not None and head.client_id is not None and head.client_id != client.id:
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
    joined: Household | None = household_input.get("household")
    if joined is not None:
        return joined
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


def display_value(value: Any) -> Any:
    """A stored value as an audit entry shows it (dates as ISO text)."""
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


def check_writable(client: Client) -> None:
    """Conflict (409) for a record that may not change: erased, or restricted by the person (srs.privacy)."""
    if client.anonymised_at is not None:
        raise Conflict(_("The record has been erased: it can no longer be changed."))
    if client.restricted_at is not None:
        raise Conflict(
            _("Processing of this record is restricted: it is read-only until the restriction is lifted.")
        )


def _field_of(attribute: str) -> Any:
    """The table's field stored in ``attribute`` (consent's three attributes: the consent field)."""
    for f in client_fields():
        if f.stored_as == attribute or (f.type == "consent" and attribute.startswith("consent_")):
            return f
    return None


def _masked(value: Any) -> Any:
    """A personal value as the audit log keeps it: every digit but each run's last four hidden."""
    return _PERSONAL_DIGITS.sub("*", value) if isinstance(value, str) else value


_PERSONAL_DIGITS = re.compile(r"\d(?=\d{4})")


def _apply_changes(client: Client, cleaned: dict[str, Any], region: Region, user: User) -> dict[str, Any]:
    """Set what differs; the changes as the audit records them (personal fields masked).

    Refuses (422) a change to a field the user's role may not edit.
    """
    changes: dict[str, dict[str, Any]] = {}
    refused: dict[str, list[str]] = {}
    personal = personal_fields()
    updates: list[tuple[Any, str | None, Any]] = []
    for name in editable_attributes():
        old, new = getattr(client, name), cleaned[name]
        if old != new:
            updates.append((_field_of(name), name, new))
            if name not in _HIDDEN_CHANGES:
                label = "region_code" if name == "region_id" else name
                old_shown = client.region.code if name == "region_id" else display_value(old)
                new_shown = region.code if name == "region_id" else display_value(new)
                if label in personal:
                    old_shown, new_shown = _masked(old_shown), _masked(new_shown)
                changes[label] = {"from": old_shown, "to": new_shown}
    for name, new in (cleaned.get("extra") or {}).items():
        f = next(f for f in client_fields() if f.name == name)
        old = f.read(client)
        if old != new:
            updates.append((f, None, new))
            change = {"from": display_value(old), "to": display_value(new)}
            changes[name] = {k: _masked(v) for k, v in change.items()} if name in personal else change
    for f, _attribute, _new in updates:
        if f is not None and not policies.can_edit_field(user, f):
            refused[f.name] = [_("This field cannot be changed here.")]
    if refused:
        raise ValidationFailed(_("Some fields need attention."), refused)
    for f, attribute, new in updates:
        if attribute is None:
            f.write(client, new)
        else:
            setattr(client, attribute, new)
    return changes


def _withdrawal_reason(data: Mapping[str, Any]) -> str | None:
    """The optional ``consent.reason`` of an edit that withdraws consent."""
    value = data.get("consent")
    reason = value.get("reason") if isinstance(value, Mapping) else None
    return reason if isinstance(reason, str) else None


def update_client(
    client: Client, data: Mapping[str, Any], user: User, expected_version: Any, *, channel: str = "form"
) -> Client:
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
    check_writable(client)
    table = {f.name: f for f in client_fields()}
    unknown = [k for k in data if k not in table and k != "version"]
    if unknown:
        raise ValidationFailed(
            _("Some fields need attention."), {k: [_("This field cannot be changed here.")] for k in unknown}
        )
    base = client_input(client)
    merged = {**base, **{k: v for k, v in data.items() if k != "version"}}
    if isinstance(data.get("consent"), Mapping):
        # What the edit does not say about the consent (its purposes, its agencies) stays as it is.
        merged["consent"] = {**base["consent"], **data["consent"]}
        merged["consent"].pop("reason", None)
    cleaned = validate_client(merged, user=user, lookup_region=_region_lookup(), current_region=client.region)
    existing = _id_taken(cleaned["id_type"], cleaned["id_number"], exclude_id=client.id)
    if existing is not None:
        _raise_duplicate_id(existing, user)
    region = cleaned.pop("region")
    consent_input = consent.take_input(cleaned)
    if consent_input.given != client.consent_given or (
        consent_input.given
        and (consent_input.given_on, consent_input.scope) != (client.consent_date, client.consent_scope)
    ):
        consent_field = next(f for f in client_fields() if f.type == "consent")
        if not policies.role_may_edit_field(getattr(user, "role", None), consent_field):
            raise ValidationFailed(
                _("Some fields need attention."), {"consent": [_("This field cannot be changed here.")]}
            )
    changes = _apply_changes(client, cleaned, region, user)
    client.region = region
    try:
        # Withdrawn or recorded anew through its records (and the hook for a withdrawal), never set
        # here; the client row is written once, with the consent's copy and the other changes.
        changes.update(
            consent.apply_input(
                client,
                consent_input,
                user,
                source="api" if channel == "api" else "form",
                reason=_withdrawal_reason(data),
            )
        )
        if not changes:
            return client
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


def start_import(filename: str, content: bytes, total_rows: int, user: User) -> ImportBatch:
    """Keep an uploaded file for the import job (enqueued by the caller after the commit)."""
    batch = ImportBatch(filename=filename, content=content, uploaded_by_id=user.id, total_rows=total_rows)
    db.session.add(batch)
    db.session.flush()
    audit.record(
        "clients.import_started", "client_import", batch.id, user=user, filename=filename, rows=total_rows
    )
    return batch


def client_is_visible(client: Client, user: User) -> bool:
    return sees_everything(user) or region_in_scope(client.region, user)

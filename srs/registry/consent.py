"""Consent as records: given (who, when, for which purposes and agencies, the evidence) and withdrawn.

A client's consent is the newest of their ``ConsentRecord`` rows: consent is given while that record
is not withdrawn. The client's ``consent_*`` columns are a copy of it kept by ``sync_current`` (every
change of consent goes through this module), so lists and partner queries can filter on them in SQL.

Withdrawing consent emits the hook ``CONSENT_WITHDRAWN`` (``srs.core.wiring.emit``): the referrals, a
layer above, cancel what is open and tell each agency; the registry never imports them. Every read and
change of a consent is audited.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select

from srs.accounts.models import User
from srs.agencies.models import Agency
from srs.core import audit, clock
from srs.core.errors import Conflict, ValidationFailed
from srs.core.iso import iso
from srs.core.wiring import emit
from srs.extensions import db
from srs.registry.models import CONSENT_PURPOSES, Client, ConsentRecord
from srs.registry.validation import (
    DEFAULT_CONSENT_PURPOSES,
    _consent_agencies,
    _consent_purposes,
    _Errors,
    _text,
    parse_date,
)

# The hook the referrals listen to: ``func(client=, record=, user=)`` in the withdrawal's transaction.
CONSENT_WITHDRAWN = "consent.withdrawn"

PURPOSE_LABELS: dict[str, Any] = {
    "screening": _l("Screening for programmes"),
    "referral": _l("Referral: sharing the data with agencies"),
    "case_management": _l("Case management and follow-up"),
}
assert set(PURPOSE_LABELS) == set(CONSENT_PURPOSES)

# Evidence files: a signed form's scan, recognised by its first bytes (never by the name it came with).
EVIDENCE_TYPES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
}
# The consent keys of validate_client's result (what a client row does not store as such).
INPUT_KEYS = ("consent_given", "consent_date", "consent_scope", "consent_purposes", "consent_agencies")


@dataclass
class Evidence:
    """An uploaded evidence file, checked."""

    filename: str
    content_type: str
    content: bytes


@dataclass
class ConsentInput:
    """A consent as the form or the API gives it (``agencies`` None: every agency)."""

    given: bool
    given_on: date | None = None
    scope: str | None = None
    purposes: list[str] = field(default_factory=lambda: list(DEFAULT_CONSENT_PURPOSES))
    agencies: list[str] | None = None
    evidence: Evidence | None = None


@dataclass(frozen=True)
class ConsentState:
    """A client's consent now: the newest record, and when consent was last withdrawn."""

    current: ConsentRecord | None
    last_withdrawn_at: datetime | None

    @property
    def given(self) -> bool:
        return self.current is not None and self.current.withdrawn_at is None

    @property
    def withdrawn(self) -> bool:
        """Consent was given once and is withdrawn now (not merely never given)."""
        return self.current is not None and self.current.withdrawn_at is not None

    def covers(self, agency_code: str | None, purpose: str = "referral") -> bool:
        """Does the current consent let SRS use the data for ``purpose`` with this agency?"""
        record = self.current
        if not self.given or record is None or purpose not in (record.purposes or []):
            return False
        return bool(record.all_agencies) or agency_code in (record.agencies or [])


# --- reading -------------------------------------------------------------------------------------


def history(client: Client) -> list[ConsentRecord]:
    """The client's consent records, newest first."""
    return list(
        db.session.scalars(
            select(ConsentRecord)
            .where(ConsentRecord.client_id == client.id)
            .order_by(ConsentRecord.recorded_at.desc(), ConsentRecord.id.desc())
        )
    )


def _state_of(records: list[ConsentRecord]) -> ConsentState:
    withdrawn = [r.withdrawn_at for r in records if r.withdrawn_at is not None]
    return ConsentState(records[0] if records else None, max(withdrawn) if withdrawn else None)


def state(client: Client) -> ConsentState:
    """The client's consent now, from the records (not from the copy on the client row)."""
    return _state_of(history(client))


def states(client_ids: Iterable[int]) -> dict[int, ConsentState]:
    """The consent now of each of ``client_ids``, in one query (for lists)."""
    ids = set(client_ids)
    by_client: dict[int, list[ConsentRecord]] = {pk: [] for pk in ids}
    if ids:
        rows = db.session.scalars(
            select(ConsentRecord)
            .where(ConsentRecord.client_id.in_(ids))
            .order_by(ConsentRecord.recorded_at.desc(), ConsentRecord.id.desc())
        )
        for record in rows:
            by_client[record.client_id].append(record)
    return {pk: _state_of(records) for pk, records in by_client.items()}


def read_history(client: Client, user: User, *, channel: str = "html") -> list[ConsentRecord]:
    """The records for a page or the API, the reading audited."""
    records = history(client)
    audit.record(
        "consent.read", "client", client.id, user=user, records=[r.id for r in records], channel=channel
    )
    return records


def get_record(client: Client, record_id: int) -> ConsentRecord | None:
    """One of the client's records (None when it is another client's or does not exist)."""
    record = db.session.get(ConsentRecord, record_id)
    return record if record is not None and record.client_id == client.id else None


def read_evidence(record: ConsentRecord, user: User) -> tuple[str, str, bytes] | None:
    """(filename, content type, bytes) of the record's evidence, the reading audited; None if none."""
    if record.evidence is None:
        return None
    audit.record("consent.evidence_read", "client", record.client_id, user=user, record_id=record.id)
    return (
        record.evidence_filename or "evidence",
        record.evidence_type or "application/octet-stream",
        record.evidence,
    )


def view(client: Client, consent_state: ConsentState | None = None) -> dict[str, Any]:
    """The client's consent in the API's shape (API.md): given, date, scope, withdrawn_at, and more."""
    now = consent_state or state(client)
    record = now.current
    if record is None:
        return {
            "given": False,
            "date": None,
            "scope": None,
            "withdrawn_at": None,
            "purposes": [],
            "agencies": None,
            "recorded_at": None,
        }
    return {
        "given": now.given,
        "date": iso(record.given_on),
        "scope": record.scope,
        "withdrawn_at": iso(record.withdrawn_at),
        "purposes": list(record.purposes or []),
        "agencies": "all" if record.all_agencies else list(record.agencies or []),
        "recorded_at": iso(record.recorded_at),
    }


def record_dict(record: ConsentRecord) -> dict[str, Any]:
    """One record of the history in the API's shape (the evidence as its name, type and size only)."""
    return {
        "id": record.id,
        "client_id": record.client_id,
        "recorded_at": iso(record.recorded_at),
        "recorded_by": record.recorded_by_id,
        "date": iso(record.given_on),
        "scope": record.scope,
        "purposes": list(record.purposes or []),
        "agencies": "all" if record.all_agencies else list(record.agencies or []),
        "source": record.source,
        "evidence": (
            {"filename": record.evidence_filename, "type": record.evidence_type, "size": record.evidence_size}
            if record.evidence is not None
            else None
        ),
        "withdrawn_at": iso(record.withdrawn_at),
        "withdrawn_by": record.withdrawn_by_id,
        "withdrawal_reason": record.withdrawal_reason,
    }


# --- input ---------------------------------------------------------------------------------------


def take_input(cleaned: dict[str, Any]) -> ConsentInput:
    """Take the consent keys out of validate_client's result (they are not client columns)."""
    values = {key: cleaned.pop(key, None) for key in INPUT_KEYS}
    return ConsentInput(
        given=bool(values["consent_given"]),
        given_on=values["consent_date"],
        scope=values["consent_scope"],
        purposes=list(values["consent_purposes"] or DEFAULT_CONSENT_PURPOSES),
        agencies=values["consent_agencies"],
    )


def input_from(data: Mapping[str, Any]) -> ConsentInput:
    """A consent to record from a form or the API body: ``date``, ``scope``, ``purposes``, ``agencies``.

    Raises ValidationFailed with the errors on ``consent.<field>``.
    """
    if not isinstance(data, Mapping):
        raise ValidationFailed(_("The consent must be an object."), {"consent": [_("Must be an object.")]})
    errors = _Errors()
    given_on = parse_date(data.get("date"), "consent.date", errors, required=True)
    scope = _text(data.get("scope"), "consent.scope", errors, 300, required=True)
    purposes = _consent_purposes(data.get("purposes"), errors)
    agencies = _consent_agencies(data.get("agencies"), errors)
    if errors:
        raise ValidationFailed(_("Some fields need attention."), errors.by_field)
    return ConsentInput(given=True, given_on=given_on, scope=scope, purposes=purposes, agencies=agencies)


def check_evidence(filename: str | None, content: bytes | None) -> Evidence | None:
    """The uploaded evidence if it is a PDF, PNG or JPEG within the size limit; None when none came.

    Raises ValidationFailed on ``evidence`` otherwise (the type is read from the content).
    """
    if not content:
        return None
    limit = int(current_app.config["CONSENT_EVIDENCE_MAX_BYTES"])
    if len(content) > limit:
        raise ValidationFailed(
            _("The evidence file is too large."),
            {"evidence": [_("At most %(mb).1f MB.", mb=limit / (1024 * 1024))]},
        )
    kind = next(
        (name for name, magics in EVIDENCE_TYPES.items() if any(content.startswith(m) for m in magics)), None
    )
    if kind is None:
        raise ValidationFailed(
            _("The evidence file is not a PDF, PNG or JPEG."),
            {"evidence": [_("Attach a scan as PDF, PNG or JPEG.")]},
        )
    name = (filename or "evidence").replace("\\", "/").rsplit("/", 1)[-1][-200:] or "evidence"
    return Evidence(name, kind, content)


def _check_agencies(codes: list[str] | None) -> None:
    if codes is None:
        return
    known = set(db.session.scalars(select(Agency.code).where(Agency.code.in_(codes))))
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise ValidationFailed(
            _("Some fields need attention."),
            {"consent.agencies": [_("Unknown agency: %(codes)s.", codes=", ".join(unknown))]},
        )


# --- change --------------------------------------------------------------------------------------


def sync_current(client: Client, consent_state: ConsentState | None = None) -> None:
    """Copy the current consent onto the client row (what SQL filters and the edit form read)."""
    now = consent_state or state(client)
    record = now.current
    given = now.given
    date_value = record.given_on if record is not None else None
    scope = record.scope if record is not None else None
    recorded_by = record.recorded_by_id if record is not None else None
    # Only what differs is written: an unchanged row keeps its version.
    for name, value in (
        ("consent_given", given),
        ("consent_date", date_value),
        ("consent_scope", scope),
        ("consent_recorded_by_id", recorded_by),
    ):
        if getattr(client, name) != value:
            setattr(client, name, value)


def record_consent(
    client: Client, data: ConsentInput, user: User, *, source: str = "form", first: bool = False
) -> ConsentRecord:
    """Add a consent record (it becomes the current consent) and audit it.

    ``first``: the client was registered in this transaction, so has no record before this one."""
    errors: dict[str, list[str]] = {}
    if data.given_on is None:
        errors["consent.date"] = [_("This field is required.")]
    elif data.given_on > clock.today():
        errors["consent.date"] = [_("The date cannot be in the future.")]
    elif data.given_on < client.date_of_birth:
        errors["consent.date"] = [_("Consent cannot be given before the person was born.")]
    if not (data.scope or "").strip():
        errors["consent.scope"] = [_("This field is required.")]
    elif len(data.scope or "") > 300:
        errors["consent.scope"] = [
            _("At most %(n)d characters (this has %(len)d).", n=300, len=len(data.scope or ""))
        ]
    if not data.purposes or any(p not in CONSENT_PURPOSES for p in data.purposes):
        errors["consent.purposes"] = [_("Choose at least one purpose.")]
    if errors:
        raise ValidationFailed(_("Some fields need attention."), errors)
    # No flush before the one below: the client row changes once (one version), with the edit that
    # may have brought this consent.
    with db.session.no_autoflush:
        _check_agencies(data.agencies)
        prior = ConsentState(None, None) if first else state(client)
    record = ConsentRecord(
        client_id=client.id,
        recorded_by_id=getattr(user, "id", None),
        recorded_at=clock.now(),
        given_on=data.given_on,
        scope=(data.scope or "").strip(),
        purposes=[p for p in CONSENT_PURPOSES if p in data.purposes],
        all_agencies=data.agencies is None,
        agencies=list(data.agencies or []),
        source=source,
    )
    if data.evidence is not None:
        record.evidence_filename = data.evidence.filename
        record.evidence_type = data.evidence.content_type
        record.evidence_size = len(data.evidence.content)
        record.evidence = data.evidence.content
    db.session.add(record)
    sync_current(client, ConsentState(record, prior.last_withdrawn_at))
    db.session.flush()
    audit.record(
        "consent.record",
        "client",
        client.id,
        user=user,
        record_id=record.id,
        source=source,
        date=iso(record.given_on),
        purposes=record.purposes,
        agencies="all" if record.all_agencies else record.agencies,
        evidence=record.evidence_type,
    )
    return record


def withdraw(client: Client, user: User, reason: str | None = None, *, source: str = "form") -> ConsentRecord:
    """Withdraw the current consent; the referrals (through the hook) stop sharing from now on.

    Raises Conflict (409) when no consent is in force.
    """
    with db.session.no_autoflush:
        now_state = state(client)
    if not now_state.given or now_state.current is None:
        raise Conflict(
            _("No consent is in force for this client, so there is nothing to withdraw."),
            {"consent": [_("No consent is in force.")]},
        )
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > 500:
        raise ValidationFailed(
            _("Some fields need attention."), {"reason": [_("At most %(n)d characters.", n=500)]}
        )
    record = now_state.current
    record.withdrawn_at = clock.now()
    record.withdrawn_by_id = getattr(user, "id", None)
    record.withdrawal_reason = reason
    sync_current(client, ConsentState(record, record.withdrawn_at))
    db.session.flush()
    audit.record(
        "consent.withdraw", "client", client.id, user=user, record_id=record.id, source=source, reason=reason
    )
    emit(CONSENT_WITHDRAWN, client=client, record=record, user=user)
    return record


def _same(record: ConsentRecord | None, data: ConsentInput) -> bool:
    """Does the input say what the current record says (so that saving a form changes nothing)?"""
    if record is None:
        return False
    return (
        record.given_on == data.given_on
        and (record.scope or "") == (data.scope or "").strip()
        and list(record.purposes or []) == [p for p in CONSENT_PURPOSES if p in data.purposes]
        and bool(record.all_agencies) == (data.agencies is None)
        and sorted(record.agencies or []) == sorted(data.agencies or [])
    )


def apply_input(
    client: Client, data: ConsentInput, user: User, *, source: str, reason: str | None = None
) -> dict[str, dict[str, Any]]:
    """Bring the client's consent to what an edit says: withdraw it, record it anew, or nothing.

    Returns the changes for the edit's audit entry (``consent_given``, ``consent_date``...).
    """
    with db.session.no_autoflush:
        before = state(client)
    old = view(client, before)
    if before.given and not data.given:
        withdraw(client, user, reason, source=source)
    elif data.given and not (before.given and _same(before.current, data)):
        record_consent(client, data, user, source=source)
    else:
        return {}
    new = view(client)
    changes = {}
    for key in ("given", "date", "scope", "purposes", "agencies"):
        if old[key] != new[key]:
            changes[f"consent_{key}"] = {"from": old[key], "to": new[key]}
    return changes


def merge_into(keep: Client, duplicate: Client, user: User) -> str | None:
    """The kept record's consent after a merge: the person's latest word on either record wins.

    The duplicate's consent is recorded on the kept record when that has none (its evidence travels
    with it); a withdrawal on the duplicate newer than the kept record's consent withdraws that too.
    Returns what changed (``consent`` or ``consent_withdrawn``), or None.
    """
    ours, theirs = state(keep), state(duplicate)
    if theirs.current is None:
        return None
    if ours.given and theirs.withdrawn and ours.current is not None:
        if theirs.current.withdrawn_at and theirs.current.withdrawn_at > ours.current.recorded_at:
            withdraw(keep, user, theirs.current.withdrawal_reason, source="merge")
            return "consent_withdrawn"
        return None
    if ours.current is not None or not theirs.given:
        return None
    origin = theirs.current
    data = ConsentInput(
        given=True,
        given_on=origin.given_on,
        scope=origin.scope,
        purposes=list(origin.purposes or []),
        agencies=None if origin.all_agencies else list(origin.agencies or []),
    )
    if origin.evidence is not None:
        data.evidence = Evidence(
            origin.evidence_filename or "evidence", origin.evidence_type or "", origin.evidence
        )
    record_consent(keep, data, user, source="merge")
    return "consent"


def import_rows(rows: Mapping[int, ConsentInput], user: User, now: datetime) -> int:
    """Consent records for clients a bulk import inserted (``rows``: client id -> its consent).

    One multi-row INSERT: the import already wrote each client row's consent columns from the same
    input, so no sync is needed.
    """
    values = [
        {
            "client_id": client_id,
            "recorded_by_id": user.id,
            "recorded_at": now,
            "given_on": data.given_on,
            "scope": data.scope,
            "purposes": [p for p in CONSENT_PURPOSES if p in data.purposes],
            "all_agencies": data.agencies is None,
            "agencies": list(data.agencies or []),
            "source": "import",
        }
        for client_id, data in rows.items()
        if data.given
    ]
    if values:
        db.session.execute(insert(ConsentRecord), values)
    return len(values)

"""Enrolments: who is covered by which programme, from when until when, and the ILO functions.

A client's ``enrolments`` list of programme codes (the registration form's "programmes already
held", the API, the importer) and the enrolment rows are kept consistent both ways: a code added to
the list opens an enrolment from that day (source "registration" for a new client, else "profile"),
a code taken away ends the open one that day; recording or ending an enrolment here rewrites the list
as the codes with an enrolment open today (codes outside the catalogue stay in the list, untouched).
The rows, with their dates, are what the coverage figures count. Services never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import Session

from srs.core import audit, clock
from srs.core.errors import ValidationFailed
from srs.extensions import db
from srs.programmes.models import FUNCTIONS, Enrolment, Programme
from srs.registry.models import Client

FUNCTION_LABELS = {
    "children_family": _l("Children and family"),
    "maternity": _l("Maternity"),
    "sickness_health": _l("Sickness and health"),
    "disability": _l("Disability"),
    "unemployment": _l("Unemployment"),
    "employment_injury": _l("Employment injury"),
    "old_age": _l("Old age"),
    "survivors": _l("Survivors"),
    "social_assistance": _l("General social assistance"),
    "employment_service": _l("Employment services"),
}
SOURCE_LABELS = {
    "registration": _l("At registration"),
    "profile": _l("On the profile"),
    "referral": _l("Referral completed successfully"),
    "import": _l("Import"),
    "migration": _l("Earlier list of programmes held"),
}
assert set(FUNCTION_LABELS) == set(FUNCTIONS)


def function_choices() -> list[tuple[str, Any]]:
    return [(f, FUNCTION_LABELS[f]) for f in FUNCTIONS]


def enrolments_of(client: Client) -> list[Enrolment]:
    """The client's enrolments, latest start first."""
    return list(
        db.session.scalars(
            select(Enrolment)
            .where(Enrolment.client_id == client.id)
            .order_by(Enrolment.start_on.desc(), Enrolment.id.desc())
        )
    )


def open_enrolment(client_id: int, programme_id: int, on: date) -> Enrolment | None:
    """The client's enrolment in the programme covering ``on`` (the latest if several)."""
    return db.session.scalar(
        select(Enrolment)
        .where(
            Enrolment.client_id == client_id,
            Enrolment.programme_id == programme_id,
            Enrolment.start_on <= on,
            (Enrolment.end_on.is_(None)) | (Enrolment.end_on >= on),
        )
        .order_by(Enrolment.start_on.desc(), Enrolment.id.desc())
        .limit(1)
    )


def overlapping_enrolment(
    client_id: int, programme_id: int, start_on: date, end_on: date | None
) -> Enrolment | None:
    """An enrolment of the client in the programme sharing a day with ``start_on``..``end_on`` (open
    ends reach on without end)."""
    stmt = select(Enrolment).where(
        Enrolment.client_id == client_id,
        Enrolment.programme_id == programme_id,
        (Enrolment.end_on.is_(None)) | (Enrolment.end_on >= start_on),
    )
    if end_on is not None:
        stmt = stmt.where(Enrolment.start_on <= end_on)
    return db.session.scalars(stmt.order_by(Enrolment.start_on).limit(1)).first()


@dataclass
class Coverage:
    """A person's coverage on one day: the enrolments in force per ILO function, and the gaps."""

    on: date
    by_function: dict[str, list[Enrolment]]
    enrolments: list[Enrolment]

    @property
    def gaps(self) -> list[str]:
        return [f for f in FUNCTIONS if not self.by_function.get(f)]

    @property
    def covered(self) -> list[str]:
        return [f for f in FUNCTIONS if self.by_function.get(f)]


def coverage_of(client: Client, on: date | None = None) -> Coverage:
    """What covers the client today (or on ``on``), per function, and the functions nothing covers."""
    day = on or clock.today()
    rows = enrolments_of(client)
    by_function: dict[str, list[Enrolment]] = {f: [] for f in FUNCTIONS}
    for e in rows:
        if e.open_on(day):
            for f in e.programme.functions or []:
                if f in by_function:
                    by_function[f].append(e)
    return Coverage(day, by_function, rows)


def _check_dates(start_on: date | None, end_on: date | None, errors: dict[str, list[str]]) -> None:
    today = clock.today()
    if start_on is None:
        errors["start_on"] = [_("Give the date the coverage started.")]
    elif start_on > today:
        errors["start_on"] = [_("The start date is in the future.")]
    if start_on is not None and end_on is not None and end_on < start_on:
        errors["end_on"] = [_("The end date is before the start date.")]


def _sync_codes(client: Client) -> None:
    """Rewrite the client's list of codes as those with an enrolment open today (codes outside the
    catalogue stay)."""
    today = clock.today()
    catalogue = set(db.session.scalars(select(Programme.code)))
    open_codes = set(
        db.session.scalars(
            select(Programme.code)
            .join(Enrolment, Enrolment.programme_id == Programme.id)
            .where(
                Enrolment.client_id == client.id,
                Enrolment.start_on <= today,
                (Enrolment.end_on.is_(None)) | (Enrolment.end_on >= today),
            )
        )
    )
    outside = [c for c in client.enrolments or [] if c not in catalogue]
    wanted = sorted(set(outside) | open_codes)
    if sorted(client.enrolments or []) != wanted:
        client.enrolments = wanted


def record_enrolment(
    client: Client,
    programme: Programme | None,
    start_on: date | None,
    end_on: date | None = None,
    *,
    source: str = "profile",
    user: Any = None,
    referral_id: int | None = None,
) -> Enrolment:
    """Record that ``client`` is covered by ``programme`` from ``start_on`` (until ``end_on``)."""
    errors: dict[str, list[str]] = {}
    if programme is None:
        errors["programme"] = [_("Choose a programme.")]
    elif programme.country != client.region.country:
        errors["programme"] = [_("The programme is not run in the client's country.")]
    _check_dates(start_on, end_on, errors)
    if not errors and programme is not None and start_on is not None:
        clash = overlapping_enrolment(client.id, programme.id, start_on, end_on)
        if clash is not None:
            errors["start_on"] = [
                _(
                    "The client is already enrolled in this programme from %(start)s to %(end)s, which "
                    "overlaps these dates.",
                    start=clash.start_on.isoformat(),
                    end=clash.end_on.isoformat() if clash.end_on else _("now"),
                )
            ]
    if errors:
        raise ValidationFailed(_("The enrolment could not be recorded."), errors)
    assert programme is not None and start_on is not None
    enrolment = Enrolment(
        client_id=client.id,
        programme_id=programme.id,
        programme=programme,
        start_on=start_on,
        end_on=end_on,
        source=source,
        referral_id=referral_id,
        recorded_by_id=getattr(user, "id", None),
    )
    db.session.add(enrolment)
    db.session.flush()
    _sync_codes(client)
    db.session.flush()
    audit.record(
        "enrolment.record",
        "client",
        client.id,
        user=user,
        enrolment=enrolment.id,
        programme=programme.code,
        start_on=start_on.isoformat(),
        end_on=end_on.isoformat() if end_on else None,
        source=source,
    )
    return enrolment


def end_enrolment(enrolment: Enrolment, end_on: date | None, *, user: Any = None) -> Enrolment:
    """Close an enrolment on ``end_on`` (the last day covered)."""
    errors: dict[str, list[str]] = {}
    if end_on is None:
        errors["end_on"] = [_("Give the last day of the coverage.")]
    elif end_on < enrolment.start_on:
        errors["end_on"] = [_("The end date is before the start date.")]
    if errors:
        raise ValidationFailed(_("The enrolment could not be ended."), errors)
    enrolment.end_on = end_on
    db.session.flush()
    client = db.session.get(Client, enrolment.client_id)
    assert client is not None
    _sync_codes(client)
    db.session.flush()
    audit.record(
        "enrolment.end",
        "client",
        client.id,
        user=user,
        enrolment=enrolment.id,
        programme=enrolment.programme.code,
        end_on=end_on.isoformat() if end_on else None,
    )
    return enrolment


def enrol_from_referral(referral: Any, user: Any = None) -> Enrolment | None:
    """A referral completed with outcome successful: the client is enrolled from that day (unless an
    enrolment in the programme is already open)."""
    today = clock.today()
    if open_enrolment(referral.client_id, referral.programme_id, today) is not None:
        return None
    client = db.session.get(Client, referral.client_id)
    programme = db.session.get(Programme, referral.programme_id)
    if client is None or programme is None:
        return None
    return record_enrolment(client, programme, today, source="referral", user=user, referral_id=referral.id)


# ---------------------------------------------------------------------------------------------
# The list of codes -> the rows (the registry writes the list and cannot import this package)


_UNNAMED = "srs.enrolments.unnamed_audit"


def _code_changes(client: Client) -> tuple[set[str], set[str]]:
    history = inspect(client).attrs.enrolments.history
    if not history.has_changes():
        return set(), set()
    new = set(client.enrolments or [])
    old: set[str] = set()
    for value in history.deleted or ():
        old |= set(value or [])
    return new - old, old - new


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    today = clock.today()
    for obj in list(session.dirty):
        # Merged away: the duplicate's enrolments now belong to the kept client.
        merged = isinstance(obj, Client) and obj.merged_into_id is not None
        if merged and inspect(obj).attrs.merged_into_id.history.added:
            session.execute(
                update(Enrolment)
                .where(Enrolment.client_id == obj.id)
                .values(client_id=obj.merged_into_id)
                .execution_options(synchronize_session=False)
            )
    for obj in [*session.new, *session.dirty]:
        if not isinstance(obj, Client) or obj.merged_into_id is not None:
            continue
        added, removed = _code_changes(obj)
        if not added and not removed:
            continue
        programmes = {
            p.code: p for p in session.scalars(select(Programme).where(Programme.code.in_(added | removed)))
        }
        created = obj in session.new
        for code in sorted(added):
            programme = programmes.get(code)
            if programme is None:
                continue  # not in the catalogue: kept in the list only
            if obj.id is not None and open_enrolment(obj.id, programme.id, today) is not None:
                continue
            enrolment = Enrolment(
                programme=programme,
                start_on=today,
                source="registration" if created else "profile",
            )
            enrolment.client = obj  # the new client's id is known only after this flush
            session.add(enrolment)
            entry = audit.record(
                "enrolment.record", "client", obj.id, programme=code, source=enrolment.source
            )
            session.info.setdefault(_UNNAMED, []).append((entry, obj))
        for code in sorted(removed):
            programme = programmes.get(code)
            if programme is None or obj.id is None:
                continue
            current = open_enrolment(obj.id, programme.id, today)
            if current is not None:
                current.end_on = today
                audit.record("enrolment.end", "client", obj.id, programme=code, end_on=today.isoformat())


def _after_flush(session: Session, _context: Any) -> None:
    # Audit entries about clients inserted in this flush: their id is known now.
    for entry, client in session.info.pop(_UNNAMED, []):
        entry.object_id = str(client.id)


def _flush_before_commit(session: Session) -> None:
    # The audit log takes its pending entries when the commit starts, before the commit's own flush:
    # flushing first means the entries the list's changes make (in _before_flush) are among them.
    if session.new or session.dirty or session.deleted:
        session.flush()


def install() -> None:
    """Keep the rows in step with the lists of codes (every session; idempotent)."""
    if not event.contains(Session, "before_commit", _flush_before_commit):
        # Ahead of the audit log's own before_commit listener.
        event.listen(Session, "before_commit", _flush_before_commit, insert=True)
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)

"""Retention periods per kind of record, applied by a periodic job, with a dry run of what it would do.

- closed cases (``RETENTION_CLOSED_CASE_DAYS``): anonymised, the case's notes and free-text reasons emptied;
- complaints (``RETENTION_COMPLAINT_DAYS``): anonymised, complainant's name, phone and texts emptied;
- import files (``IMPORT_FILE_RETENTION_DAYS``): the uploaded file deleted (the batch and results stay);
- audit entries (``RETENTION_AUDIT_DAYS``): reported only, never deleted (see below);
- sessions and API tokens (``RETENTION_SESSION_DAYS``, ``RETENTION_TOKEN_DAYS``): deleted, counted from
  when they expired or were revoked.

Audit entries are hash-chained (srs.core.audit_chain) and a PostgreSQL trigger refuses to change or
delete them: removing old entries would break ``flask verify-audit`` at the first entry left. They are
the processing trail the law asks SRS to show a person (and the evidence of every breach), so the job
never deletes them; the dry run and each run's audit entry say how many are past the period, for the
data protection officer to archive the chain whole (export, verify, then start a new database) if the
law of the day requires it. Personal data in them is limited when written (ID numbers masked).

Each run writes one audit entry with the counts per kind (never what was removed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, delete, func, or_, select, update

from srs.accounts.models import ApiToken, LoginSession, User
from srs.cases.models import Case, CaseNote, Complaint
from srs.core import audit, clock
from srs.core.models import AuditEntry
from srs.core.queue import job
from srs.extensions import db
from srs.registry.models import ImportBatch

CLOSED_COMPLAINT_STATUSES = ("resolved", "rejected")


@dataclass(frozen=True)
class Kind:
    key: str
    label: Any
    setting: str
    action: str  # anonymise | delete | report


KINDS = (
    Kind("closed_cases", _l("Closed cases"), "RETENTION_CLOSED_CASE_DAYS", "anonymise"),
    Kind("complaints", _l("Complaints"), "RETENTION_COMPLAINT_DAYS", "anonymise"),
    Kind("import_files", _l("Import files"), "IMPORT_FILE_RETENTION_DAYS", "delete"),
    Kind("audit_entries", _l("Audit entries"), "RETENTION_AUDIT_DAYS", "report"),
    Kind("sessions", _l("Sign-in sessions"), "RETENTION_SESSION_DAYS", "delete"),
    Kind("tokens", _l("API tokens"), "RETENTION_TOKEN_DAYS", "delete"),
)


@dataclass
class Line:
    kind: Kind
    days: int
    cutoff: datetime
    count: int


def _cutoff(kind: Kind, now: datetime) -> tuple[int, datetime]:
    days = int(current_app.config[kind.setting])
    return days, now - timedelta(days=days)


def _conditions(kind: str, cutoff: datetime) -> tuple[Any, Any]:
    """The model and the condition of the rows of ``kind`` past ``cutoff`` that still need the action."""
    if kind == "closed_cases":
        # Anonymised once: a case whose closure note is gone and notes are empty needs nothing more.
        has_text = or_(
            Case.closure_note.is_not(None),
            Case.hold_reason.is_not(None),
            Case.id.in_(select(CaseNote.case_id).where(CaseNote.body != "")),
        )
        return Case, and_(Case.status == "closed", Case.closed_at < cutoff, has_text)
    if kind == "complaints":
        has_text = or_(
            Complaint.description != "",
            Complaint.complainant_name.is_not(None),
            Complaint.complainant_phone.is_not(None),
            Complaint.resolution.is_not(None),
            Complaint.rejection_reason.is_not(None),
        )
        return Complaint, and_(
            Complaint.status.in_(CLOSED_COMPLAINT_STATUSES),
            func.coalesce(Complaint.resolved_at, Complaint.created_at) < cutoff,
            has_text,
        )
    if kind == "import_files":
        return ImportBatch, and_(ImportBatch.file_deleted_at.is_(None), ImportBatch.created_at < cutoff)
    if kind == "audit_entries":
        return AuditEntry, AuditEntry.at < cutoff
    if kind == "sessions":
        return LoginSession, func.coalesce(LoginSession.revoked_at, LoginSession.expires_at) < cutoff
    if kind == "tokens":
        return ApiToken, func.coalesce(ApiToken.revoked_at, ApiToken.expires_at) < cutoff
    raise ValueError(kind)


def plan(now: datetime | None = None) -> list[Line]:
    """What a run would do now: per kind, its period and how many records are past it."""
    now = now or clock.now()
    lines = []
    for kind in KINDS:
        days, cutoff = _cutoff(kind, now)
        model, condition = _conditions(kind.key, cutoff)
        count = db.session.scalar(select(func.count()).select_from(model).where(condition)) or 0
        lines.append(Line(kind, days, cutoff, count))
    return lines


def _apply_kind(kind: str, cutoff: datetime, now: datetime) -> int:
    model, condition = _conditions(kind, cutoff)
    ids: list[int] = list(db.session.scalars(select(model.id).where(condition)))
    if not ids:
        return 0
    if kind == "closed_cases":
        db.session.execute(update(CaseNote).where(CaseNote.case_id.in_(ids)).values(body=""))
        db.session.execute(update(Case).where(Case.id.in_(ids)).values(closure_note=None, hold_reason=None))
    elif kind == "complaints":
        db.session.execute(
            update(Complaint)
            .where(Complaint.id.in_(ids))
            .values(
                complainant_name=None,
                complainant_phone=None,
                description="",
                resolution=None,
                rejection_reason=None,
            )
        )
    elif kind == "import_files":
        db.session.execute(
            update(ImportBatch).where(ImportBatch.id.in_(ids)).values(content=None, file_deleted_at=now)
        )
    elif kind == "sessions":
        db.session.execute(delete(LoginSession).where(LoginSession.id.in_(ids)))
    elif kind == "tokens":
        db.session.execute(delete(ApiToken).where(ApiToken.id.in_(ids)))
    return len(ids)


def apply(now: datetime | None = None, user: User | None = None) -> dict[str, int]:
    """Apply every period in the current transaction (the caller or the job commits); counts per kind.

    Audit entries are only counted (``audit_entries_past_period``), never touched.
    """
    now = now or clock.now()
    done: dict[str, int] = {}
    for kind in KINDS:
        days, cutoff = _cutoff(kind, now)
        if kind.action == "report":
            model, condition = _conditions(kind.key, cutoff)
            done[f"{kind.key}_past_period"] = (
                db.session.scalar(select(func.count()).select_from(model).where(condition)) or 0
            )
            continue
        done[kind.key] = _apply_kind(kind.key, cutoff, now)
    db.session.expire_all()
    audit.record("retention.run", "retention", None, user=user, **done)
    return done


@job(summary=lambda done, *_a, **_k: f"retention: {done}" if done and any(done.values()) else None)
def run_retention() -> dict[str, int]:
    """The periodic job (daily by default, ``RETENTION_JOB_SECONDS``)."""
    return apply()

"""Everything SRS holds on one person, with the trail of what was done with it (access, portability).

``gather`` collects the record, household, screenings with their explanations, referrals with what
each agency received, case file, complaints, consent, requests and the processing trail: every audit
entry about the person (reads, changes, lists and searches that showed them, exports, sharing with a
partner system) and every delivery to an agency, newest first. JSON for portability; ``render_pdf``
draws the same in the person's language to take home. ``export`` audits the export itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import force_locale, format_datetime
from flask_babel import gettext as _
from sqlalchemy import String, and_, cast, or_, select

from srs.accounts.models import User
from srs.agencies.models import Agency
from srs.cases.models import Case, Complaint
from srs.core import audit, clock
from srs.core.iso import iso
from srs.core.models import AuditEntry
from srs.extensions import db
from srs.privacy import requests as ledger
from srs.privacy.models import DataSubjectRequest
from srs.programmes.models import Screening
from srs.programmes.screening import screening_as_dict
from srs.referrals import services as referral_services
from srs.referrals.models import Delivery, OutboxMessage, Referral
from srs.registry import services as registry
from srs.registry.fields import client_fields
from srs.registry.models import Client
from srs.reports.pdf import FONT, new_document

# The language of the copy when the request names none: the country's.
COUNTRY_LANGUAGE = {"ID": "id", "VN": "vi"}
# Keys of an audit entry's details that name the client (besides the entry's own object).
CLIENT_KEYS = ("client_id", "member_client_id", "merged_client_id", "kept_client_id")


def _value(value: Any) -> Any:
    return iso(value) if hasattr(value, "isoformat") else value


def _household(client: Client) -> dict[str, Any] | None:
    household = client.household
    if household is None:
        return None
    return {
        "id": household.id,
        "address": household.address,
        "members": [
            {
                "full_name": m.full_name,
                "relationship_to_head": m.relationship_to_head,
                "sex": m.sex,
                "date_of_birth": iso(m.date_of_birth),
                "client_id": m.client_id,
            }
            for m in household.members
        ],
    }


def _referrals(client: Client) -> list[dict[str, Any]]:
    referrals = db.session.scalars(
        select(Referral).where(Referral.client_id == client.id).order_by(Referral.created_at, Referral.id)
    )
    out = []
    for referral in referrals:
        data = referral_services.to_dict(referral)
        agency = db.session.get_one(Agency, referral.agency_id)
        data["agency_name"] = agency.name
        # What the agency received (only the fields the programme shares), once it was delivered.
        data["shared_with_agency"] = (
            {name: _value(value) for name, _label, value in referral_services.shared_client_fields(referral)}
            if referral.delivered_at
            else {}
        )
        out.append(data)
    return out


def _case(client: Client) -> list[dict[str, Any]]:
    case = db.session.scalar(select(Case).where(Case.client_id == client.id))
    if case is None:
        return []
    return [
        {
            "id": case.id,
            "status": case.status,
            "officer": case.officer.full_name if case.officer else None,
            "created_at": iso(case.created_at),
            "closed_at": iso(case.closed_at),
            "closure_reason": case.closure_reason,
            "notes": [{"at": iso(n.created_at), "body": n.body} for n in reversed(case.notes)],
            "tasks": [
                {"title": t.title, "due_on": iso(t.due_on), "done_at": iso(t.done_at)} for t in case.tasks
            ],
            "goals": [
                {
                    "kind": g.kind,
                    "description": g.description,
                    "status": g.status,
                    "target_on": iso(g.target_on),
                }
                for g in case.goals
            ],
        }
    ]


def _complaints(client: Client) -> list[dict[str, Any]]:
    complaints = db.session.scalars(
        select(Complaint).where(Complaint.client_id == client.id).order_by(Complaint.created_at, Complaint.id)
    )
    return [
        {
            "id": c.id,
            "tracking_number": c.tracking_number,
            "subject": c.subject,
            "description": c.description,
            "status": c.status,
            "received_on": iso(c.received_on),
            "due_on": iso(c.due_on),
            "resolution": c.resolution,
            "rejection_reason": c.rejection_reason,
        }
        for c in complaints
    ]


def _consents(client: Client, requests: list[DataSubjectRequest]) -> list[dict[str, Any]]:
    consents = [
        {
            "given": client.consent_given,
            "date": iso(client.consent_date),
            "scope": client.consent_scope,
            "recorded_by": client.consent_recorded_by_id,
        }
    ]
    consents += [
        {
            "withdrawal_request": r.id,
            "received_at": iso(r.received_at),
            "status": r.status,
            "outcome": r.outcome,
        }
        for r in requests
        if r.kind == "withdrawal"
    ]
    return consents


# ---------------------------------------------------------------- the processing trail


def _related_ids(client: Client) -> dict[str, set[str]]:
    """The ids of the client's own records whose audit entries are about the client too."""
    referral_ids = {
        str(i) for i in db.session.scalars(select(Referral.id).where(Referral.client_id == client.id))
    }
    case_ids = {str(i) for i in db.session.scalars(select(Case.id).where(Case.client_id == client.id))}
    complaint_ids = {
        str(i) for i in db.session.scalars(select(Complaint.id).where(Complaint.client_id == client.id))
    }
    return {
        "client": {str(client.id)},
        "referral": referral_ids,
        "case": case_ids,
        "complaint": complaint_ids,
    }


def mentions(entry: AuditEntry, client_id: int, related: dict[str, set[str]]) -> bool:
    """True when the audit entry is about the client: its object, a named key, or a listed id."""
    if entry.object_type in related and entry.object_id in related[entry.object_type]:
        return True
    details = entry.details or {}
    if any(details.get(key) == client_id for key in CLIENT_KEYS):
        return True
    ids = details.get("ids")
    return entry.object_type == "client" and isinstance(ids, list) and client_id in ids


def trail_entries(client: Client) -> list[AuditEntry]:
    """Every audit entry about the client, newest first.

    The SQL narrows by object, and for entries that name the client only inside their details (lists,
    searches, referrals, complaints) by a text match on the details, which ``mentions`` then checks
    exactly: portable between SQLite and PostgreSQL, and the index on (object_type, object_id)
    serves the first part.
    """
    related = _related_ids(client)
    by_object = [
        and_(AuditEntry.object_type == kind, AuditEntry.object_id.in_(ids))
        for kind, ids in related.items()
        if ids
    ]
    in_details = cast(AuditEntry.details, String).like(f"%{client.id}%")
    stmt = (
        select(AuditEntry)
        .where(or_(*by_object, in_details))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    )
    return [e for e in db.session.scalars(stmt) if mentions(e, client.id, related)]


def _recipient(entry: AuditEntry) -> str | None:
    details = entry.details or {}
    return details.get("recipient") or details.get("agency")


def processing(client: Client) -> list[dict[str, Any]]:
    """The trail of what was done with the record, newest first: audit entries and deliveries."""
    entries = trail_entries(client)
    user_ids = {e.user_id for e in entries if e.user_id}
    roles: dict[int, str] = {}
    if user_ids:
        found = db.session.execute(select(User.id, User.role).where(User.id.in_(user_ids)))
        roles = {uid: role for uid, role in found}
    items: list[tuple[datetime, int, dict[str, Any]]] = [
        (
            e.at,
            e.id,
            {
                "at": iso(e.at),
                "action": e.action,
                "by_role": roles.get(e.user_id, "system") if e.user_id else "system",
                "recipient": _recipient(e),
                "audit_id": e.id,
            },
        )
        for e in entries
    ]
    deliveries = db.session.execute(
        select(Delivery, OutboxMessage, Agency)
        .join(OutboxMessage, OutboxMessage.id == Delivery.outbox_id)
        .join(Referral, Referral.id == OutboxMessage.referral_id)
        .join(Agency, Agency.id == Referral.agency_id)
        .where(Referral.client_id == client.id)
    )
    for delivery, message, agency in deliveries:
        event = getattr(message, "event", None) or "referral.delivered"
        items.append(
            (
                delivery.delivered_at,
                0,
                {
                    "at": iso(delivery.delivered_at),
                    "action": f"delivery.{event}",
                    "by_role": "system",
                    "recipient": agency.code,
                    "channel": delivery.channel,
                    "audit_id": None,
                },
            )
        )
    items.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [item[2] for item in items]


# ---------------------------------------------------------------- the export


def gather(client: Client, locale: str = "en") -> dict[str, Any]:
    """Everything SRS holds on the person (API.md "Data-subject requests and records")."""
    requests = ledger.requests_of(client)
    screenings = db.session.scalars(
        select(Screening).where(Screening.client_id == client.id).order_by(Screening.screened_at.desc())
    )
    return {
        "client": {
            "id": client.id,
            **registry.client_input(client),
            "created_at": iso(client.created_at),
            "updated_at": iso(client.updated_at),
        },
        "household": _household(client),
        "screenings": [screening_as_dict(s, locale) for s in screenings],
        "referrals": _referrals(client),
        "cases": _case(client),
        "complaints": _complaints(client),
        "consents": _consents(client, requests),
        "requests": [ledger.to_dict(r) for r in requests],
        "processing": processing(client),
    }


def language_for(client: Client, asked: str | None) -> str:
    """The copy's language: the one asked for if SRS speaks it, else the country's, else the default."""
    languages = current_app.config["LANGUAGES"]
    if asked in languages:
        return str(asked)
    fallback = COUNTRY_LANGUAGE.get(client.region.country, current_app.config["BABEL_DEFAULT_LOCALE"])
    return fallback if fallback in languages else current_app.config["BABEL_DEFAULT_LOCALE"]


def export(
    client: Client,
    user: User,
    fmt: str = "json",
    locale: str = "en",
    request: DataSubjectRequest | None = None,
) -> dict[str, Any]:
    """The export, audited (format, language and the request it serves); links the request to it."""
    data = gather(client, locale)
    audit.record(
        "privacy.export",
        "client",
        client.id,
        user=user,
        format=fmt,
        language=locale,
        request_id=request.id if request else None,
        trail=len(data["processing"]),
    )
    if request is not None and request.kind in ("access", "portability"):
        ledger.link_service(request, "export", None)
        ledger.mark_answered(request, user)
    return data


# ---------------------------------------------------------------- the PDF


def _line(pdf: Any, text: str, size: int = 10, bold: bool = False) -> None:
    pdf.set_font(FONT, "B" if bold else "", size)
    pdf.multi_cell(0, 5 if size <= 10 else 7, text, new_x="LMARGIN", new_y="NEXT")


def _pairs(pdf: Any, pairs: list[tuple[str, Any]]) -> None:
    for label, value in pairs:
        if value in (None, "", [], {}):
            continue
        _line(pdf, f"{label}: {value}")


def render_pdf(data: dict[str, Any], locale: str) -> bytes:
    """The copy for the person to take home, in ``locale``: each section with its entries."""
    with force_locale(locale):
        client = data["client"]
        pdf = new_document(
            _("Your data held by SRS"),
            client["full_name"] or "",
            locale,
            _("Page %(page)s of %(pages)s", page="%(page)s", pages="%(pages)s"),
        )
        _line(pdf, _("Your data held by SRS"), 15, bold=True)
        _line(pdf, _("Prepared %(when)s", when=format_datetime(clock.now(), "medium")))
        pdf.ln(3)
        _line(pdf, _("Your record"), 12, bold=True)
        consent = client.get("consent") or {}
        # The field table's labels (srs/registry/fields.py): the same words as the edit form.
        labels = {f.name: f.label for f in client_fields() if f.type != "consent"}
        _pairs(pdf, [(str(labels[k]), v) for k, v in client.items() if k in labels])
        _pairs(
            pdf,
            [
                (_("Consent given"), _("Yes") if consent.get("given") else _("No")),
                (_("Consent date"), consent.get("date")),
            ],
        )
        if data["household"]:
            pdf.ln(2)
            _line(pdf, _("Household"), 12, bold=True)
            for m in data["household"]["members"]:
                _line(
                    pdf, f"{m['full_name']} · {m['relationship_to_head'] or ''} · {m['date_of_birth'] or ''}"
                )
        pdf.ln(2)
        _line(pdf, _("Screenings and why"), 12, bold=True)
        for s in data["screenings"] or [{}]:
            if not s:
                _line(pdf, _("None."))
            for r in s.get("results", []):
                _line(pdf, f"{s['screened_at'][:10]} · {r['programme']['name']}: {r['outcome']}", bold=True)
                for reason in r["reasons"]:
                    _line(pdf, f"  - {reason['detail']}")
        pdf.ln(2)
        _line(pdf, _("Referrals and what each agency received"), 12, bold=True)
        for r in data["referrals"] or [{}]:
            if not r:
                _line(pdf, _("None."))
                continue
            _line(pdf, f"#{r['id']} {r['programme_code']} → {r['agency_name']} · {r['status']}", bold=True)
            if r["shared_with_agency"]:
                _line(pdf, _("Shared: %(fields)s", fields=", ".join(r["shared_with_agency"])))
        for title, key in ((_("Case file"), "cases"), (_("Complaints"), "complaints")):
            pdf.ln(2)
            _line(pdf, title, 12, bold=True)
            for item in data[key] or [{}]:
                _line(
                    pdf,
                    " · ".join(str(v) for k, v in item.items() if isinstance(v, (str, int)) and k != "id")
                    or _("None."),
                )
        pdf.ln(2)
        _line(pdf, _("Your requests"), 12, bold=True)
        for r in data["requests"] or [{}]:
            _line(
                pdf,
                f"{r['received_at'][:10]} · {r['kind']} · {r['status']} · {r['rule']}" if r else _("None."),
            )
        pdf.ln(2)
        _line(pdf, _("What was done with your record"), 12, bold=True)
        for p in data["processing"]:
            recipient = f" → {p['recipient']}" if p.get("recipient") else ""
            _line(pdf, f"{p['at'][:16].replace('T', ' ')} · {p['action']} · {p['by_role']}{recipient}", 9)
        return bytes(pdf.output())

"""Personal-data breaches (UU 27/2022 art. 46; Law 91/2025): who was affected, the 3 x 24 hour
countdown, the letters to the people affected and the report to the authority.

The people affected are worked out from the audit trail whenever asked (every client whose record the
compromised account read, listed or exported in the window; or every client in the exports of the
named kind in the window), never stored: the breach row and the audit entries about it hold ids and
counts only, and the description an admin types is never written to the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from srs.accounts.models import User
from srs.core import audit, clock
from srs.core.errors import NotFound, ValidationFailed
from srs.core.ids import parse_id
from srs.core.models import AuditEntry
from srs.extensions import db
from srs.privacy.models import Breach
from srs.regions.models import Region
from srs.registry.models import Client

NOTIFY_WITHIN = timedelta(hours=72)
# The language a letter is written in: the person's country's (clients record no language of their own).
COUNTRY_LOCALES = {"ID": "id", "VN": "vi"}
_MAX_DESCRIPTION = 4000


def _bad(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(_("Please correct the marked fields."), {field: [message]})


def _instant(value: Any, field: str) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise _bad(field, _("A date and time such as 2026-03-01T08:00.")) from None
    else:
        raise _bad(field, _("This field is required."))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=clock.timezone())
    return parsed


def record_breach(data: dict[str, Any], user: User) -> Breach:
    """An admin's record of a suspected breach (in the caller's transaction)."""
    description = data.get("description")
    if not isinstance(description, str) or not description.strip():
        raise _bad("description", _("Say what happened."))
    if len(description) > _MAX_DESCRIPTION:
        raise _bad("description", _("At most %(n)d characters.", n=_MAX_DESCRIPTION))
    discovered = _instant(data.get("discovered_at"), "discovered_at")
    start = _instant(data.get("window_start"), "window_start")
    end = _instant(data.get("window_end"), "window_end")
    if end <= start:
        raise _bad("window_end", _("The window must end after it starts."))
    if discovered > clock.now() + timedelta(minutes=5):
        raise _bad("discovered_at", _("Cannot be in the future."))
    account = None
    if data.get("account") is not None and not isinstance(data.get("account"), str):
        raise _bad("account", _("No such account."))
    account_name = (data.get("account") or "").strip()
    if account_name:
        account = db.session.scalar(select(User).where(User.username == account_name))
        if account is None:
            raise _bad("account", _("No such account."))
    export_action = data.get("export_action")
    if export_action is not None and (not isinstance(export_action, str) or len(export_action) > 60):
        raise _bad("export_action", _("Name an audit action such as report.export."))
    export_action = export_action.strip() or None if isinstance(export_action, str) else None
    if account is None and export_action is None:
        raise _bad("account", _("Name the compromised account or the kind of export."))
    breach = Breach(
        description=description.strip(),
        discovered_at=discovered,
        window_start=start,
        window_end=end,
        account_id=account.id if account else None,
        export_action=export_action,
        created_by_id=user.id,
        created_at=clock.now(),
    )
    db.session.add(breach)
    db.session.flush()
    audit.record("breach.record", "breach", breach.id, user=user, affected=len(affected_ids(breach)))
    return breach


def get_breach(raw_id: Any) -> Breach:
    pk = parse_id(raw_id)
    breach = db.session.get(Breach, pk) if pk is not None else None
    if breach is None:
        raise NotFound(_("No such breach."))
    return breach


def list_breaches() -> list[Breach]:
    return list(db.session.scalars(select(Breach).order_by(Breach.discovered_at.desc(), Breach.id.desc())))


def _ids_in(entry: AuditEntry) -> list[int]:
    found: list[int] = []
    if entry.object_type == "client" and entry.object_id and entry.object_id.isdigit():
        found.append(int(entry.object_id))
    shown = (entry.details or {}).get("ids")
    if entry.object_type == "client" and isinstance(shown, list):
        found += [int(i) for i in shown if isinstance(i, int) or (isinstance(i, str) and i.isdigit())]
    return found


def affected_ids(breach: Breach) -> list[int]:
    """Every client the breach may have exposed, from the audit trail of its window."""
    stmt = select(AuditEntry).where(
        AuditEntry.at >= breach.window_start,
        AuditEntry.at < breach.window_end,
        AuditEntry.object_type == "client",
    )
    if breach.account_id is not None:
        stmt = stmt.where(AuditEntry.user_id == breach.account_id)
    if breach.export_action:
        stmt = stmt.where(AuditEntry.action == breach.export_action)
    ids: set[int] = set()
    for entry in db.session.scalars(stmt.execution_options(yield_per=1000)):
        ids.update(_ids_in(entry))
    return sorted(ids)


def affected_clients(breach: Breach) -> list[Client]:
    ids = affected_ids(breach)
    clients: list[Client] = []
    for start in range(0, len(ids), 500):
        clients += db.session.scalars(select(Client).where(Client.id.in_(ids[start : start + 500])))
    return sorted(clients, key=lambda c: c.id)


@dataclass
class Countdown:
    deadline: datetime
    hours_left: float
    overdue: bool


def countdown(breach: Breach, now: datetime | None = None) -> Countdown:
    """The 3 x 24 hours from discovery within which the people and the authority must be told."""
    now = now or clock.now()
    deadline = breach.discovered_at + NOTIFY_WITHIN
    left = (deadline - now).total_seconds() / 3600
    done = breach.authority_notified_at is not None and breach.people_notified_at is not None
    return Countdown(deadline, round(left, 1), overdue=left < 0 and not done)


def _locale_of(client: Client, countries: dict[int, str]) -> str:
    return COUNTRY_LOCALES.get(countries.get(client.region_id, ""), "en")


def letters(breach: Breach) -> list[dict[str, Any]]:
    """One letter per person affected, in their country's language (erased records cannot be written to)."""
    clients = affected_clients(breach)
    region_ids = {c.region_id for c in clients}
    rows = db.session.execute(select(Region.id, Region.country).where(Region.id.in_(region_ids)))
    countries = {rid: country for rid, country in rows}
    found: list[dict[str, Any]] = []
    for client in clients:
        if client.anonymised_at is not None:
            continue
        locale = _locale_of(client, countries)
        with force_locale(locale):
            text = _(
                "Dear %(name)s,\n\n"
                "We are writing to tell you that your personal data held in the Single Referral System may "
                "have been seen by someone not entitled to it between %(start)s and %(end)s. "
                "We found this on %(found)s. The data concerned is your registration record "
                "(name, identity number, contact details, household and the programmes you were "
                "screened for or referred to).\n\n"
                "What we have done: the account or export concerned has been blocked and the matter "
                "reported to the supervisory authority.\n"
                "What you can do: be careful with calls or messages asking for your identity number or "
                "money in the name of a programme. You may ask us for a copy of your data, its correction "
                "or its erasure at any social protection office.\n\n"
                "Single Referral System office\n",
                name=client.full_name,
                start=breach.window_start.strftime("%Y-%m-%d %H:%M"),
                end=breach.window_end.strftime("%Y-%m-%d %H:%M"),
                found=breach.discovered_at.strftime("%Y-%m-%d %H:%M"),
            )
        found.append({"client_id": client.id, "locale": locale, "address": client.address, "text": text})
    return found


def authority_report(breach: Breach) -> dict[str, Any]:
    """The report to the supervisory authority: what, when, how many, what was done; no personal data."""
    clients = affected_clients(breach)
    clock_state = countdown(breach)
    by_region: dict[str, int] = {}
    codes = {rid: code for rid, code in db.session.execute(select(Region.id, Region.code))}
    for client in clients:
        key = codes.get(client.region_id, "?")
        by_region[key] = by_region.get(key, 0) + 1
    return {
        "breach_id": breach.id,
        "description": breach.description,
        "discovered_at": breach.discovered_at.isoformat(),
        "window": {"from": breach.window_start.isoformat(), "to": breach.window_end.isoformat()},
        "compromised_account": breach.account.username if breach.account else None,
        "export_action": breach.export_action,
        "people_affected": len(clients),
        "people_affected_by_region": by_region,
        "people_already_erased": sum(1 for c in clients if c.anonymised_at is not None),
        "data_categories": ["identity", "contact", "household", "socio-economic", "programme screening"],
        "notify_by": clock_state.deadline.isoformat(),
        "hours_left": clock_state.hours_left,
        "legal_basis": "UU 27/2022 art. 46; Law 91/2025/QH15 (breach notification)",
    }


def mark_notified(breach: Breach, who: str, user: User) -> Breach:
    """Record that the authority (``who="authority"``) or the people (``"people"``) have been told."""
    if who not in ("authority", "people"):
        raise _bad("who", _("Choose authority or people."))
    now = clock.now()
    if who == "authority":
        breach.authority_notified_at = breach.authority_notified_at or now
    else:
        breach.people_notified_at = breach.people_notified_at or now
    audit.record("breach.notified", "breach", breach.id, user=user, who=who)
    return breach


def breach_dict(breach: Breach) -> dict[str, Any]:
    state = countdown(breach)
    return {
        "id": breach.id,
        "description": breach.description,
        "discovered_at": breach.discovered_at.isoformat(),
        "window_start": breach.window_start.isoformat(),
        "window_end": breach.window_end.isoformat(),
        "account": breach.account.username if breach.account else None,
        "export_action": breach.export_action,
        "deadline": state.deadline.isoformat(),
        "hours_left": state.hours_left,
        "overdue": state.overdue,
        "people_affected": len(affected_ids(breach)),
        "authority_notified_at": breach.authority_notified_at.isoformat()
        if breach.authority_notified_at
        else None,
        "people_notified_at": breach.people_notified_at.isoformat() if breach.people_notified_at else None,
    }

"""What a referral delivery says: the webhook body, the cancellation notice, the e-mails and who gets them.

The delivery jobs (srs.referrals.jobs) decide when and by which channel; this module decides what
goes out, read at send time (the client's consent included), in each reader's language.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from srs.accounts.models import User
from srs.agencies.models import Agency
from srs.core.iso import iso
from srs.extensions import db
from srs.programmes.models import Programme
from srs.referrals import services as svc
from srs.referrals.models import Referral
from srs.regions.models import Region


def cancelled_referral(referral: Referral) -> dict[str, Any]:
    """The cancellation notice's referral: which one, and why; never the client."""
    programme = db.session.get_one(Programme, referral.programme_id)
    return {
        "id": referral.id,
        "programme_code": programme.code,
        "agency_code": programme.agency.code,
        "status": referral.status,
        "cancel_reason": referral.cancel_reason,
        "closed_at": iso(referral.closed_at),
        "client": None,
        "url": f"{current_app.config['BASE_URL']}/referrals/{referral.id}",
    }


# A recipient: an e-mail address and the language its reader chose (None: the default language).
Recipient = tuple[str, str | None]


def agency_recipients(agency: Agency) -> list[Recipient]:
    """The agency's active staff with an e-mail address, and its contact address."""
    staff = db.session.execute(
        select(User.email, User.locale).where(
            User.agency_id == agency.id,
            User.active.is_(True),
            User.role == "agency_staff",
            User.email.is_not(None),
        )
    )
    recipients: list[Recipient] = [(email, locale) for email, locale in staff if email]
    if agency.contact_email:
        recipients.append((agency.contact_email, None))
    return recipients


def supervisor_recipients(referral: Referral) -> list[Recipient]:
    """Supervisors whose regions cover the referral's region."""
    region = db.session.get_one(Region, referral.region_id)
    users = db.session.scalars(select(User).where(User.role == "supervisor", User.active.is_(True)))
    return [
        (u.email, u.locale)
        for u in users
        if u.email and any(region.path.startswith(p) for p in u.region_paths)
    ]


def by_language(recipients: list[Recipient]) -> dict[str, list[str]]:
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    groups: dict[str, set[str]] = {}
    for email, locale in recipients:
        groups.setdefault(locale or default, set()).add(email)
    return {locale: sorted(emails) for locale, emails in sorted(groups.items())}


def mail_text(channel: str, referral: Referral, programme: Programme, agency: Agency) -> tuple[str, str]:
    """Subject and body of a referral notice, in the language in force."""
    locale = str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])
    url = f"{current_app.config['BASE_URL']}/referrals/{referral.id}"
    values = {
        "id": referral.id,
        "programme": programme.name_in(locale),
        "code": programme.code,
        "agency": agency.name,
        "due": format_date(referral.due_at, "medium") if referral.due_at else "-",
        "url": url,
    }
    if channel == "cancellation":
        subject = _("[SRS] Referral #%(id)d to %(programme)s is cancelled", **values)
        text = _(
            "Referral #%(id)d to %(programme)s (%(code)s) is cancelled: the client withdrew their consent "
            "to share their data. Do not use or keep any of their data you received with it.\n"
            "SRS: %(url)s\n",
            **values,
        )
    elif channel == "escalation":
        subject = _("[SRS] Overdue referral #%(id)d to %(programme)s", **values)
        text = _(
            "Referral #%(id)d to %(programme)s (%(agency)s) was due on %(due)s and has no decision yet.\n"
            "Open it in SRS: %(url)s\n",
            **values,
        )
    else:
        subject = _("[SRS] New referral #%(id)d to %(programme)s", **values)
        text = _(
            "A client has been referred to %(programme)s (%(code)s).\n"
            "Referral #%(id)d, due %(due)s.\n"
            "Open it in SRS: %(url)s\n",
            **values,
        )
    return subject, text


def webhook_referral(referral: Referral) -> dict[str, Any]:
    """What the agency's system receives: the referral and only the client fields it shares.

    ``client`` is null when the client's consent does not (or no longer) cover the agency; the
    consent is read here, at send time.
    """
    programme = db.session.get_one(Programme, referral.programme_id)
    client_fields: dict[str, Any] | None = None
    shared = svc.shares_client_data(referral)
    if shared:
        client_fields = {}
        for name, _label, value in svc.shared_client_fields(referral):
            client_fields[name] = iso(value) if hasattr(value, "isoformat") else value
    return {
        "id": referral.id,
        "programme_code": programme.code,
        "agency_code": programme.agency.code,
        "status": "delivered",
        "created_at": iso(referral.created_at),
        "due_at": iso(referral.due_at),
        # The officer's note may speak of the person: withheld with the rest.
        "note": referral.note if shared else None,
        "consent_override_reason": referral.consent_override_reason,
        "client": client_fields,
        "url": f"{current_app.config['BASE_URL']}/referrals/{referral.id}",
    }

"""What a referral delivery says: the webhook body, the cancellation notice, the e-mails and who gets them.

The delivery jobs (srs.referrals.jobs) decide when and by which channel; this module decides what
goes out, read at send time (the client's consent included), in each reader's language.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import force_locale, format_date, format_decimal, get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from srs.accounts.models import User
from srs.agencies.models import Agency
from srs.core.iso import iso
from srs.extensions import db
from srs.programmes.estimates import estimate_as_dict
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


# The language of a country's agencies (a webhook's sentences; each e-mail is in its reader's language).
COUNTRY_LANGUAGE = {"ID": "id", "VN": "vi"}


def estimate_lines(referral: Referral) -> list[str]:
    """The referral's estimate in a few lines for an e-mail, in the language in force: what it costs,
    what the state pays, what the person pays, the sentences, and the rates' source and version.
    Nothing when the referral has none or the client's consent does not cover the agency (the
    figures speak of the person's income and poverty status)."""
    estimate = referral.estimate
    if not estimate or not svc.shares_client_data(referral):
        return []
    data = estimate_as_dict(estimate)
    lines = [
        _(
            "Estimate: contribution %(amount)s %(currency)s a month; the state pays %(state)s; "
            "the person pays %(pays)s.",
            amount=format_decimal(data["contribution"]),
            currency=data["currency"],
            state=format_decimal(data["state_support"]),
            pays=format_decimal(data["client_pays"]),
        )
    ]
    lines += [f"- {sentence}" for sentence in data["explanation"]]
    lines.append(
        _("Rates: %(source)s (version %(number)s)", source=data["source"], number=data["rate_version"] or "-")
    )
    return lines


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
        extra = estimate_lines(referral)
        if extra:
            text += "\n" + "\n".join(extra) + "\n"
    return subject, text


def webhook_referral(referral: Referral) -> dict[str, Any]:
    """What the agency's system receives: the referral, only the client fields it shares, and the
    estimate the person was shown (with its rate version).

    ``client`` and ``estimate`` are null when the client's consent does not (or no longer) cover the
    agency; the consent is read here, at send time.
    """
    programme = db.session.get_one(Programme, referral.programme_id)
    client_fields: dict[str, Any] | None = None
    estimate: dict[str, Any] | None = None
    shared = svc.shares_client_data(referral)
    if shared:
        client_fields = {}
        for name, _label, value in svc.shared_client_fields(referral):
            client_fields[name] = iso(value) if hasattr(value, "isoformat") else value
        if referral.estimate:
            # The sentences in the language of the agency's country (the webhook has no reader's choice).
            with force_locale(COUNTRY_LANGUAGE.get(programme.agency.country, "en")):
                estimate = estimate_as_dict(referral.estimate)
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
        # What the person was shown it would cost (null with the client's data, or when none was given).
        "estimate": estimate,
        "url": f"{current_app.config['BASE_URL']}/referrals/{referral.id}",
    }

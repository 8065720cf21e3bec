"""Agencies: create, change, list.

Services never commit: the request (or the job) commits at its edge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from srs.agencies.models import DELIVERY_CHANNELS, Agency
from srs.core import audit, outbound
from srs.core.errors import ValidationFailed
from srs.core.lengths import check_length
from srs.extensions import db

CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9\-_.]{1,39}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# How the public reaches the agency (the letter shows them).
PUBLIC_FIELDS = ("address", "public_phone", "public_email", "opening_hours")


@dataclass
class AgencyInput:
    code: str
    name: str
    country: str
    contact_email: str | None = None
    contact_phone: str | None = None
    address: str | None = None
    public_phone: str | None = None
    public_email: str | None = None
    opening_hours: str | None = None
    channel: str = "inbox"
    webhook_url: str | None = None
    webhook_secret: str | None = None  # None keeps the stored secret
    response_days: int | None = 10
    active: bool = True


def _agency_errors(data: AgencyInput, existing: Agency | None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not CODE_PATTERN.match(data.code or ""):
        errors["code"] = [_("Use 2-40 capital letters, digits, dashes or dots (e.g. BPJSTK).")]
    else:
        other = db.session.scalar(select(Agency).where(Agency.code == data.code))
        if other is not None and other is not existing:
            errors["code"] = [_("Another agency already has the code %(code)s.", code=data.code)]
    if not (data.name or "").strip():
        errors["name"] = [_("Give the agency's name.")]
    if not re.match(r"^[A-Z]{2}$", data.country or ""):
        errors["country"] = [_("The country is a two-letter code such as ID or VN.")]
    if data.channel not in DELIVERY_CHANNELS:
        errors["channel"] = [_("Choose how referrals reach the agency.")]
    if data.contact_email and not EMAIL_PATTERN.match(data.contact_email):
        errors["contact_email"] = [_("This is not an e-mail address.")]
    if data.public_email and not EMAIL_PATTERN.match(data.public_email):
        errors["public_email"] = [_("This is not an e-mail address.")]
    if data.channel == "email" and not data.contact_email:
        errors["contact_email"] = [_("Referrals by e-mail need the agency's e-mail address.")]
    if data.channel == "webhook" and not re.match(r"^https?://[^\s/]+", data.webhook_url or ""):
        errors["webhook_url"] = [_("Give the webhook's address, starting with https://.")]
    elif data.webhook_url:
        # The outbound guard's verdict now, with its reason; it checks again at every delivery.
        try:
            outbound.check_url(data.webhook_url)
        except outbound.OutboundRefused as exc:
            errors["webhook_url"] = [exc.message]
    if data.channel == "webhook":
        has_secret = data.webhook_secret or (existing is not None and existing.webhook_secret)
        if not has_secret:
            errors["webhook_secret"] = [
                _("A webhook needs a secret to sign its messages (16 characters or more).")
            ]
        elif data.webhook_secret is not None and len(data.webhook_secret) < 16:
            errors["webhook_secret"] = [_("The secret must have at least 16 characters.")]
    if data.response_days is None or not 1 <= data.response_days <= 90:
        errors["response_days"] = [_("The response deadline is 1 to 90 working days.")]
    too_long: dict[str, list[str]] = {}
    for name in (
        "name",
        "contact_email",
        "contact_phone",
        "address",
        "public_phone",
        "public_email",
        "opening_hours",
        "webhook_url",
        "webhook_secret",
    ):
        check_length(getattr(data, name), getattr(Agency, name), name, too_long)
    errors.update(too_long)  # the length is the first thing to fix in those fields
    return errors


def save_agency(data: AgencyInput, agency: Agency | None = None) -> Agency:
    """Create or update an agency; ValidationFailed lists every problem."""
    data.code = (data.code or "").strip().upper()
    data.country = (data.country or "").strip().upper()
    errors = _agency_errors(data, agency)
    if errors:
        raise ValidationFailed(_("The agency could not be saved."), errors)
    created = agency is None
    if agency is None:
        agency = Agency(code=data.code)
    agency.code = data.code
    agency.name = data.name.strip()
    agency.country = data.country
    agency.contact_email = data.contact_email or None
    agency.contact_phone = data.contact_phone or None
    for name in PUBLIC_FIELDS:
        setattr(agency, name, (getattr(data, name) or "").strip() or None)
    agency.channel = data.channel
    agency.webhook_url = data.webhook_url or None
    if data.webhook_secret:
        agency.webhook_secret = data.webhook_secret
    agency.response_days = int(data.response_days or 10)
    agency.active = data.active
    db.session.add(agency)
    db.session.flush()
    audit.record("agency.create" if created else "agency.update", "agency", agency.id, code=agency.code)
    return agency


def list_agencies(country: str | None = None) -> list[Agency]:
    stmt = select(Agency).order_by(Agency.country, Agency.code)
    if country:
        stmt = stmt.where(Agency.country == country)
    return list(db.session.scalars(stmt))

"""Partner systems and their DCI profiles: what each may ask SRS and where it is called back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from srs.accounts import services as accounts
from srs.accounts.models import User
from srs.core import audit, outbound
from srs.core.errors import ValidationFailed
from srs.dci import signing
from srs.dci.models import DciPartner
from srs.dci.vocabulary import (
    ATTRIBUTES,
    ID_TYPES,
    RECORD_FIELDS,
)
from srs.extensions import db


def partner_for(user: User) -> DciPartner | None:
    """The DCI profile of a signed-in partner account, or None."""
    if user is None or getattr(user, "role", None) != "partner":
        return None
    return db.session.scalar(select(DciPartner).where(DciPartner.user_id == user.id))


@dataclass
class PartnerInput:
    username: str
    name: str
    sender_id: str
    id_types: list[str]
    attributes: list[str]
    record_fields: list[str]
    callback_bases: list[str]
    public_key: str | None
    password: str | None = None
    active: bool = True


def _check_base(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return _("%(url)s is not an http(s) address.", url=url)
    if parts.username or parts.password or parts.query or parts.fragment:
        return _("%(url)s must not carry a user name, a query or a fragment.", url=url)
    if parts.scheme == "http" and current_app.config.get("PRODUCTION"):
        return _("In production a callback address must use https: %(url)s", url=url)
    if not url.endswith("/"):
        return _("A callback base ends with a slash: %(url)s/", url=url)
    try:
        # The guard checks again at every callback (the name may point elsewhere by then).
        outbound.check_url(url)
    except outbound.OutboundRefused as exc:
        return f"{url}: {exc.message}"
    return None


def _validate_partner(data: PartnerInput, errors: dict[str, list[str]]) -> None:
    if not data.name.strip():
        errors.setdefault("name", []).append(_("A name is required."))
    sender = data.sender_id.strip()
    if not sender or len(sender) > 120 or any(ch.isspace() for ch in sender):
        errors.setdefault("sender_id", []).append(_("A sender id of 1 to 120 characters, without spaces."))
    for name, values, known in (
        ("id_types", data.id_types, ID_TYPES),
        ("attributes", data.attributes, ATTRIBUTES),
        ("record_fields", data.record_fields, RECORD_FIELDS),
    ):
        unknown = [v for v in values if v not in known]
        if unknown:
            errors.setdefault(name, []).append(_("Unknown: %(values)s", values=", ".join(unknown)))
    if not data.callback_bases:
        errors.setdefault("callback_bases", []).append(_("Give at least one callback base address."))
    for url in data.callback_bases:
        problem = _check_base(url)
        if problem:
            errors.setdefault("callback_bases", []).append(problem)
    if data.public_key:
        try:
            signing.load_public_key(data.public_key)
        except ValueError:
            errors.setdefault("public_key", []).append(
                _("Not an Ed25519 public key (PEM, JWK or base64 of its 32 bytes).")
            )


def _sender_taken(sender: str, exclude: int | None) -> bool:
    stmt = select(DciPartner.id).where(DciPartner.sender_id == sender)
    if exclude is not None:
        stmt = stmt.where(DciPartner.id != exclude)
    return db.session.scalar(stmt) is not None


def create_partner(data: PartnerInput) -> DciPartner:
    """A partner account (role ``partner``) and its DCI profile; raises ValidationFailed or Conflict."""
    errors: dict[str, list[str]] = {}
    _validate_partner(data, errors)
    if _sender_taken(data.sender_id.strip(), None):
        errors.setdefault("sender_id", []).append(_("Another partner uses this sender id."))
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    user = accounts.create_user(
        accounts.UserInput(
            username=data.username,
            full_name=data.name,
            email=None,
            role="partner",
            region_codes=[],
            agency_code=None,
            password=data.password,
            active=data.active,
        )
    )
    partner = DciPartner(user=user, name=data.name.strip(), sender_id=data.sender_id.strip())
    _apply(partner, data)
    db.session.add(partner)
    db.session.flush()
    audit.record("dci_partner.create", "dci_partner", partner.id, **_profile(partner))
    return partner


def update_partner(partner: DciPartner, data: PartnerInput) -> DciPartner:
    """Change a partner's profile; deactivating its account ends its tokens."""
    errors: dict[str, list[str]] = {}
    _validate_partner(data, errors)
    if _sender_taken(data.sender_id.strip(), partner.id):
        errors.setdefault("sender_id", []).append(_("Another partner uses this sender id."))
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    before = _profile(partner)
    partner.name = data.name.strip()
    partner.sender_id = data.sender_id.strip()
    partner.user.full_name = partner.name
    _apply(partner, data)
    if partner.user.active and not data.active:
        accounts.revoke_all_access(partner.user)
    partner.user.active = data.active
    audit.record("dci_partner.update", "dci_partner", partner.id, before=before, after=_profile(partner))
    return partner


def _apply(partner: DciPartner, data: PartnerInput) -> None:
    partner.id_types = [t for t in ID_TYPES if t in data.id_types]
    partner.attributes = [a for a in ATTRIBUTES if a in data.attributes]
    partner.record_fields = [f for f in RECORD_FIELDS if f in data.record_fields]
    partner.callback_bases = list(dict.fromkeys(data.callback_bases))
    partner.public_key = (data.public_key or "").strip() or None


def _profile(partner: DciPartner) -> dict[str, Any]:
    return {
        "sender_id": partner.sender_id,
        "id_types": partner.id_types,
        "attributes": partner.attributes,
        "record_fields": partner.record_fields,
        "callback_bases": partner.callback_bases,
        "signed": bool(partner.public_key),
    }


def list_partners() -> list[DciPartner]:
    return list(db.session.scalars(select(DciPartner).order_by(DciPartner.name)))

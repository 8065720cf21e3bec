"""The national registries SRS asks as a DCI client: saving one, checked as an administrator types it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from srs.accounts.models import User
from srs.core import audit
from srs.core.errors import ValidationFailed
from srs.core.outbound import OutboundRefused, check_url, current_policy
from srs.dci import signing
from srs.dci.models import NationalRegistry
from srs.extensions import db


@dataclass
class RegistryInput:
    kind: str
    name: str
    country: str
    base_url: str
    receiver_id: str
    auth_token: str | None  # None or empty: keep the saved one
    public_key: str | None
    timeout_seconds: float
    answers_async: bool
    active: bool


def list_registries() -> list[NationalRegistry]:
    return list(
        db.session.scalars(select(NationalRegistry).order_by(NationalRegistry.kind, NationalRegistry.name))
    )


def _errors(data: RegistryInput) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    try:
        check_url(data.base_url, current_policy(), resolve_host=False)
    except OutboundRefused as exc:
        errors["base_url"] = [exc.message]
    if data.public_key:
        try:
            signing.load_public_key(data.public_key)
        except ValueError:
            errors["public_key"] = [_("Not an Ed25519 public key (PEM, or 32 bytes in base64url).")]
    return errors


def save_registry(row: NationalRegistry | None, data: RegistryInput, user: User) -> NationalRegistry:
    """Create (``row`` None) or change a registry; ValidationFailed (422) for an address or key refused.

    A new registry gets its secret callback token here, once; it never changes afterwards.
    """
    errors = _errors(data)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    created = row is None
    if row is None:
        row = NationalRegistry(inbound_token=secrets.token_urlsafe(24))
        db.session.add(row)
    row.kind, row.name, row.country = data.kind, data.name, data.country
    row.base_url, row.receiver_id = data.base_url, data.receiver_id
    if data.auth_token:
        row.auth_token = data.auth_token
    row.public_key = data.public_key or None
    row.timeout_seconds = data.timeout_seconds
    row.answers_async, row.active = data.answers_async, data.active
    db.session.flush()
    audit.record("dci.registry_saved", "dci_registry", row.id, user=user, created=created)
    return row

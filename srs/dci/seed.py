"""Demo data: the partner system ``partner.dci``, allowed every Social Registry query."""

from __future__ import annotations

import os

from sqlalchemy import select

from srs.accounts.models import User
from srs.dci import partners
from srs.dci.vocabulary import ATTRIBUTES, ID_TYPES, RECORD_FIELDS
from srs.extensions import db

DEMO_PARTNER = "partner.dci"


def seed_partner(password: str) -> list[str]:
    """Create ``partner.dci`` (demo password) with every identifier type, attribute and record field."""
    if db.session.scalar(select(User).where(User.username == DEMO_PARTNER)) is None:
        base = os.environ.get("SRS_DCI_DEMO_CALLBACK_BASE", "http://127.0.0.1:3336/")
        partners.create_partner(
            partners.PartnerInput(
                username=DEMO_PARTNER,
                name="Demo partner system (DCI)",
                sender_id=DEMO_PARTNER,
                id_types=list(ID_TYPES),
                attributes=list(ATTRIBUTES),
                record_fields=list(RECORD_FIELDS),
                callback_bases=[base],
                public_key=None,
                password=password,
            )
        )
    return [f"  {DEMO_PARTNER:<16} partner (DCI Social Registry, callbacks to http://127.0.0.1:3336/)"]

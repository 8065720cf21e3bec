"""Probable duplicates: the same ID number, or the same person registered twice.

Found when a client is registered or edited; the review queue and the merge are in merge.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import and_, or_, select

from srs.accounts.models import User
from srs.core.errors import Conflict
from srs.extensions import db
from srs.regions.models import Region
from srs.regions.scope import region_id_condition, region_in_scope, sees_everything
from srs.regions.services import district_path
from srs.registry.models import Client, DuplicateCandidate


class DuplicateId(Conflict):
    """The (id_type, id_number) pair is already registered."""

    def __init__(self, detail: str, existing_id: int | None) -> None:
        super().__init__(detail, {"id_number": [detail]})
        self.existing_id = existing_id


@dataclass
class PossibleDuplicate:
    client: Client
    reason: str  # name_birth_district | phone


def _id_taken(id_type: str, id_number: str | None, exclude_id: int | None = None) -> Client | None:
    if id_type == "none" or not id_number:
        return None
    stmt = select(Client).where(Client.id_type == id_type, Client.id_number == id_number)
    if exclude_id is not None:
        stmt = stmt.where(Client.id != exclude_id)
    return db.session.scalar(stmt)


def _raise_duplicate_id(existing: Client, user: User) -> None:
    if region_in_scope(existing.region, user):
        detail = _(
            "This ID number is already registered: client #%(id)d, %(name)s.",
            id=existing.id,
            name=existing.full_name,
        )
        raise DuplicateId(detail, existing.merged_into_id or existing.id)
    raise DuplicateId(_("This ID number is already registered to another client."), None)


def find_probable_duplicates(
    name_key: str, birth_date: date, region: Region, phone: str | None, exclude_id: int | None = None
) -> list[PossibleDuplicate]:
    """Clients with the same folded name and birth date in the same district, or the same phone."""
    in_district = select(Region.id).where(Region.path.startswith(district_path(region), autoescape=True))
    conditions = [
        and_(
            Client.name_key == name_key,
            Client.date_of_birth == birth_date,
            Client.region_id.in_(in_district),
        )
    ]
    if phone:
        conditions.append(Client.phone == phone)
    stmt = select(Client).where(Client.merged_into_id.is_(None), or_(*conditions)).order_by(Client.id)
    if exclude_id is not None:
        stmt = stmt.where(Client.id != exclude_id)
    found = []
    for other in db.session.scalars(stmt.limit(50)):
        same_name = other.name_key == name_key and other.date_of_birth == birth_date
        found.append(PossibleDuplicate(other, "name_birth_district" if same_name else "phone"))
    return found


def _flag_duplicates(client: Client, duplicates: list[PossibleDuplicate]) -> None:
    if not duplicates:
        return
    existing = {
        (a, b)
        for a, b in db.session.execute(
            select(DuplicateCandidate.client_id, DuplicateCandidate.other_client_id).where(
                or_(
                    DuplicateCandidate.client_id == client.id, DuplicateCandidate.other_client_id == client.id
                )
            )
        )
    }
    for dup in duplicates:
        pair = (client.id, dup.client.id)
        if pair in existing or pair[::-1] in existing:
            continue
        db.session.add(
            DuplicateCandidate(client_id=client.id, other_client_id=dup.client.id, reason=dup.reason)
        )
    client.needs_review = True


def visible_duplicates(duplicates: list[PossibleDuplicate], user: User) -> list[PossibleDuplicate]:
    """Only the candidates the user may see are shown to them (the review queue sees them all)."""
    return [d for d in duplicates if region_in_scope(d.client.region, user)]


def review_flags(clients: Iterable[Client], user: User) -> set[int]:
    """Ids of those of ``clients`` whose "possible duplicate" flag ``user`` may be shown.

    The stored flag says a pair is waiting in the review queue, whoever may see its other record. Shown
    to an officer when the only match lies outside their area, it would tell them that a matching
    person is registered elsewhere: so a flag is shown only where an open pair's other record is in the
    user's scope too (the supervisor covering both sees it in the review queue either way).
    """
    flagged = {c.id for c in clients if c.needs_review}
    if not flagged or sees_everything(user):
        return flagged
    pairs = db.session.execute(
        select(DuplicateCandidate.client_id, DuplicateCandidate.other_client_id).where(
            DuplicateCandidate.status == "open",
            or_(DuplicateCandidate.client_id.in_(flagged), DuplicateCandidate.other_client_id.in_(flagged)),
        )
    ).all()
    people = {x for pair in pairs for x in pair}
    visible = set(
        db.session.scalars(
            select(Client.id).where(Client.id.in_(people), region_id_condition(Client.region_id, user))
        )
    )
    return {
        cid
        for cid in flagged
        if any((a == cid and b in visible) or (b == cid and a in visible) for a, b in pairs)
    }

"""The review queue of probable duplicates, and merging two records of one person."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from srs.accounts.models import User
from srs.core import audit, clock
from srs.core.errors import Conflict, NotFound
from srs.core.pagination import Page, paginate
from srs.core.transaction import changed_rows
from srs.extensions import db
from srs.regions.scope import region_id_condition, region_in_scope
from srs.registry import consent, fields, households
from srs.registry.fields import client_fields
from srs.registry.models import Client, ClientName, DuplicateCandidate
from srs.registry.services import client_is_visible


def review_queue(user: User, page: int, per_page: int) -> Page[DuplicateCandidate]:
    """Open probable-duplicate pairs where the user may see both clients."""
    a, b = aliased(Client), aliased(Client)
    stmt = (
        select(DuplicateCandidate)
        .join(a, DuplicateCandidate.client_id == a.id)
        .join(b, DuplicateCandidate.other_client_id == b.id)
        .where(
            DuplicateCandidate.status == "open",
            region_id_condition(a.region_id, user),
            region_id_condition(b.region_id, user),
        )
        .order_by(DuplicateCandidate.created_at, DuplicateCandidate.id)
    )
    return paginate(stmt, page, per_page)


def get_candidate(candidate_id: Any, user: User) -> DuplicateCandidate:
    try:
        pk = int(candidate_id)
    except (TypeError, ValueError) as exc:
        raise NotFound() from exc
    candidate = db.session.get(DuplicateCandidate, pk)
    if (
        candidate is None
        or not region_in_scope(candidate.client.region, user)
        or not region_in_scope(candidate.other_client.region, user)
    ):
        raise NotFound()
    return candidate


def _settle_review_flag(client: Client) -> None:
    still_open = db.session.scalar(
        select(func.count())
        .select_from(DuplicateCandidate)
        .where(
            DuplicateCandidate.status == "open",
            or_(DuplicateCandidate.client_id == client.id, DuplicateCandidate.other_client_id == client.id),
        )
    )
    client.needs_review = bool(still_open)


def open_pairs_of(client: Client, user: User) -> list[DuplicateCandidate]:
    """Open probable-duplicate pairs that involve the client (for its profile)."""
    pairs = db.session.scalars(
        select(DuplicateCandidate)
        .where(
            DuplicateCandidate.status == "open",
            or_(DuplicateCandidate.client_id == client.id, DuplicateCandidate.other_client_id == client.id),
        )
        .order_by(DuplicateCandidate.id)
    )
    return [p for p in pairs if client_is_visible(p.client, user) and client_is_visible(p.other_client, user)]


def mark_distinct(candidate: DuplicateCandidate, user: User) -> None:
    """The two records are different people: close the pair and clear the flags it caused."""
    if candidate.status != "open":
        raise Conflict(_("This pair was already decided."))
    candidate.status = "distinct"
    candidate.resolved_at = clock.now()
    candidate.resolved_by_id = user.id
    db.session.flush()
    for c in (candidate.client, candidate.other_client):
        _settle_review_flag(c)
    audit.record(
        "client.duplicate_distinct",
        "client",
        candidate.client_id,
        user=user,
        other_client_id=candidate.other_client_id,
    )


def client_foreign_keys() -> list[tuple[Any, Any]]:
    """Every (table, column) in the schema that points at clients.id, other features' included.

    Not client_names: the search copy of a client's own name, which the merge removes (by trigger)
    rather than moving to the kept record.
    """
    clients = db.metadata.tables["clients"]
    found = []
    for table in db.metadata.sorted_tables:
        if table is ClientName.__table__:
            continue
        for fk in table.foreign_keys:
            if fk.column is clients.c.id and not (table is clients and fk.parent.name == "merged_into_id"):
                found.append((table, fk.parent))
    return found


def _take_missing_facts(keep: Client, duplicate: Client) -> list[str]:
    """Each field's merge rule (srs/registry/fields.py): what ``keep`` takes from the duplicate."""
    filled: list[str] = []
    for f in client_fields():
        if f.merge == fields.ID and f.type == "id_number":
            if keep.id_type == "none" and duplicate.id_type != "none":
                # The number is unique: free it on the duplicate before the kept record takes it.
                moved_id = (duplicate.id_type, duplicate.id_number)
                duplicate.id_type, duplicate.id_number, duplicate.needs_id_followup = "none", None, True
                db.session.flush()
                keep.id_type, keep.id_number, keep.needs_id_followup = moved_id[0], moved_id[1], False
                filled.append(f.name)
        elif f.merge == fields.FILL:
            mine, theirs = f.read(keep), f.read(duplicate)
            if f.is_empty(mine) and not f.is_empty(theirs):
                f.write(keep, theirs)
                filled.append(f.name)
        elif f.merge == fields.UNION:
            items = list(f.read(keep) or [])
            items += [item for item in f.read(duplicate) or [] if item not in items]
            f.write(keep, items)
        # fields.CONSENT: through its records, in merge_clients (srs/registry/consent.py merge_into).
    return filled


@dataclass
class Merged:
    """The kept client, and what the merge did to the households (None: no household involved)."""

    client: Client
    households: dict[str, Any] | None = None


def merge_clients(keep: Client, duplicate: Client, user: User) -> Merged:
    """Fold ``duplicate`` into ``keep``: every record pointing at the duplicate now points at ``keep``.

    Screenings, referrals, notes and whatever other features add follow the foreign keys, found
    generically in the schema. Household memberships are settled first so the person is a member
    of one household, once (households.merge_households). Facts ``keep`` lacks are taken from the
    duplicate; the duplicate stays (marked merged) so its audit history remains readable from ``keep``.
    """
    if keep.id == duplicate.id:
        raise Conflict(_("A client cannot be merged into itself."))
    if keep.merged_into_id or duplicate.merged_into_id:
        raise Conflict(_("One of these clients was already merged."))
    households.check_merge(keep, duplicate)
    filled = _take_missing_facts(keep, duplicate)
    consent_change = consent.merge_into(keep, duplicate, user)
    if consent_change is not None:
        filled.append(consent_change)
    db.session.flush()
    household_details = households.merge_households(keep, duplicate, user)

    # Pairs between the two are settled by the merge itself; delete them before repointing.
    db.session.execute(
        update(DuplicateCandidate)
        .where(
            or_(
                and_(
                    DuplicateCandidate.client_id == duplicate.id,
                    DuplicateCandidate.other_client_id == keep.id,
                ),
                and_(
                    DuplicateCandidate.client_id == keep.id,
                    DuplicateCandidate.other_client_id == duplicate.id,
                ),
            )
        )
        .values(status="merged", resolved_at=clock.now(), resolved_by_id=user.id)
    )
    moved: dict[str, int] = {}
    for table, column in client_foreign_keys():
        if table.name == "client_duplicates":
            continue
        try:
            changed = changed_rows(
                table.update().where(column == duplicate.id).values({column.name: keep.id})
            )
        except IntegrityError as exc:
            # Another feature's rule (say, one open referral per client and programme) would be
            # broken by the merge: nothing is changed; the records must be sorted out first.
            raise Conflict(
                _(
                    "These records cannot be merged automatically: both have %(what)s that may exist "
                    "only once per client. Close one of them first.",
                    what=table.name,
                )
            ) from exc
        if changed:
            moved[f"{table.name}.{column.name}"] = changed
    # Open pairs of the duplicate with third clients move to the kept client.
    for pair in db.session.scalars(
        select(DuplicateCandidate).where(
            DuplicateCandidate.status == "open",
            or_(
                DuplicateCandidate.client_id == duplicate.id,
                DuplicateCandidate.other_client_id == duplicate.id,
            ),
        )
    ):
        other = pair.other_client_id if pair.client_id == duplicate.id else pair.client_id
        already = db.session.scalar(
            select(DuplicateCandidate.id).where(
                or_(
                    and_(
                        DuplicateCandidate.client_id == keep.id, DuplicateCandidate.other_client_id == other
                    ),
                    and_(
                        DuplicateCandidate.client_id == other, DuplicateCandidate.other_client_id == keep.id
                    ),
                )
            )
        )
        if already:
            pair.status, pair.resolved_at, pair.resolved_by_id = "merged", clock.now(), user.id
        elif pair.client_id == duplicate.id:
            pair.client_id = keep.id
        else:
            pair.other_client_id = keep.id
    duplicate.merged_into_id = keep.id
    duplicate.needs_review = False
    db.session.flush()
    db.session.expire(keep, ["household"])
    _settle_review_flag(keep)
    audit.record(
        "client.merge",
        "client",
        keep.id,
        user=user,
        merged_client_id=duplicate.id,
        filled=filled,
        moved=moved,
        households=household_details,
    )
    audit.record(
        "client.merged_into",
        "client",
        duplicate.id,
        user=user,
        kept_client_id=keep.id,
        households=household_details,
    )
    return Merged(client=keep, households=household_details)

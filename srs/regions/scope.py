"""Access scoping, in one place: which regions and records the current user may reach.

Every query for clients, referrals and cases goes through these helpers. A record outside the
caller's scope is answered exactly like one that does not exist (404). They live with the regions,
not in core, because a scope is a set of regions: core depends on no feature.

Referrals, cases and complaints are scoped by the ``region_id`` they copy from their client; that
copy follows the client when it moves or is merged (srs.registry.region_copies re-stamps it in the
same flush), so scoping a record by its own region is scoping it by its client's current one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from flask_login import current_user
from sqlalchemy import ColumnElement, false, or_, select, true

from srs.core.actor import Actor
from srs.core.errors import NotFound
from srs.core.ids import parse_id
from srs.extensions import db
from srs.regions import policies
from srs.regions.models import Region

T = TypeVar("T")


def _user(user: Actor | None = None) -> Any:
    return user if user is not None else current_user


def sees_everything(user: Any = None) -> bool:
    """Admins configure and see all records (``regions.policies.sees_everything``)."""
    return policies.sees_everything(_user(user))


def region_paths(user: Actor | None = None) -> list[str]:
    u = _user(user)
    if not (u and u.is_authenticated):
        return []
    paths: list[str] = u.region_paths
    return paths


def region_path_condition(path_column: Any, user: Actor | None = None) -> ColumnElement[bool]:
    """SQL condition: ``path_column`` (a Region.path) lies in one of the user's regions."""
    if sees_everything(user):
        return true()
    paths = region_paths(user)
    if not paths:
        return false()
    return or_(*[path_column.startswith(p, autoescape=True) for p in paths])


def region_id_condition(region_id_column: Any, user: Actor | None = None) -> ColumnElement[bool]:
    """SQL condition: a record's region (by id) lies in the user's regions (or below)."""
    if sees_everything(user):
        return true()
    paths = region_paths(user)
    if not paths:
        return false()
    condition: ColumnElement[bool] = region_id_column.in_(
        select(Region.id).where(region_path_condition(Region.path, user))
    )
    return condition


def region_in_scope(region: Region | None, user: Actor | None = None) -> bool:
    """True when ``region`` lies within the user's regions (admins: always)."""
    if region is None:
        return False
    if sees_everything(user):
        return True
    return any(region.path.startswith(p) for p in region_paths(user))


def scoped_regions(user: Actor | None = None) -> list[Region]:
    """The regions a user may choose from, in hierarchy order."""
    stmt = select(Region).where(region_path_condition(Region.path, user)).order_by(Region.path)
    return list(db.session.scalars(stmt))


def load_in_scope(
    model: type[T],
    record_id: Any,
    user: Any = None,
    *,
    scope: ColumnElement[bool] | None = None,
    where: Iterable[ColumnElement[bool]] = (),
    message: str | None = None,
    options: Iterable[Any] = (),
) -> T:
    """The one loader: ``model`` by primary key if it lies in ``user``'s scope, else ``NotFound`` (404).

    ``record_id`` may be anything a URL, a form or JSON carries; one that is not a record id (text,
    a negative number, a number past every id column) names no record, like one outside the scope:
    404, never a 500. ``scope`` is the aggregate's scope condition (by default: its ``region_id`` lies
    in the user's regions); ``where`` adds conditions (a client's loader leaves merged-away records
    out); ``options`` are loader options (the relationships its callers read). Each aggregate has a
    thin loader beside it (``registry.services.load_client``,
    ``referrals.services.load_referral``, ``cases.services.load_case``...), all calling this one.
    """
    pk = parse_id(record_id)
    if pk is None:
        raise NotFound(message)
    if scope is None:
        scope = region_id_condition(model.region_id, user)  # type: ignore[attr-defined]
    mapper_pk = model.__mapper__.primary_key[0]  # type: ignore[attr-defined]
    obj = db.session.scalar(select(model).where(mapper_pk == pk, scope, *where).options(*options))
    if obj is None:
        raise NotFound(message)
    return obj

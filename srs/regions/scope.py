"""Access scoping, in one place: which regions and records the current user may reach.

Every query for clients, referrals and cases goes through these helpers. A record outside the
caller's scope is answered exactly like one that does not exist (404). They live with the regions,
not in core, because a scope is a set of regions: core depends on no feature.

Referrals, cases and complaints are scoped by the ``region_id`` they copy from their client; that
copy follows the client when it moves or is merged (srs.registry.region_copies re-stamps it in the
same flush), so scoping a record by its own region is scoping it by its client's current one.
"""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_login import current_user
from sqlalchemy import ColumnElement, false, or_, select, true

from srs.core.actor import Actor
from srs.extensions import db
from srs.regions.models import Region


def _user(user: Actor | None = None) -> Any:
    return user if user is not None else current_user


def sees_everything(user: Actor | None = None) -> bool:
    """Admins configure and see all records."""
    u = _user(user)
    return bool(u and u.is_authenticated and u.role == "admin")


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


def get_in_scope_or_404(model: Any, record_id: Any, condition: ColumnElement[bool]) -> Any:
    """Load ``model`` by primary key only if ``condition`` (a scope condition) holds, else 404."""
    try:
        pk = int(record_id)
    except (TypeError, ValueError):
        abort(404)
    mapper_pk = model.__mapper__.primary_key[0]
    obj = db.session.scalar(select(model).where(mapper_pk == pk).where(condition))
    if obj is None:
        abort(404)
    return obj

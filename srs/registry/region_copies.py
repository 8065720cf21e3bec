"""Records that copy their client's region follow the client: a move or a merge re-stamps them.

Referrals, cases and complaints about a client carry ``region_id`` copied from the client, so that
access scoping (srs.regions.scope), the escalations that look for the officers of a region and the
dashboard filter them by region without a join through clients. The copy is right only while it
equals the client's current region: when an admin moves a client to another district, the officers
of the old district must lose the client's referrals, case, tasks and complaints at once, and the
officers of the new one gain them; the same when a merge folds a duplicate from another district into
the kept record.

So, whatever path changes a client's region through the ORM (the API's PATCH, the edit form, a
merge marking the duplicate merged, a job), the ``before_flush`` listener below re-stamps every copy
in the same flush, before the client's own UPDATE:

* with plain UPDATEs, not through the ORM, so a referral's optimistic-lock ``version`` does not move:
  an agency deciding the referral meanwhile must not get a 409 because the client moved house;
* the report facts follow in the same transaction: the client is part of that flush, so the facts
  listener (srs.reports.facts, ``after_flush``) rebuilds the client's facts from the re-stamped rows
  and moves the monthly summaries by the difference.

Which tables: every table of the schema with a ``region_id`` column and a foreign key to clients.id
(so another feature's new table of that kind follows without being listed here), except
``client_names``, which a trigger keeps in step. A table with two foreign keys to clients and a
region would be ambiguous and is refused. ``tests/registry/test_region_copies.py`` puts every table
with a ``region_id`` in one of three kinds (the client, a copy that follows it, a record with a region
of its own) so that a new one is a decision, not an accident.
A bulk UPDATE of ``clients.region_id`` past the ORM is not seen: call ``restamp`` after it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Table, event, inspect, select
from sqlalchemy.orm import Mapper, Session

from srs.extensions import db
from srs.registry.models import Client, ClientName


def copy_tables() -> list[tuple[Table, Column[Any]]]:
    """(table, its column pointing at clients.id) of every table whose ``region_id`` copies the client's."""
    # Read on every flush: found once per schema (tables are added only while the models import).
    key = len(db.metadata.tables)
    if _found.get("key") != key:
        _found.update(key=key, tables=_find_copy_tables())
    return list(_found["tables"])


_found: dict[str, Any] = {}


def _find_copy_tables() -> list[tuple[Table, Column[Any]]]:
    clients = Client.__table__
    found: list[tuple[Table, Column[Any]]] = []
    for table in db.metadata.sorted_tables:
        if table is clients or table is ClientName.__table__ or "region_id" not in table.c:
            continue
        columns = [fk.parent for fk in table.foreign_keys if fk.column is clients.c.id]
        if len(columns) > 1:
            raise RuntimeError(f"{table.name}: a region_id and several clients; say which one it follows")
        if columns:
            found.append((table, columns[0]))
    return found


@dataclass(frozen=True)
class _Copy:
    """How one mapped class copies its client's region: the attribute names."""

    client: str
    client_relationships: tuple[str, ...]
    region: str
    relationships: tuple[str, ...]

    def client_id(self, obj: Any) -> int | None:
        """The client a copy belongs to, also when only its relationship was set so far."""
        value = getattr(obj, self.client)
        if value is None:
            for key in self.client_relationships:
                related = getattr(obj, key)
                if related is not None:
                    return int(related.id)
        return None if value is None else int(value)


def _copy_of(mapper: Mapper[Any], tables: set[Table]) -> _Copy | None:
    table = mapper.local_table
    if table not in tables:
        return None
    (client_column,) = [fk.parent for fk in table.foreign_keys if fk.column is Client.__table__.c.id]
    return _Copy(
        client=mapper.get_property_by_column(client_column).key,
        client_relationships=tuple(r.key for r in mapper.relationships if client_column in r.local_columns),
        region=mapper.get_property_by_column(table.c.region_id).key,
        relationships=tuple(r.key for r in mapper.relationships if table.c.region_id in r.local_columns),
    )


def restamp(session: Session, regions: dict[int, int]) -> None:
    """Give every copy of these clients (client id -> region id) that region, in the current
    transaction; objects already loaded forget the old value without being marked changed."""
    if not regions:
        return
    by_region: dict[int, list[int]] = defaultdict(list)
    for client_id, region_id in regions.items():
        by_region[region_id].append(client_id)
    tables = copy_tables()
    conn = session.connection()
    for table, column in tables:
        for region_id, client_ids in sorted(by_region.items()):
            conn.execute(
                table.update()
                .where(column.in_(sorted(client_ids)), table.c.region_id != region_id)
                .values(region_id=region_id)
            )
    table_set = {table for table, _column in tables}
    for obj in list(session.identity_map.values()):
        copy = _copy_of(inspect(obj).mapper, table_set)
        if copy is None:
            continue
        target = regions.get(getattr(obj, copy.client))
        if target is not None and getattr(obj, copy.region) != target:
            # Written by the UPDATE above: forget the old value (and the relationship built on it).
            session.expire(obj, [copy.region, *copy.relationships])


def _region_of(client: Client) -> int:
    """The region the client will have once this flush is written (the relationship may be newer)."""
    state = inspect(client)
    if state.attrs.region.history.added and client.region is not None:
        return client.region.id
    return client.region_id


def _moved(session: Session) -> dict[int, int]:
    """Clients of this flush whose copies must change: client id -> the region they must carry."""
    regions: dict[int, int] = {}
    for obj in session.dirty:
        if not isinstance(obj, Client) or obj.id is None:
            continue
        state = inspect(obj)
        if obj.merged_into_id is not None and state.attrs.merged_into_id.history.added:
            # Merged away: what the merge moved to the kept record takes the kept record's region.
            keep = session.get(Client, obj.merged_into_id)
            if keep is not None:
                regions[obj.id] = regions[keep.id] = _region_of(keep)
        elif state.attrs.region_id.history.has_changes() or state.attrs.region.history.has_changes():
            regions[obj.id] = _region_of(obj)
    return regions


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    moved = _moved(session)
    tables = {table for table, _column in copy_tables()}
    born: list[tuple[Any, _Copy, int]] = []
    for obj in session.new:
        copy = _copy_of(inspect(obj).mapper, tables)
        client_id = copy.client_id(obj) if copy is not None else None
        if copy is not None and client_id is not None:
            born.append((obj, copy, client_id))
    if not moved and not born:
        return
    # The clients' rows are locked first, in id order (as the facts' refresh locks them), then read.
    # A new copy then takes the region its client has in the database, even when its creator read
    # the client before a move committed; and a move waits for a copy being made to commit, so its
    # UPDATE below sees it. (PostgreSQL; SQLite writes one transaction at a time.)
    ids = sorted(set(moved) | {client_id for _obj, _copy, client_id in born})
    stored = dict(
        session.connection()
        .execute(
            select(Client.id, Client.region_id)
            .where(Client.id.in_(ids))
            .order_by(Client.id)
            .with_for_update()
        )
        .all()
    )
    for obj, copy, client_id in born:
        target = moved.get(client_id, stored.get(client_id))
        if target is not None and getattr(obj, copy.region) != target:
            _give_region(session, obj, copy, target)
    restamp(session, moved)


def _give_region(session: Session, obj: Any, copy: _Copy, region_id: int) -> None:
    """A copy not written yet is inserted with this region (and its relationship, if one was set,
    points at the same region: the flush would otherwise take the id from it)."""
    setattr(obj, copy.region, region_id)
    state = inspect(obj)
    for key in copy.relationships:
        if state.attrs[key].history.added:
            target_class = state.mapper.relationships[key].mapper.class_
            setattr(obj, key, session.get(target_class, region_id))


def install() -> None:
    """Listen to every session's flushes (idempotent)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)

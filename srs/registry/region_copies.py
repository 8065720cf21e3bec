"""Records that copy their client's region follow the client: a move or a merge re-stamps them.

Referrals, cases and complaints about a client carry ``region_id`` copied from the client, so that
access scoping (srs.core.scope), the escalations that look for the officers of a region and the
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
from typing import Any

from sqlalchemy import Column, Table, event, inspect
from sqlalchemy.orm import Session

from srs.extensions import db
from srs.registry.models import Client, ClientName


def copy_tables() -> list[tuple[Table, Column[Any]]]:
    """(table, its column pointing at clients.id) of every table whose ``region_id`` copies the client's."""
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


def restamp(session: Session, regions: dict[int, int]) -> None:
    """Give every copy of these clients (client id -> region id) that region, in the current
    transaction; objects already loaded are told the new value without being marked changed."""
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
    _sync_loaded(session, regions, {table for table, _column in tables})


def _sync_loaded(session: Session, regions: dict[int, int], tables: set[Table]) -> None:
    for obj in [*session.identity_map.values(), *session.new]:
        mapper = inspect(obj).mapper
        if mapper.local_table not in tables:
            continue
        table = mapper.local_table
        client_key = next(
            mapper.get_property_by_column(fk.parent).key
            for fk in table.foreign_keys
            if fk.column is Client.__table__.c.id
        )
        region_key = mapper.get_property_by_column(table.c.region_id).key
        target = regions.get(getattr(obj, client_key))
        if target is None or getattr(obj, region_key) == target:
            continue
        if obj in session.new:
            # Not written yet: it is inserted with the client's region.
            setattr(obj, region_key, target)
        else:
            # Written by the UPDATE above: forget the old value (and the relationship built on it).
            stale = [region_key] + [
                rel.key for rel in mapper.relationships if table.c.region_id in rel.local_columns
            ]
            session.expire(obj, stale)


def _region_of(client: Client) -> int:
    """The region the client will have once this flush is written (the relationship may be newer)."""
    state = inspect(client)
    if state.attrs.region.history.added and client.region is not None:
        return client.region.id
    return client.region_id


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
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
    restamp(session, regions)


def install() -> None:
    """Listen to every session's flushes (idempotent)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)

"""Bulk loading for the benchmarks' generators: load first, index after, as a data migration would.

At 10,000,000 clients, keeping ten secondary indexes on ``clients`` (and eight on ``referrals``) up to
date row by row, with a trigger and foreign-key checks on every row, costs most of the generation
time. ``deferred_indexes`` drops the tables' plain indexes (not primary keys or unique constraints)
for the duration of the block, turns off triggers and foreign-key checks for the transaction
(``session_replication_role = replica``: the generated rows are consistent by construction; needs a
superuser, which a scratch benchmark database has), and builds the indexes again afterwards, each
in one sort (``maintenance_work_mem``, parallel workers).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import text


@contextmanager
def deferred_indexes(session: Any, tables: list[str], schema: str = "public") -> Iterator[None]:
    """Drop ``tables``' plain indexes and skip triggers inside the block; rebuild them after it."""
    rows = session.execute(
        text("""
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = :schema AND i.tablename = ANY(:tables)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                          WHERE c.conindid = format('%I.%I', i.schemaname, i.indexname)::regclass)"""),
        {"schema": schema, "tables": tables},
    ).all()
    for name, _ in rows:
        session.execute(text(f'DROP INDEX "{schema}"."{name}"'))
    session.execute(text("SET LOCAL session_replication_role = replica"))
    yield
    session.execute(text("SET LOCAL session_replication_role = origin"))
    start = time.perf_counter()
    for _, definition in rows:
        session.execute(text(definition))
    print(f"{len(rows)} indexes built in {time.perf_counter() - start:.0f} s", flush=True)

"""The one rule for ages in the reports: the age reached during the calendar year.

A person's age in any report figure is ``year - birth_year``, the year being that of the day the
figure is taken on (the dashboard's today, coverage's as-of day): the age they reach, or reached,
on their birthday in that year. It is Eurostat's "age reached during the year" (age definition
"completed age at the end of the year"), a convention national statistics offices use for
population tables. It needs the birth year only: the report facts keep ``birth_year``, never the
exact date, so an erasure (which keeps the year, srs/privacy/erasure.py) moves no figure, and a
person changes age group on 1 January, not on their birthday.

The dashboard's filters and coverage's groups read the facts' ``birth_year``; the drill-down lists
and the counts read from the records put the same bounds on ``clients.date_of_birth`` (from 1 January
of the earliest year to 31 December of the latest), so both count the same people. Tests compute
their expected figures with ``age_reached`` / ``group_of`` too.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Integer, case, cast, func

Groups = Mapping[str, tuple[int, int | None]]


def age_reached(birth_year: int, on: date) -> int:
    """The age reached during the calendar year of ``on`` by someone born in ``birth_year``."""
    return on.year - birth_year


def group_of(birth_year: int, on: date, groups: Groups) -> str | None:
    """The group (of ``groups``: name -> lowest and highest age, None for no upper bound) of the age
    reached during the year of ``on``; None when no group holds it (born after ``on``'s year)."""
    age = age_reached(birth_year, on)
    for name, (low, high) in groups.items():
        if age >= low and (high is None or age <= high):
            return name
    return None


def birth_year_of(column: Any) -> Any:
    """The year of a birth-date column, as an integer, in SQL (what the facts copy from a client)."""
    return cast(func.extract("year", column), Integer)


def birth_years(low: int, high: int | None, on: date) -> tuple[int | None, int]:
    """The earliest (None: no limit) and latest birth year of ages ``low`` to ``high`` reached in
    the year of ``on``."""
    return (None if high is None else on.year - high), on.year - low


def birth_year_conditions(column: Any, low: int, high: int | None, on: date) -> list[ColumnElement[bool]]:
    """Conditions on an integer birth-year column (the facts): aged ``low`` to ``high`` in the year."""
    earliest, latest = birth_years(low, high, on)
    conds: list[ColumnElement[bool]] = [column <= latest]
    if earliest is not None:
        conds.append(column >= earliest)
    return conds


def birth_date_conditions(column: Any, low: int, high: int | None, on: date) -> list[ColumnElement[bool]]:
    """The same people by a birth-date column (the records): born in one of those years. A range on
    the date, so an index on it still serves."""
    earliest, latest = birth_years(low, high, on)
    conds: list[ColumnElement[bool]] = [column <= date(latest, 12, 31)]
    if earliest is not None:
        conds.append(column >= date(earliest, 1, 1))
    return conds


def group_case(column: Any, on: date, groups: Groups) -> Any:
    """The group name of each row's integer birth year, as SQL (groups in ascending order of age,
    the last one open-ended)."""
    names = list(groups)
    whens = []
    for name in names[:-1]:
        _low, high = groups[name]
        if high is None:
            raise ValueError("only the last age group may be open-ended")
        whens.append((column >= on.year - high, name))
    return case(*whens, else_=names[-1])

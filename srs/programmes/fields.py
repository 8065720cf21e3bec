"""The one field catalogue that eligibility rules may name.

Each field gives its type (which decides the operators), a label a person reads, a Python accessor
and an SQL expression. The accessor and the SQL expression must agree for every client, unknowns
included (``None`` in Python, NULL in SQL): tests/programmes/test_agreement.py holds them to it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, case, exists, extract, func, not_, null, or_, select
from sqlalchemy.orm import aliased

from srs.registry.models import POVERTY_STATUSES, WORK_STATUSES, Client, HouseholdMember

NUMBER, ENUM, TEXT, BOOL, REGION, LIST = "number", "enum", "text", "bool", "region", "list"

OPERATORS: dict[str, tuple[str, ...]] = {
    NUMBER: ("=", "!=", "<", "<=", ">", ">=", "between", "in", "not_in"),
    ENUM: ("=", "!=", "in", "not_in"),
    TEXT: ("=", "!=", "in", "not_in"),
    BOOL: ("=", "!="),
    REGION: ("in", "not_in"),
    LIST: ("contains", "not_contains"),
}

OPERATOR_LABELS = {
    "=": _l("is"),
    "!=": _l("is not"),
    "<": _l("is less than"),
    "<=": _l("is at most"),
    ">": _l("is more than"),
    ">=": _l("is at least"),
    "between": _l("is between"),
    "in": _l("is one of / lies in"),
    "not_in": _l("is none of / lies outside"),
    "contains": _l("includes"),
    "not_contains": _l("does not include"),
}


@dataclass
class Facts:
    """What the Python accessors read: the client, the screening date and the household members."""

    client: Any
    on: date
    members: list[Any] = field(default_factory=list)
    region_path: str | None = None
    # The person's enrolments in state-supported schemes, when read for many people at once
    # (estimates.supported_periods); None: read them when needed.
    supported_periods: list[tuple[date, date | None]] | None = None


def years_before(on: date, years: int) -> date:
    """The birth date of someone who turns ``years`` on ``on`` (29 February falls back to the 28th)."""
    try:
        return on.replace(year=on.year - years)
    except ValueError:
        return on.replace(year=on.year - years, day=28)


def age_on(born: date | None, on: date) -> int | None:
    if born is None:
        return None
    return on.year - born.year - (1 if (born.month, born.day) > (on.month, on.day) else 0)


def _age_compare_sql(op: str, value: Any, on: date) -> ColumnElement[Any]:
    """An age test as a test on the birth date: no per-row arithmetic, and an index can serve it."""
    born = Client.date_of_birth

    def at_least(years: float) -> ColumnElement[bool]:
        return born <= years_before(on, math.ceil(years))

    def at_most(years: float) -> ColumnElement[bool]:
        return born > years_before(on, math.floor(years) + 1)

    def exactly(years: float) -> ColumnElement[Any]:
        if float(years).is_integer():
            return and_(at_least(years), at_most(years))
        return case((born.is_(None), null()), else_=False)

    if op == ">=":
        return at_least(value)
    if op == ">":
        return at_least(math.floor(value) + 1)
    if op == "<=":
        return at_most(value)
    if op == "<":
        return at_most(math.ceil(value) - 1)
    if op == "between":
        return and_(at_least(value[0]), at_most(value[1]))
    if op == "=":
        return exactly(value)
    if op == "!=":
        return not_(exactly(value))
    if op == "in":
        return or_(*[exactly(v) for v in value])
    if op == "not_in":
        return not_(or_(*[exactly(v) for v in value]))
    raise ValueError(op)


def _age_sql(born: Any, on: date) -> ColumnElement[Any]:
    # The same arithmetic as age_on(): years apart, minus one before the birthday.
    month_day = extract("month", born) * 100 + extract("day", born)
    return (on.year - extract("year", born)) - case((month_day > on.month * 100 + on.day, 1), else_=0)


# Household facts ---------------------------------------------------------------------------------
# A fact is true when the client or any member shows it, unknown when the client has no household
# on record or a member's data is missing, and false otherwise.


def _member_fact(
    facts: Facts, client_has: bool | None, member_has: Callable[[Any], bool | None]
) -> bool | None:
    if client_has:
        return True
    answers = [member_has(m) for m in facts.members]
    if any(a is True for a in answers):
        return True
    if facts.client.household_id is None or any(a is None for a in answers) or client_has is None:
        return None
    return False


def _member_fact_sql(
    client_has: ColumnElement[bool] | None,
    member_has: Callable[[Any], ColumnElement[bool]],
    member_unknown: Callable[[Any], ColumnElement[bool]],
    client_unknown: ColumnElement[bool] | None = None,
) -> ColumnElement[Any]:
    member = aliased(HouseholdMember)
    same_household = member.household_id == Client.household_id
    any_true = exists(select(member.id).where(same_household, member_has(member)))
    any_unknown = exists(select(member.id).where(same_household, member_unknown(member)))
    whens: list[tuple[Any, Any]] = []
    if client_has is not None:
        whens.append((client_has, True))
    whens.append((any_true, True))
    whens.append((Client.household_id.is_(None), null()))
    whens.append((any_unknown, null()))
    if client_unknown is not None:
        whens.append((client_unknown, null()))
    return case(*whens, else_=False)


def _age_between(born: date | None, on: date, low: int | None, high: int | None) -> bool | None:
    """Is someone born on ``born`` aged ``low``..``high`` (inclusive; None = open) on ``on``?"""
    if born is None:
        return None
    if low is not None and born > years_before(on, low):
        return False
    return not (high is not None and born <= years_before(on, high + 1))


def _age_between_sql(born: Any, on: date, low: int | None, high: int | None) -> ColumnElement[bool]:
    conditions = []
    if low is not None:
        conditions.append(born <= years_before(on, low))
    if high is not None:
        conditions.append(born > years_before(on, high + 1))
    return and_(*conditions)


def _age_fact(low: int | None, high: int | None) -> tuple[Callable[[Facts], Any], Callable[[date], Any]]:
    def accessor(facts: Facts) -> bool | None:
        own = _age_between(facts.client.date_of_birth, facts.on, low, high)
        return _member_fact(facts, own, lambda m: _age_between(m.date_of_birth, facts.on, low, high))

    def sql(on: date) -> ColumnElement[Any]:
        return _member_fact_sql(
            _age_between_sql(Client.date_of_birth, on, low, high),
            lambda m: _age_between_sql(m.date_of_birth, on, low, high),
            lambda m: m.date_of_birth.is_(None),
        )

    return accessor, sql


def _pregnancy(pregnant: bool | None, sex: str | None) -> bool | None:
    # A man's unanswered pregnancy question is not a missing fact.
    if pregnant is None and sex == "male":
        return False
    return pregnant


def _pregnant(facts: Facts) -> bool | None:
    client = facts.client
    return _member_fact(
        facts, _pregnancy(client.pregnant, client.sex), lambda m: _pregnancy(m.pregnant, m.sex)
    )


def _pregnancy_unknown_sql(pregnant: Any, sex: Any) -> ColumnElement[bool]:
    return and_(pregnant.is_(None), or_(sex.is_(None), sex != "male"))


def _pregnant_sql(on: date) -> ColumnElement[Any]:
    return _member_fact_sql(
        Client.pregnant.is_(True),
        lambda m: m.pregnant.is_(True),
        lambda m: _pregnancy_unknown_sql(m.pregnant, m.sex),
        client_unknown=_pregnancy_unknown_sql(Client.pregnant, Client.sex),
    )


def _income_per_member(facts: Facts) -> int | None:
    income, size = facts.client.monthly_income, facts.client.household_size
    if income is None or not size or size < 1:
        return None
    return income // size


def _income_per_member_sql(on: date) -> ColumnElement[Any]:
    return case(
        (Client.household_size >= 1, Client.monthly_income // Client.household_size),
        else_=null(),
    )


def _poverty(facts: Facts) -> str | None:
    value = facts.client.poverty_status
    return None if value in (None, "unknown") else value


@dataclass(frozen=True)
class Field:
    """One fact a rule may test."""

    key: str
    type: str
    label: Any
    accessor: Callable[[Facts], Any]
    sql: Callable[[date], Any]
    choices: tuple[tuple[str, Any], ...] = ()
    ask: Any = None  # the question for "needs information"; defaults to the label
    unit: str | None = None
    # A field may compile its tests itself (age: as birth-date comparisons); else sql() is compared.
    sql_compare: Callable[[str, Any, date], Any] | None = None
    bounds: tuple[int, int] | None = None  # values a rule may compare with (inclusive)

    @property
    def operators(self) -> tuple[str, ...]:
        return OPERATORS[self.type]

    def choice_label(self, value: Any) -> str:
        for key, label in self.choices:
            if key == value:
                return str(label)
        return str(value)


def _column(name: str) -> tuple[Callable[[Facts], Any], Callable[[date], Any]]:
    return (lambda facts: getattr(facts.client, name)), (lambda on: getattr(Client, name))


_child_under_6 = _age_fact(None, 5)
_member_60 = _age_fact(60, None)
_school_age = _age_fact(6, 18)

SEX_LABELS = {"female": _l("female"), "male": _l("male")}
WORK_STATUS_LABELS = {
    "informal": _l("informal worker"),
    "self_employed": _l("self-employed"),
    "msme_worker": _l("worker in a micro or small business"),
    "unemployed": _l("unemployed"),
    "formal": _l("formal employee"),
}
POVERTY_LABELS = {"poor": _l("poor"), "near_poor": _l("near-poor"), "not_poor": _l("not poor")}

FIELDS: dict[str, Field] = {
    f.key: f
    for f in [
        Field(
            "age",
            NUMBER,
            _l("age"),
            lambda facts: age_on(facts.client.date_of_birth, facts.on),
            lambda on: _age_sql(Client.date_of_birth, on),
            ask=_l("date of birth"),
            unit="years",
            sql_compare=_age_compare_sql,
            bounds=(0, 150),
        ),
        Field("sex", ENUM, _l("sex"), *_column("sex"), choices=tuple(SEX_LABELS.items())),
        Field(
            "work_status",
            ENUM,
            _l("work status"),
            *_column("work_status"),
            choices=tuple((k, WORK_STATUS_LABELS[k]) for k in WORK_STATUSES),
        ),
        Field("occupation", TEXT, _l("occupation"), *_column("occupation")),
        Field("monthly_income", NUMBER, _l("monthly income"), *_column("monthly_income"), unit="money"),
        Field(
            "income_per_member",
            NUMBER,
            _l("income per household member"),
            _income_per_member,
            _income_per_member_sql,
            ask=_l("monthly income and household size"),
            unit="money",
        ),
        Field("household_size", NUMBER, _l("household size"), *_column("household_size")),
        Field(
            "region",
            REGION,
            _l("place of residence"),
            lambda facts: facts.region_path,
            lambda on: Client.region_id,
        ),
        Field("disability", BOOL, _l("disability"), *_column("disability")),
        Field("in_education", BOOL, _l("in education"), *_column("in_education")),
        Field("ethnic_minority", BOOL, _l("ethnic minority"), *_column("ethnic_minority")),
        Field(
            "poverty_status",
            ENUM,
            _l("poverty status"),
            _poverty,
            lambda on: func.nullif(Client.poverty_status, "unknown"),
            choices=tuple((k, POVERTY_LABELS[k]) for k in POVERTY_STATUSES if k != "unknown"),
        ),
        Field("welfare_decile", NUMBER, _l("welfare decile"), *_column("welfare_decile")),
        Field(
            "enrolments",
            LIST,
            _l("existing enrolments"),
            lambda facts: list(facts.client.enrolments or []),
            lambda on: Client.enrolments,
        ),
        Field(
            "has_child_under_6",
            BOOL,
            _l("has a child under 6"),
            _child_under_6[0],
            _child_under_6[1],
            ask=_l("the household members' dates of birth"),
        ),
        Field(
            "has_member_60_plus",
            BOOL,
            _l("has a household member aged 60 or more"),
            _member_60[0],
            _member_60[1],
            ask=_l("the household members' dates of birth"),
        ),
        Field(
            "has_pregnant_member",
            BOOL,
            _l("has a pregnant household member"),
            _pregnant,
            _pregnant_sql,
            ask=_l("whether anyone in the household is pregnant"),
        ),
        Field(
            "has_school_age_child",
            BOOL,
            _l("has a school-age child (6-18)"),
            _school_age[0],
            _school_age[1],
            ask=_l("the household members' dates of birth"),
        ),
    ]
}


def facts_for(client: Any, on: date) -> Facts:
    """The facts the accessors read for ``client`` on ``on`` (household members loaded once)."""
    members = list(client.household.members) if client.household_id and client.household is not None else []
    region = client.region
    return Facts(
        client=client, on=on, members=members, region_path=region.path if region is not None else None
    )

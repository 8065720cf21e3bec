"""The SQL compiler: the same criteria tree as a parameterised SQLAlchemy expression over clients.

Every value becomes a bound parameter (never SQL text built from strings). SQL's own three-valued
logic carries unknowns: a leaf on a NULL fact is NULL, AND / OR / NOT combine like the Python
evaluator, and :func:`outcome_expression` maps TRUE / FALSE / NULL to the three outcomes.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, case, cast, exists, func, literal, not_, or_, select
from sqlalchemy.dialects.postgresql import JSONB

from srs.programmes.fields import FIELDS, LIST, REGION
from srs.programmes.rules import GROUPS, node_kind, region_codes, region_lookup
from srs.regions.models import Region
from srs.registry.models import Client


def _enrolled(code: str, dialect: str) -> ColumnElement[bool]:
    """The client's enrolments include ``code`` (never NULL: a missing list is an empty one)."""
    if dialect == "postgresql":
        as_jsonb = func.coalesce(cast(Client.enrolments, JSONB), cast(literal("[]"), JSONB))
        return as_jsonb.contains(cast(func.jsonb_build_array(code), JSONB))
    items = func.json_each(Client.enrolments).table_valued("value")
    return exists(select(literal(1)).select_from(items).where(items.c.value == code))


class Compiler:
    """Compiles trees for one screening date and database dialect."""

    def __init__(self, on: date, dialect: str) -> None:
        self.on = on
        self.dialect = dialect
        self._sql_cache: dict[str, Any] = {}

    def _field_sql(self, key: str) -> Any:
        if key not in self._sql_cache:
            self._sql_cache[key] = FIELDS[key].sql(self.on)
        return self._sql_cache[key]

    def leaf(self, node: dict[str, Any], regions: dict[str, tuple[str, str]]) -> ColumnElement[Any]:
        spec = FIELDS[node["field"]]
        op, value = node["op"], node["value"]
        if spec.type == LIST:
            enrolled = _enrolled(value, self.dialect)
            return enrolled if op == "contains" else not_(enrolled)
        if spec.sql_compare is not None:
            return spec.sql_compare(op, value, self.on)
        column = self._field_sql(spec.key)
        if spec.type == REGION:
            paths = [regions[c][0] for c in value if c in regions]
            if not paths:
                inside = literal(False)
            else:
                inside = column.in_(
                    select(Region.id).where(or_(*[Region.path.startswith(p, autoescape=True) for p in paths]))
                )
            return inside if op == "in" else not_(inside)
        if op == "=":
            return column == value
        if op == "!=":
            return column != value
        if op == "<":
            return column < value
        if op == "<=":
            return column <= value
        if op == ">":
            return column > value
        if op == ">=":
            return column >= value
        if op == "between":
            return column.between(value[0], value[1])
        if op == "in":
            return column.in_(value)
        if op == "not_in":
            return column.not_in(value)
        raise ValueError(op)

    def tree(
        self, node: dict[str, Any], regions: dict[str, tuple[str, str]] | None = None
    ) -> ColumnElement[Any]:
        """The tree as a boolean SQL expression that is NULL where the outcome is unknown."""
        if regions is None:
            regions = region_lookup(region_codes(node))
        kind = node_kind(node)
        if kind in GROUPS:
            parts = [self.tree(child, regions) for child in node[kind]]
            return and_(*parts) if kind == "all" else or_(*parts)
        if kind == "not":
            return not_(self.tree(node["not"], regions))
        return self.leaf(node, regions)

    def rule(self, criteria: dict[str, Any], programme_code: str | None = None) -> ColumnElement[Any]:
        """The tree with the implicit criterion that an enrolled person is not eligible again."""
        expression = self.tree(criteria)
        if programme_code:
            # Enrolled is FALSE whatever else is unknown, as in the Python evaluator.
            return case((_enrolled(programme_code, self.dialect), literal(False)), else_=expression)
        return expression


def outcome_expression(truth: ColumnElement[Any]) -> ColumnElement[str]:
    """TRUE -> eligible, FALSE -> not_eligible, NULL -> needs_information.

    A simple CASE on the truth value evaluates the rule once per row (a searched CASE with
    ``WHEN t`` and ``WHEN NOT t`` would evaluate it twice).
    """
    return case(
        {True: literal("eligible"), False: literal("not_eligible")},
        value=truth,
        else_=literal("needs_information"),
    )


def compile_outcome(
    criteria: dict[str, Any], on: date, dialect: str, programme_code: str | None = None
) -> ColumnElement[str]:
    """The outcome ('eligible' / 'not_eligible' / 'needs_information') of a rule, as SQL over Client."""
    return outcome_expression(Compiler(on, dialect).rule(criteria, programme_code))

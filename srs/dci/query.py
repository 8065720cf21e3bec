"""DCI queries (idtype-value, expression, predicate) compiled to SQLAlchemy conditions over clients.

A predicate or an expression becomes a criteria tree of the eligibility rules (srs.programmes.rules),
validated by the same checker and compiled by the same SQL compiler, so every value is a bound
parameter and every attribute a field of the one catalogue. Only the attributes and identifier types
in the partner's profile may be named; anything else is a rejection with a reason code, never a
silent empty answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, and_, false
from sqlalchemy.orm import InstrumentedAttribute

from srs.core import clock
from srs.dci.vocabulary import ATTRIBUTES, ID_TYPES, SORTABLE
from srs.extensions import db
from srs.programmes.compiler import Compiler
from srs.programmes.fields import BOOL, ENUM, FIELDS, NUMBER, REGION
from srs.programmes.rules import MAX_DEPTH, validate
from srs.registry.idnumbers import normalise_number
from srs.registry.models import Client
from srs.registry.normalise import phone_candidates

QUERY_TYPES = ("idtype-value", "expression", "predicate")

# DCI operators (predicates) and the expression syntax's $-operators, as the catalogue's operators.
PREDICATE_OPS = {"eq": "=", "gt": ">", "ge": ">=", "lt": "<", "le": "<=", "in": "in"}
EXPRESSION_OPS = {
    "$eq": "=",
    "$ne": "!=",
    "$gt": ">",
    "$gte": ">=",
    "$ge": ">=",
    "$lt": "<",
    "$lte": "<=",
    "$le": "<=",
    "$in": "in",
    "$nin": "not_in",
}


class QueryError(Exception):
    """A query SRS will not run; ``code`` is the spec's reason code, ``message`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Compiled:
    """A query ready to run: the condition over clients and the sort, plus what it named."""

    condition: ColumnElement[bool]
    attributes: list[str] = field(default_factory=list)
    id_type: str | None = None
    by_household: int | None = None


def base_condition() -> ColumnElement[bool]:
    """What any partner may ever see: live records (not merged away, restricted or erased) with consent."""
    return and_(
        Client.merged_into_id.is_(None),
        Client.consent_given.is_(True),
        # Restricted or erased records are shared with no partner (srs.privacy).
        Client.restricted_at.is_(None),
        Client.anonymised_at.is_(None),
    )


def _idtype_value(query: Any, allowed_id_types: list[str], code: str) -> Compiled:
    if not isinstance(query, dict) or not isinstance(query.get("type"), str) or "value" not in query:
        raise QueryError(code, _("An idtype-value query needs a type and a value."))
    id_type = query["type"].strip()
    spec = ID_TYPES.get(id_type.upper())
    if spec is None:
        raise QueryError(
            code,
            _(
                "Unknown identifier type %(type)s; SRS knows %(known)s.",
                type=id_type,
                known=", ".join(ID_TYPES),
            ),
        )
    if spec.code not in allowed_id_types:
        raise QueryError(code, _("This partner may not search by %(type)s.", type=spec.code))
    value = query["value"]
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        raise QueryError(code, _("The identifier value must be a text or a number."))
    text = str(value).strip()
    if spec.column == "phone":
        candidates = phone_candidates(text)
        condition: ColumnElement[bool] = Client.phone.in_(candidates) if candidates else false()
        return Compiled(condition, id_type=spec.code)
    if spec.column == "household":
        if not text.isdigit() or len(text) > 12:
            return Compiled(false(), id_type=spec.code)
        return Compiled(Client.household_id == int(text), id_type=spec.code, by_household=int(text))
    number = normalise_number(text)
    if len(number) > 32:
        return Compiled(false(), id_type=spec.code)
    # (id_type, id_number) is unique: the lookup is one probe of that index.
    condition = and_(Client.id_type.in_(spec.client_id_types), Client.id_number == number)
    return Compiled(condition, id_type=spec.code)


def _number(value: Any) -> Any:
    """A number given as text ("25", "2.5") is read as the number; anything else is kept as sent."""
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return value
    return value


def _leaf(name: Any, op: str, value: Any, allowed: list[str], code: str, named: list[str]) -> dict[str, Any]:
    if not isinstance(name, str) or name not in ATTRIBUTES:
        raise QueryError(
            code,
            _(
                "Unknown attribute %(name)s; SRS knows %(known)s.",
                name=name,
                known=", ".join(sorted(ATTRIBUTES)),
            ),
        )
    attribute = ATTRIBUTES[name]
    if name not in allowed:
        raise QueryError(code, _("This partner may not query the attribute %(name)s.", name=name))
    named.append(name)
    spec = FIELDS[attribute.field]
    if spec.type == NUMBER:
        value = [_number(v) for v in value] if isinstance(value, list) else _number(value)
    if spec.type == REGION:
        if op in ("=", "in"):
            op = "in"
        elif op in ("!=", "not_in"):
            op = "not_in"
        value = value if isinstance(value, list) else [value]
    elif spec.type in (ENUM, BOOL) and op in ("<", "<=", ">", ">="):
        raise QueryError(code, _("The attribute %(name)s cannot be compared as a number.", name=name))
    elif spec.type == BOOL and isinstance(value, str) and value.lower() in ("true", "false"):
        value = value.lower() == "true"
    if op in ("in", "not_in") and not isinstance(value, list):
        value = [value]
    if op not in spec.operators:
        raise QueryError(code, _("The operator does not apply to the attribute %(name)s.", name=name))
    return {"field": attribute.field, "op": op, "value": value}


def _predicate(query: Any, allowed: list[str], code: str, named: list[str]) -> dict[str, Any]:
    if not isinstance(query, list) or not query:
        raise QueryError(code, _("A predicate query is a non-empty list of expressions."))
    if len(query) > 50:
        raise QueryError(code, _("A predicate query may have at most 50 expressions."))

    def expression(item: Any) -> dict[str, Any]:
        if not isinstance(item, dict) or not {"attribute_name", "operator", "attribute_value"} <= set(item):
            raise QueryError(code, _("Each expression needs attribute_name, operator and attribute_value."))
        op = PREDICATE_OPS.get(item["operator"])
        if op is None:
            raise QueryError(code, _("Unknown operator %(op)s.", op=item["operator"]))
        return _leaf(item["attribute_name"], op, item["attribute_value"], allowed, code, named)

    def seq(item: Any) -> float:
        number = item.get("seq_num", 0) if isinstance(item, dict) else 0
        return number if isinstance(number, (int, float)) and not isinstance(number, bool) else 0

    nodes = []
    for item in sorted(query, key=seq):
        if not isinstance(item, dict) or "expression1" not in item:
            raise QueryError(code, _("Each predicate needs expression1."))
        first = expression(item["expression1"])
        condition = item.get("condition")
        if item.get("expression2") is None:
            nodes.append({"not": first} if condition == "not" else first)
            continue
        second = expression(item["expression2"])
        if condition == "or":
            nodes.append({"any": [first, second]})
        elif condition == "not":
            nodes.append({"all": [first, {"not": second}]})
        elif condition in (None, "and"):
            nodes.append({"all": [first, second]})
        else:
            raise QueryError(code, _("Unknown condition %(c)s; use and, or or not.", c=condition))
    return nodes[0] if len(nodes) == 1 else {"all": nodes}


def _expression(query: Any, allowed: list[str], code: str, named: list[str]) -> dict[str, Any]:
    # {"type": "...:expression", "value": {"expression": {"collection": ..., "query": {...}}}}, or
    # the inner parts directly.
    value = query.get("value", query) if isinstance(query, dict) else None
    expression = value.get("expression", value) if isinstance(value, dict) else None
    body = expression.get("query") if isinstance(expression, dict) else None
    if not isinstance(body, dict) or not body:
        raise QueryError(code, _("An expression query needs value.expression.query."))

    def walk(node: Any, depth: int) -> dict[str, Any]:
        if depth > MAX_DEPTH:
            raise QueryError(code, _("The expression is nested too deeply."))
        if not isinstance(node, dict) or not node:
            raise QueryError(code, _("Each part of an expression is an object."))
        parts: list[dict[str, Any]] = []
        for key, item in node.items():
            if key in ("$and", "$or"):
                if not isinstance(item, list) or not item:
                    raise QueryError(code, _("%(op)s needs a list.", op=key))
                children = [walk(child, depth + 1) for child in item]
                parts.append({"all" if key == "$and" else "any": children})
            elif key == "$not":
                parts.append({"not": walk(item, depth + 1)})
            elif isinstance(item, dict):
                tests = []
                for operator, operand in item.items():
                    op = EXPRESSION_OPS.get(operator)
                    if op is None:
                        raise QueryError(code, _("Unknown operator %(op)s.", op=operator))
                    tests.append(_leaf(key, op, operand, allowed, code, named))
                parts.extend(tests)
            else:
                parts.append(_leaf(key, "=", item, allowed, code, named))
        return parts[0] if len(parts) == 1 else {"all": parts}

    return walk(body, 0)


def compile_query(
    query_type: Any, query: Any, allowed_id_types: list[str], allowed_attributes: list[str], code: str
) -> Compiled:
    """The query as a condition over clients; QueryError(``code``) when SRS refuses it."""
    if query_type not in QUERY_TYPES:
        raise QueryError(code, _("Unknown query type; use one of %(types)s.", types=", ".join(QUERY_TYPES)))
    if query_type == "idtype-value":
        return _idtype_value(query, allowed_id_types, code)
    named: list[str] = []
    if query_type == "predicate":
        tree = _predicate(query, allowed_attributes, code, named)
    else:
        tree = _expression(query, allowed_attributes, code, named)
    problems = validate(tree)
    if problems:
        raise QueryError(code, problems[0][1])
    condition = Compiler(clock.today(), db.engine.dialect.name).tree(tree)
    return Compiled(condition, attributes=named)


def sort_columns(sort: Any, allowed_attributes: list[str]) -> list[Any]:
    """ORDER BY columns for a search's ``sort``; QueryError(rjct.sort.invalid) for what SRS cannot sort by."""
    code = "rjct.sort.invalid"
    if sort is None:
        return []
    if not isinstance(sort, list) or len(sort) > 5:
        raise QueryError(code, _("Sort is a list of at most 5 attributes."))
    columns = []
    for item in sort:
        if not isinstance(item, dict):
            raise QueryError(code, _("Each sort entry is an object."))
        name = item.get("attribute_name")
        order = item.get("sort_order", "asc")
        if order not in ("asc", "desc"):
            raise QueryError(code, _("sort_order is asc or desc."))
        if name not in SORTABLE or (name != "registration_date" and name not in allowed_attributes):
            raise QueryError(
                code,
                _(
                    "SRS cannot sort by %(name)s; it sorts by %(known)s.",
                    name=name,
                    known=", ".join(sorted(SORTABLE)),
                ),
            )
        column: ColumnElement[Any]
        if name == "age":
            # Older first means an earlier birth date first.
            column = Client.date_of_birth.desc() if order == "asc" else Client.date_of_birth.asc()
        else:
            sortable: dict[str, InstrumentedAttribute[Any]] = {
                "poverty_score": Client.welfare_decile,
                "welfare_decile": Client.welfare_decile,
                "group_size": Client.household_size,
                "registration_date": Client.created_at,
            }
            column = sortable[name].asc() if order == "asc" else sortable[name].desc()
        columns.append(column)
    return columns

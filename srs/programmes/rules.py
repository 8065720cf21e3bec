"""Rules as data: validation of a criteria tree and its three-valued Python evaluator.

A tree is ``{"all": [...]}``, ``{"any": [...]}``, ``{"not": node}`` or a leaf
``{"field": ..., "op": ..., "value": ...}``. A leaf is true, false or unknown (``None``, like SQL
NULL) when the fact it reads is missing; groups combine them with Kleene's logic, exactly as SQL
does, so the SQL compiler (srs.programmes.compiler) gives the same answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date
from typing import Any

import flask_babel
from babel.numbers import format_decimal as babel_format_decimal
from sqlalchemy import select

from srs.extensions import db
from srs.programmes.fields import (
    BOOL,
    ENUM,
    FIELDS,
    LIST,
    NUMBER,
    OPERATOR_LABELS,
    REGION,
    TEXT,
    Facts,
)
from srs.regions.models import Region

GROUPS = ("all", "any")

# Screening writes a few hundred sentences: Flask-Babel looks up the locale and catalogue on every
# call, so an evaluation fetches them once (fast_i18n) and the helpers below reuse them.
_I18N: ContextVar[tuple[Any, Any, dict[Any, str]] | None] = ContextVar("srs_rules_i18n", default=None)


@contextmanager
def fast_i18n(programmes: Iterable[Any] = ()) -> Iterator[None]:
    """Use the current request's catalogue and locale for every sentence made inside the block.

    ``programmes`` already loaded give their names to the sentences without a query each."""
    locale = flask_babel.get_locale()
    language = str(locale or "en").split("_")[0]
    names: dict[Any, str] = {("programme", p.code): p.name_in(language) for p in programmes}
    token = _I18N.set((flask_babel.get_translations(), locale, names))
    try:
        yield
    finally:
        _I18N.reset(token)


def _(message: str, **variables: Any) -> str:
    """gettext, with the catalogue fetched once per evaluation when fast_i18n() is active."""
    cached = _I18N.get()
    if cached is None:
        return flask_babel.gettext(message, **variables)
    translated = cached[0].ugettext(message)
    return translated % variables if variables else translated


def text_of(lazy: Any) -> str:
    """A lazy_gettext label in the current language (through the cached catalogue when active)."""
    args = getattr(lazy, "_args", None)
    if _I18N.get() is not None and args:
        return _(args[0])
    return str(lazy)


def format_decimal(value: Any) -> str:
    cached = _I18N.get()
    if cached is None:
        return flask_babel.format_decimal(value)
    numbers = cached[2]
    if value not in numbers:
        numbers[value] = babel_format_decimal(value, locale=cached[1])
    return numbers[value]


# A tree deeper or larger than this is refused with a message (never a RecursionError): every
# recursive walk of a tree (validation, SQL compiler, explanations, the editor) runs on checked trees.
MAX_DEPTH = 12
MAX_NODES = 300

Path = str  # "r", "r.0", "r.0.2": the node's place in the tree (used by the editor)


class RuleError(Exception):
    """A criteria tree that cannot be saved; ``errors`` lists (node path, message)."""

    def __init__(self, errors: list[tuple[Path, str]]) -> None:
        super().__init__("; ".join(message for _p, message in errors))
        self.errors = errors


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def node_kind(node: Any) -> str | None:
    if not isinstance(node, dict):
        return None
    for kind in ("all", "any", "not"):
        if kind in node:
            return kind
    if "field" in node:
        return "leaf"
    return None


def region_lookup(codes: set[str]) -> dict[str, tuple[str, str]]:
    """Region code -> (path, name), for the codes that exist."""
    if not codes:
        return {}
    rows = db.session.execute(select(Region.code, Region.path, Region.name).where(Region.code.in_(codes)))
    return {code: (path, name) for code, path, name in rows}


def region_codes(node: Any) -> set[str]:
    """Every region code a tree names."""
    kind = node_kind(node)
    if kind in GROUPS:
        return set().union(*(region_codes(child) for child in node[kind])) if node[kind] else set()
    if kind == "not":
        return region_codes(node["not"])
    if kind == "leaf" and node.get("field") == "region":
        value = node.get("value")
        return {value} if isinstance(value, str) else {v for v in value or [] if isinstance(v, str)}
    return set()


def _check_leaf(
    node: dict[str, Any], path: Path, regions: dict[str, tuple[str, str]]
) -> list[tuple[Path, str]]:
    key, op, value = node.get("field"), node.get("op"), node.get("value")
    spec = FIELDS.get(key) if isinstance(key, str) else None
    if spec is None:
        return [(path, _("Unknown field \u201c%(field)s\u201d.", field=key))]
    label = text_of(spec.label)
    if op not in spec.operators:
        return [
            (
                path,
                _(
                    "The operator \u201c%(op)s\u201d does not apply to %(field)s; use one of: %(ops)s.",
                    op=op,
                    field=label,
                    ops=", ".join(spec.operators),
                ),
            )
        ]
    if "value" not in node or value is None or value == "" or value == []:
        return [(path, _("Give a value for %(field)s.", field=label))]
    problems: list[str] = []
    if spec.type == NUMBER:
        if op == "between":
            if not (isinstance(value, list) and len(value) == 2 and all(is_number(v) for v in value)):
                bad = [v for v in (value if isinstance(value, list) else [value]) if not is_number(v)]
                shown = ", ".join(f"\u201c{v}\u201d" for v in bad if v not in ("", None))
                if shown:
                    problems.append(
                        _(
                            "%(field)s between needs two numbers (from and to): %(bad)s is not a number.",
                            field=label,
                            bad=shown,
                        )
                    )
                else:
                    problems.append(_("%(field)s between needs two numbers (from and to).", field=label))
            elif value[0] > value[1]:
                problems.append(
                    _("The first number of %(field)s between must not exceed the second.", field=label)
                )
        elif op in ("in", "not_in"):
            if not (isinstance(value, list) and all(is_number(v) for v in value)):
                problems.append(_("%(field)s is a number: compare it with numbers, not text.", field=label))
        elif not is_number(value):
            problems.append(
                _(
                    "%(field)s is a number: \u201c%(value)s\u201d is not a number.",
                    field=label,
                    value=value,
                )
            )
        numbers = [v for v in (value if isinstance(value, list) else [value]) if is_number(v)]
        if not problems and spec.bounds and any(not spec.bounds[0] <= v <= spec.bounds[1] for v in numbers):
            problems.append(
                _(
                    "%(field)s is compared with numbers from %(low)d to %(high)d.",
                    field=label,
                    low=spec.bounds[0],
                    high=spec.bounds[1],
                )
            )
    elif spec.type == ENUM:
        allowed = [k for k, _label in spec.choices]
        values = value if op in ("in", "not_in") else [value]
        if op in ("in", "not_in") and not isinstance(value, list):
            values = [value]
        bad = [v for v in values if v not in allowed]
        if bad:
            problems.append(
                _(
                    "%(field)s cannot be \u201c%(value)s\u201d; choose from: %(choices)s.",
                    field=label,
                    value=", ".join(map(str, bad)),
                    choices=", ".join(allowed),
                )
            )
    elif spec.type == TEXT:
        values = value if isinstance(value, list) else [value]
        if op in ("in", "not_in") and not isinstance(value, list):
            problems.append(_("%(field)s one of needs a list of words.", field=label))
        elif not all(isinstance(v, str) and v.strip() for v in values):
            problems.append(_("%(field)s is compared with words.", field=label))
    elif spec.type == BOOL:
        if not isinstance(value, bool):
            problems.append(
                _("%(field)s is yes or no: \u201c%(value)s\u201d is neither.", field=label, value=value)
            )
    elif spec.type == REGION:
        codes = [value] if isinstance(value, str) else value
        if not (isinstance(codes, list) and codes and all(isinstance(c, str) for c in codes)):
            problems.append(_("Give one or more region codes."))
        else:
            unknown = [c for c in codes if c not in regions]
            if unknown:
                problems.append(_("Unknown region code: %(codes)s.", codes=", ".join(unknown)))
    elif spec.type == LIST and not (isinstance(value, str) and value.strip()):
        problems.append(_("%(field)s: give one programme code.", field=label))
    return [(path, p) for p in problems]


def shape_errors(criteria: Any) -> list[tuple[Path, str]]:
    """A tree nested past MAX_DEPTH or with more than MAX_NODES nodes, found without recursion.

    Runs before anything walks the tree recursively, so a hostile tree (a JSON body, a YAML file,
    editor fields) is refused with a message instead of exhausting the stack.
    """
    stack: list[tuple[Any, Path, int]] = [(criteria, "r", 0)]
    seen = 0
    while stack:
        node, path, depth = stack.pop()
        seen += 1
        if seen + len(stack) > MAX_NODES:
            return [("r", _("The rule has too many criteria (at most %(n)d).", n=MAX_NODES))]
        if depth > MAX_DEPTH:
            return [(path, _("The rule is nested too deeply (at most %(n)d levels).", n=MAX_DEPTH))]
        kind = node_kind(node)
        if kind in GROUPS and isinstance(node[kind], list):
            if len(node[kind]) > MAX_NODES:
                return [("r", _("The rule has too many criteria (at most %(n)d).", n=MAX_NODES))]
            stack.extend((child, f"{path}.{i}", depth + 1) for i, child in enumerate(node[kind]))
        elif kind == "not":
            stack.append((node["not"], f"{path}.0", depth + 1))
    return []


def validate(criteria: Any) -> list[tuple[Path, str]]:
    """Every problem in a tree, as (node path, message); empty when the tree can be saved."""
    shape = shape_errors(criteria)
    if shape:
        return shape
    regions = region_lookup(region_codes(criteria)) if node_kind(criteria) else {}
    errors: list[tuple[Path, str]] = []

    def walk(node: Any, path: Path, depth: int) -> None:
        if depth > MAX_DEPTH:
            errors.append((path, _("The rule is nested too deeply (at most %(n)d levels).", n=MAX_DEPTH)))
            return
        kind = node_kind(node)
        if kind is None:
            errors.append((path, _("A criterion must be a group (all / any / not) or a field test.")))
        elif kind in GROUPS:
            children = node[kind]
            if not isinstance(children, list) or not children:
                errors.append((path, _("This group is empty: add a criterion or remove the group.")))
                return
            for i, child in enumerate(children):
                walk(child, f"{path}.{i}", depth + 1)
        elif kind == "not":
            walk(node["not"], f"{path}.0", depth + 1)
        else:
            errors.extend(_check_leaf(node, path, regions))

    walk(criteria, "r", 0)
    return errors


def normalise(criteria: Any) -> Any:
    """A tree in canonical form: region values as lists, nothing but the known keys."""
    kind = node_kind(criteria)
    if kind in GROUPS:
        return {kind: [normalise(c) for c in criteria[kind]]}
    if kind == "not":
        return {"not": normalise(criteria["not"])}
    value = criteria.get("value")
    if criteria.get("field") == "region" and isinstance(value, str):
        value = [value]
    return {"field": criteria["field"], "op": criteria["op"], "value": value}


def check(criteria: Any) -> Any:
    """The canonical tree, or RuleError listing every problem."""
    errors = validate(criteria)
    if errors:
        raise RuleError(errors)
    return normalise(criteria)


# Evaluation --------------------------------------------------------------------------------------


def compare(op: str, actual: Any, value: Any, region_paths: list[str] | None = None) -> bool | None:
    """One leaf's truth, three-valued: None when the fact is unknown."""
    if actual is None:
        return None
    if op == "=":
        return actual == value
    if op == "!=":
        return actual != value
    if op == "<":
        return actual < value
    if op == "<=":
        return actual <= value
    if op == ">":
        return actual > value
    if op == ">=":
        return actual >= value
    if op == "between":
        return value[0] <= actual <= value[1]
    if op in ("in", "not_in"):
        if region_paths is not None:
            inside = any(actual.startswith(p) for p in region_paths)
        else:
            inside = actual in value
        return inside if op == "in" else not inside
    if op == "contains":
        return value in actual
    if op == "not_contains":
        return value not in actual
    raise ValueError(op)


def combine(kind: str, values: list[bool | None]) -> bool | None:
    """Kleene's three-valued AND / OR, as SQL computes them."""
    if kind == "all":
        if any(v is False for v in values):
            return False
        return None if any(v is None for v in values) else True
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


@dataclass
class Reason:
    criterion: str
    passed: bool | None
    field: str | None = None
    op: str | None = None
    value: Any = None
    actual: Any = None
    names: dict[str, str] = dc_field(default_factory=dict)  # region code -> name
    implicit: bool = False
    hint: str | None = None
    detail: str = ""
    # The leaf's place in the tree ("r.0.1"), so the page can show it inside its "any of" group.
    path: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"criterion": self.criterion, "passed": self.passed, "detail": self.detail}
        if self.path:
            data["path"] = self.path
        if self.field:
            data.update(field=self.field, op=self.op, value=self.value, actual=self.actual)
        if self.names:
            data["names"] = self.names
        if self.implicit:
            data["implicit"] = True
        if self.hint:
            data["hint"] = self.hint
        return data


@dataclass
class Evaluation:
    outcome: str  # eligible | not_eligible | needs_information
    reasons: list[Reason]
    ask: list[str]
    hints: list[str]


def outcome_of(value: bool | None) -> str:
    return {True: "eligible", False: "not_eligible", None: "needs_information"}[value]


class PreparedRule:
    """A tree with its region codes resolved, ready to evaluate many times."""

    def __init__(self, criteria: dict[str, Any], programme_code: str | None = None) -> None:
        self.criteria = criteria
        self.programme_code = programme_code
        self.regions = region_lookup(region_codes(criteria))
        self.leaves: list[tuple[Path, dict[str, Any]]] = []
        self._collect(criteria, "r")

    def _collect(self, node: dict[str, Any], path: Path) -> None:
        kind = node_kind(node)
        if kind in GROUPS:
            for i, child in enumerate(node[kind]):
                self._collect(child, f"{path}.{i}")
        elif kind == "not":
            self._collect(node["not"], f"{path}.0")
        else:
            self.leaves.append((path, node))

    def _leaf_value(self, leaf: dict[str, Any], facts: Facts) -> tuple[Any, bool | None]:
        spec = FIELDS[leaf["field"]]
        actual = spec.accessor(facts)
        paths = None
        if spec.type == REGION:
            paths = [self.regions[c][0] for c in leaf["value"] if c in self.regions]
        return actual, compare(leaf["op"], actual, leaf["value"], paths)

    def _tree(self, node: dict[str, Any], path: Path, values: dict[Path, bool | None]) -> bool | None:
        kind = node_kind(node)
        if kind in GROUPS:
            return combine(kind, [self._tree(c, f"{path}.{i}", values) for i, c in enumerate(node[kind])])
        if kind == "not":
            inner = self._tree(node["not"], f"{path}.0", values)
            return None if inner is None else not inner
        return values[path]

    def truth(self, facts: Facts) -> bool | None:
        """The outcome alone (True / False / None), the implicit enrolment criterion included."""
        values = {path: self._leaf_value(leaf, facts)[1] for path, leaf in self.leaves}
        result = self._tree(self.criteria, "r", values)
        if self.programme_code and self.programme_code in (facts.client.enrolments or []):
            return False
        return result

    def evaluate(self, facts: Facts) -> Evaluation:
        """The outcome with a reason per criterion, what to ask, and what would change a near miss."""
        if _I18N.get() is None:
            with fast_i18n():
                return self.evaluate(facts)
        values: dict[Path, bool | None] = {}
        reasons: list[Reason] = []
        if self.programme_code:
            enrolled = self.programme_code in (facts.client.enrolments or [])
            reasons.append(
                Reason(
                    criterion=f"not enrolled in {self.programme_code}",
                    passed=not enrolled,
                    field="enrolments",
                    op="not_contains",
                    value=self.programme_code,
                    actual=list(facts.client.enrolments or []),
                    implicit=True,
                )
            )
        for path, leaf in self.leaves:
            actual, passed = self._leaf_value(leaf, facts)
            values[path] = passed
            names = (
                {c: self.regions[c][1] for c in leaf["value"] if c in self.regions}
                if leaf["field"] == "region"
                else {}
            )
            reasons.append(
                Reason(
                    criterion=criterion_text(leaf),
                    passed=passed,
                    field=leaf["field"],
                    op=leaf["op"],
                    value=leaf["value"],
                    actual=_region_name(facts) if leaf["field"] == "region" else _plain(actual),
                    names=names,
                    path=path,
                )
            )
        result = self._tree(self.criteria, "r", values)
        if reasons and reasons[0].implicit and reasons[0].passed is False:
            result = False
        outcome = outcome_of(result)
        ask: list[str] = []
        if outcome == "needs_information":
            for reason in reasons:
                if reason.passed is None and reason.field:
                    spec = FIELDS[reason.field]
                    question = text_of(spec.ask or spec.label)
                    if question not in ask:
                        ask.append(question)
        hints: list[str] = []
        if outcome == "not_eligible" and not (reasons and reasons[0].implicit and reasons[0].passed is False):
            leaf_reasons = [r for r in reasons if not r.implicit]
            for (path, _leaf), reason in zip(self.leaves, leaf_reasons, strict=True):
                if reason.passed is False and _near(reason):
                    flipped = dict(values, **{path: True})
                    if self._tree(self.criteria, "r", flipped) is True:
                        reason.hint = hint_text(reason)
                        hints.append(reason.hint)
        for reason in reasons:
            reason.detail = describe(reason.as_dict())
        return Evaluation(outcome, reasons, ask, hints)


def _region_name(facts: Facts) -> str | None:
    region = getattr(facts.client, "region", None)
    return region.name if region is not None else None


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return value


def criterion_text(leaf: dict[str, Any]) -> str:
    """A compact, language-neutral form of a leaf (``monthly_income <= 2500000``)."""
    value = leaf["value"]
    shown = ",".join(map(str, value)) if isinstance(value, list) else str(value).lower()
    return f"{leaf['field']} {leaf['op']} {shown}"


_NEAR_FIELDS = {"monthly_income", "income_per_member", "age", "household_size", "welfare_decile"}


def _near(reason: Reason) -> bool:
    """A near miss: a number within 20% (or two units) of its limit, or a status the person may change."""
    if reason.field in _NEAR_FIELDS:
        actual, value = reason.actual, reason.value
        if not is_number(actual):
            return False
        limits = value if isinstance(value, list) else [value]
        gap = min(abs(actual - limit) for limit in limits if is_number(limit)) if limits else None
        if gap is None:
            return False
        return gap <= 2 or gap <= 0.2 * max(abs(v) for v in limits)
    return reason.field in ("work_status", "in_education", "poverty_status", "disability")


# Sentences ---------------------------------------------------------------------------------------


def format_value(field_key: str, value: Any, names: dict[str, str] | None = None) -> str:
    """A value as a person reads it in the current language (numbers grouped by Babel)."""
    spec = FIELDS.get(field_key)
    if isinstance(value, list):
        return ", ".join(format_value(field_key, v, names) for v in value)
    if value is None:
        return _("unknown")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if is_number(value):
        return format_decimal(value)
    if spec is not None and spec.type == REGION and names:
        return names.get(value, value)
    if spec is not None and spec.choices:
        return next((text_of(label) for key, label in spec.choices if key == value), str(value))
    return str(value)


def programme_name(code: str) -> str:
    """A programme's name in the current language (its code when there is no such programme)."""
    from srs.programmes.models import Programme

    cached = _I18N.get()
    key = ("programme", code)
    if cached is not None and key in cached[2]:
        return cached[2][key]
    programme = db.session.scalar(select(Programme).where(Programme.code == code))
    locale = str((cached[1] if cached is not None else flask_babel.get_locale()) or "en").split("_")[0]
    name = programme.name_in(locale) if programme is not None else code
    if cached is not None:
        cached[2][key] = name
    return name


def describe(reason: dict[str, Any]) -> str:
    """The sentence for one criterion's result, in the current language."""
    key = reason.get("field")
    if not key or key not in FIELDS:
        return str(reason.get("detail") or reason.get("criterion", ""))
    spec = FIELDS[key]
    op, passed, names = reason.get("op"), reason.get("passed"), reason.get("names") or {}
    label = text_of(spec.label)
    value = format_value(key, reason.get("value"), names)
    actual = format_value(key, reason.get("actual"), names)
    if reason.get("implicit"):
        name = programme_name(str(reason.get("value")))
        if passed:
            return _("not yet enrolled in %(programme)s", programme=name)
        return _("already enrolled in %(programme)s, so not eligible again", programme=name)
    if passed is None:
        return _("%(label)s is not known", label=label)
    args = {"label": label, "value": value, "actual": actual}
    if spec.type == NUMBER and op == "between":
        low, high = (format_value(key, v) for v in reason["value"])
        args.update(low=low, high=high)
        if passed:
            return _("%(label)s %(actual)s is between %(low)s and %(high)s", **args)
        return _("%(label)s %(actual)s is not between %(low)s and %(high)s", **args)
    if spec.type == NUMBER and op in ("<", "<=", ">", ">="):
        sentences = {
            ("<=", True): _("%(label)s %(actual)s is within the limit %(value)s", **args),
            ("<=", False): _("%(label)s %(actual)s is above the limit %(value)s", **args),
            ("<", True): _("%(label)s %(actual)s is below %(value)s", **args),
            ("<", False): _("%(label)s %(actual)s is not below %(value)s", **args),
            (">=", True): _("%(label)s %(actual)s is at least %(value)s", **args),
            (">=", False): _("%(label)s %(actual)s is below the minimum %(value)s", **args),
            (">", True): _("%(label)s %(actual)s is above %(value)s", **args),
            (">", False): _("%(label)s %(actual)s is not above %(value)s", **args),
        }
        return sentences[(op, bool(passed))]
    if spec.type == REGION:
        if op == "in":
            return (
                _("%(label)s %(actual)s lies in %(value)s", **args)
                if passed
                else _("%(label)s lies outside %(value)s", **args)
            )
        return (
            _("%(label)s lies outside %(value)s", **args)
            if passed
            else _("%(label)s lies in %(value)s, which is excluded", **args)
        )
    if spec.type == LIST:
        if op == "contains":
            return (
                _("%(label)s include %(value)s", **args)
                if passed
                else _("%(label)s do not include %(value)s", **args)
            )
        return (
            _("%(label)s do not include %(value)s", **args)
            if passed
            else _("%(label)s already include %(value)s", **args)
        )
    if op == "=":
        return (
            _("%(label)s: %(actual)s", **args)
            if passed
            else _("%(label)s is %(actual)s, not %(value)s", **args)
        )
    if op == "!=":
        return (
            _("%(label)s: %(actual)s", **args)
            if passed
            else _("%(label)s is %(actual)s, which is excluded", **args)
        )
    if op == "in":
        return (
            _("%(label)s %(actual)s is one of %(value)s", **args)
            if passed
            else _("%(label)s %(actual)s is not one of %(value)s", **args)
        )
    return (
        _("%(label)s %(actual)s is none of %(value)s", **args)
        if passed
        else _("%(label)s %(actual)s is excluded (%(value)s)", **args)
    )


def hint_text(reason: Reason) -> str:
    """What would change a near miss, as a sentence."""
    spec = FIELDS[reason.field or ""]
    label = text_of(spec.label)
    op = reason.op or ""
    value = format_value(spec.key, reason.value, reason.names)
    if op == "<=":
        return _("would qualify with %(label)s of at most %(value)s", label=label, value=value)
    if op == "<":
        return _("would qualify with %(label)s below %(value)s", label=label, value=value)
    if op == ">=":
        return _("would qualify with %(label)s of at least %(value)s", label=label, value=value)
    if op == ">":
        return _("would qualify with %(label)s above %(value)s", label=label, value=value)
    if op == "between":
        low, high = (format_value(spec.key, v) for v in reason.value)
        return _("would qualify with %(label)s between %(low)s and %(high)s", label=label, low=low, high=high)
    return _(
        "would qualify if %(label)s %(op)s %(value)s",
        label=label,
        op=text_of(OPERATOR_LABELS.get(op, op)),
        value=value,
    )


# Parsing what a person typed in the editor ------------------------------------------------------

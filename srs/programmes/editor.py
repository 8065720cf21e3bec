"""The rule editor's form: a criteria tree as flat form fields, and back.

Each node has a path ("r", "r.0", "r.0.1"); its kind is posted as ``k-<path>`` (all / any / not /
leaf), a leaf's field, operator and value(s) as ``f-``, ``o-``, ``v-`` and ``w-<path>``. Buttons
post ``action`` = ``add_leaf:<path>``, ``add_group:<path>``, ``add_not:<path>``, ``remove:<path>``
or ``save``, so the editor works without JavaScript.
"""

from __future__ import annotations

import re
from typing import Any

from werkzeug.datastructures import MultiDict

from srs.programmes.fields import BOOL, ENUM, FIELDS, NUMBER, REGION, TEXT
from srs.programmes.rules import GROUPS, MAX_DEPTH, is_number, node_kind

BLANK_LEAF = {"field": "monthly_income", "op": "<=", "value": ""}


def _children_paths(form: MultiDict[str, str], path: str) -> list[str]:
    prefix = f"k-{path}."
    indices = sorted(
        {int(key[len(prefix) :]) for key in form if key.startswith(prefix) and key[len(prefix) :].isdigit()}
    )
    return [f"{path}.{i}" for i in indices]


def tree_from_form(form: MultiDict[str, str], path: str = "r", depth: int = 0) -> dict[str, Any]:
    """The tree a person built in the editor (values parsed by field type; what does not fit stays text).

    Reading stops one level past MAX_DEPTH: validation then names the node that is too deep, and
    fields posted a thousand levels down never reach a recursion limit.
    """
    kind = form.get(f"k-{path}", "all")
    if depth > MAX_DEPTH:
        return {"all": []}
    if kind in GROUPS:
        return {kind: [tree_from_form(form, child, depth + 1) for child in _children_paths(form, path)]}
    if kind == "not":
        children = _children_paths(form, path)
        return {"not": tree_from_form(form, children[0], depth + 1) if children else dict(BLANK_LEAF)}
    key, op = form.get(f"f-{path}", ""), form.get(f"o-{path}", "")
    return {
        "field": key,
        "op": op,
        "value": parse_value(key, op, form.get(f"v-{path}", ""), form.get(f"w-{path}", "")),
    }


def _node_at(tree: dict[str, Any], path: str) -> tuple[dict[str, Any] | None, Any]:
    """(parent node, index in parent) of the node at ``path``."""
    parts = path.split(".")[1:]
    parent, node = None, tree
    index: Any = None
    for part in parts:
        parent, index = node, int(part)
        kind = node_kind(node)
        node = node[kind][index] if kind in GROUPS else node["not"]
    return parent, index


def _get(tree: dict[str, Any], path: str) -> dict[str, Any]:
    node = tree
    for part in path.split(".")[1:]:
        kind = node_kind(node)
        node = node[kind][int(part)] if kind in GROUPS else node["not"]
    return node


def apply_action(tree: dict[str, Any], action: str) -> dict[str, Any]:
    """Add or remove a criterion or group as the button asked; unknown actions change nothing."""
    verb, _sep, path = action.partition(":")
    try:
        target = _get(tree, path or "r")
    except (KeyError, IndexError, ValueError, TypeError):
        return tree
    kind = node_kind(target)
    new_nodes = {
        "add_leaf": dict(BLANK_LEAF),
        "add_group": {"any": [dict(BLANK_LEAF)]},
        "add_not": {"not": dict(BLANK_LEAF)},
    }
    if verb in new_nodes and kind in GROUPS:
        target[kind].append(new_nodes[verb])
    elif verb == "remove" and path and path != "r":
        parent, index = _node_at(tree, path)
        parent_kind = node_kind(parent)
        if parent_kind in GROUPS and parent is not None:
            parent[parent_kind].pop(index)
        elif parent_kind == "not" and parent is not None:
            parent["not"] = dict(BLANK_LEAF)
    return tree


def value_text(node: dict[str, Any]) -> tuple[str, str]:
    """A leaf's value(s) as the editor's text inputs show them."""
    value = node.get("value")

    def show(v: Any) -> str:
        if isinstance(v, bool):
            return "yes" if v else "no"
        if is_number(v) and float(v).is_integer():
            return str(int(v))
        return "" if v is None else str(v)

    if node.get("op") == "between" and isinstance(value, list) and len(value) == 2:
        return show(value[0]), show(value[1])
    if isinstance(value, list):
        return ", ".join(show(v) for v in value), ""
    return show(value), ""


def field_options() -> list[dict[str, Any]]:
    """Fields for the editor's lists, with their operators and choices (for the optional JS too)."""
    return [
        {
            "key": key,
            "label": str(spec.label),
            "type": spec.type,
            "operators": list(spec.operators),
            "choices": [(k, str(label)) for k, label in spec.choices],
        }
        for key, spec in FIELDS.items()
    ]


# ---------------------------------------------------------------- values typed in the editor


_GROUPED = re.compile(r"^-?\d{1,3}([.,\s]\d{3})+$")


def parse_number(text: str) -> int | float | None:
    """``2,500,000`` / ``2.500.000`` / ``2500000`` / ``1.5`` -> a number; None when it is not one."""
    text = text.strip().replace("\u00a0", " ")
    if _GROUPED.match(text):
        text = re.sub(r"[.,\s]", "", text)
    text = text.replace("_", "")
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return None


def parse_value(field_key: str, op: str, text: str, text2: str = "") -> Any:
    """A leaf value from the editor's text inputs; text that does not fit stays text (validation says so)."""
    spec = FIELDS.get(field_key)
    text = (text or "").strip()
    if spec is None:
        return text
    items = [t.strip() for t in re.split(r"[;\n]|,(?!\d{3})", text) if t.strip()]
    if spec.type == NUMBER:
        if op == "between":
            low, high = parse_number(text), parse_number(text2 or "")
            return [low if low is not None else text, high if high is not None else (text2 or "").strip()]
        if op in ("in", "not_in"):
            return [parse_number(t) if parse_number(t) is not None else t for t in items]
        number = parse_number(text)
        return number if number is not None else text
    if spec.type == BOOL:
        lowered = text.lower()
        if lowered in ("true", "yes", "1", "ya", "có"):
            return True
        if lowered in ("false", "no", "0", "tidak", "không"):
            return False
        return text
    if spec.type in (ENUM, TEXT, REGION) and op in ("in", "not_in"):
        return items
    return text

"""The transaction rule (srs/core/transaction.py): no view rolls back by hand, every refusal a view
catches was attempted in ``attempt()``, and ``attempt()`` undoes the refused change alone.

Read from the source with ast: a view that catches a domain error outside ``attempt()`` would
commit what the refused change had begun as soon as it answers with a redirect.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from srs.core.errors import Conflict, ServiceError, ValidationFailed
from srs.core.transaction import after_commit, attempt
from srs.extensions import db
from srs.regions.models import Region

SRS = Path(__file__).resolve().parents[2] / "srs"


def _module_name(path: Path, root: Path) -> str:
    return ".".join(path.relative_to(root.parent).with_suffix("").parts)


_ROUTE = re.compile(r"^@\w+\.route\(", re.MULTILINE)


def view_modules(root: Path = SRS) -> list[Path]:
    """The modules that define routes (views, the API, the admin pages)."""
    return [p for p in sorted(root.rglob("*.py")) if _ROUTE.search(p.read_text())]


def hand_rollbacks(paths: list[Path]) -> list[str]:
    found = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if name == "rollback":
                found.append(f"{path.parent.name}/{path.name}:{node.lineno}")
    return found


def _is_attempt(statement: ast.stmt) -> bool:
    if not isinstance(statement, ast.With):
        return False
    call = statement.items[0].context_expr
    if not isinstance(call, ast.Call):
        return False
    func = call.func
    return (isinstance(func, ast.Name) and func.id == "attempt") or (
        isinstance(func, ast.Attribute) and func.attr == "attempt"
    )


def _caught(handler: ast.ExceptHandler, namespace: dict) -> list[type]:
    if handler.type is None:
        return [BaseException]
    value = eval(compile(ast.Expression(handler.type), "<handler>", "eval"), namespace)  # noqa: S307
    return list(value) if isinstance(value, tuple) else [value]


def unattempted_refusals(paths: list[Path], root: Path = SRS) -> list[str]:
    """``file:line`` of every ``try`` that catches a domain error but does not run in ``attempt()``."""
    found = []
    for path in paths:
        namespace = vars(importlib.import_module(_module_name(path, root)))
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Try):
                continue
            refusal = any(
                isinstance(cls, type) and issubclass(cls, ServiceError)
                for handler in node.handlers
                for cls in _caught(handler, namespace)
            )
            if refusal and not (len(node.body) == 1 and _is_attempt(node.body[0])):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_there_are_views_to_read():
    names = {p.relative_to(SRS).as_posix() for p in view_modules()}
    assert {"registry/views.py", "cases/views.py", "api/clients.py"} <= names


def test_no_view_rolls_back_by_hand():
    assert hand_rollbacks(view_modules()) == []


def test_every_refusal_a_view_catches_was_attempted():
    assert unattempted_refusals(view_modules()) == []


def test_the_checks_can_fail(tmp_path):
    package = tmp_path / "srs"
    package.mkdir()
    source = (
        "from srs.core.errors import Conflict\n"
        "from srs.core.transaction import attempt\n"
        "def view():\n"
        "    try:\n"
        "        change()\n"
        "    except Conflict:\n"
        "        db.session.rollback()\n"
        "    try:\n"
        "        with attempt():\n"
        "            change()\n"
        "    except (KeyError, Conflict):\n"
        "        pass\n"
        "    try:\n"
        "        int('x')\n"
        "    except ValueError:\n"
        "        pass\n"
    )
    path = package / "views.py"
    path.write_text(source)
    assert hand_rollbacks([path]) == ["srs/views.py:7"]
    namespace: dict = {}
    exec(compile(source, "views", "exec"), namespace)  # noqa: S102
    tree = ast.parse(source)
    tries = [n for n in ast.walk(tree) if isinstance(n, ast.Try)]
    flags = [
        any(issubclass(c, ServiceError) for h in t.handlers for c in _caught(h, namespace))
        and not (len(t.body) == 1 and _is_attempt(t.body[0]))
        for t in tries
    ]
    assert flags == [True, False, False]


def _region_name(code: str) -> str | None:
    return db.session.scalar(select(Region.name).where(Region.code == code))


def test_attempt_undoes_the_refused_change_alone(app, demo):
    with app.test_request_context():
        before = db.session.scalar(select(Region).where(Region.code == "35"))
        before.name = "Changed before"
        queued: list[str] = []
        after_commit(lambda: queued.append("before"))
        region = db.session.scalar(select(Region).where(Region.code == "35.16"))
        old = region.name
        with pytest.raises(Conflict), attempt():
            region.name = "Changed in the attempt"
            db.session.flush()
            after_commit(lambda: queued.append("attempt"))
            raise Conflict("refused")
        assert region.name == old
        assert _region_name("35") == "Changed before"
        from srs.core.transaction import commit

        commit()
        assert queued == ["before"]
        assert _region_name("35.16") == old


def test_attempt_lets_other_errors_through_and_keeps_success(app, demo):
    with app.test_request_context():
        region = db.session.scalar(select(Region).where(Region.code == "35.16"))
        with attempt():
            region.name = "Kept"
        assert _region_name("35.16") == "Kept"
        with pytest.raises(KeyError), attempt(ValidationFailed):
            raise KeyError("not a refusal")
        with pytest.raises(Conflict), attempt(ValidationFailed):  # only the errors named are refusals
            raise Conflict("x")
        db.session.rollback()

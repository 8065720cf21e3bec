"""Access decisions live in the ``can_*`` policies beside each aggregate (``srs/<feature>/policies.py``).

Views, services and templates ask a policy; none compares a person's role itself. Read from the
source with ast (Python) and a pattern (templates), so a ``.role ==`` that creeps back fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRS = ROOT / "srs"
TEMPLATES = ROOT / "templates"

# Where roles are the subject: the accounts feature (who has which role), the access declarations
# (core/access.py: roles_required and has_role itself) and the policies.
ALLOWED = {("core", "access.py")}
_COMPARISONS = (ast.Eq, ast.NotEq, ast.In, ast.NotIn)


def _allowed(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts
    return path.name == "policies.py" or parts in ALLOWED or parts[0] == "accounts"


def _is_role(node: ast.expr) -> bool:
    if isinstance(node, ast.Attribute) and node.attr == "role":
        # ``User.role == "officer"`` in a query picks users by role; it decides nobody's access.
        return not (isinstance(node.value, ast.Name) and node.value.id == "User")
    return isinstance(node, ast.Name) and node.id == "role"


def role_comparisons(root: Path = SRS) -> list[str]:
    """``file:line`` of every comparison of a person's role outside the allowed modules."""
    found = []
    for path in sorted(root.rglob("*.py")):
        if _allowed(path, root):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Compare) or not any(isinstance(op, _COMPARISONS) for op in node.ops):
                continue
            if any(_is_role(operand) for operand in (node.left, *node.comparators)):
                found.append(f"{path.relative_to(root.parent)}:{node.lineno}")
    return found


_TEMPLATE_ROLE = re.compile(r"\.role\s*(==|!=|\bin\b|\bnot\s+in\b)|\bhas_role\(")


def template_role_checks(root: Path = TEMPLATES) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.html")):
        if path.parent.name == "accounts":  # the user administration shows and sets roles
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if _TEMPLATE_ROLE.search(line):
                found.append(f"{path.relative_to(root.parent)}:{number}")
    return found


def test_no_role_comparison_outside_the_policies():
    assert role_comparisons() == []


def test_no_role_check_in_templates():
    assert template_role_checks() == []


def test_the_checks_see_a_role_comparison(tmp_path):
    # The two checks above can fail: a view comparing a role, and a template doing it, are found.
    package = tmp_path / "srs" / "somefeature"
    package.mkdir(parents=True)
    (package / "views.py").write_text(
        "def page(user):\n"
        "    if user.role == 'admin':\n"
        "        return 1\n"
        "    return 2 if current_user.role in ('officer',) else role != 'x'\n"
    )
    (package / "policies.py").write_text("def can_x(user):\n    return user.role == 'admin'\n")
    (package / "queries.py").write_text("stmt = select(User).where(User.role == 'officer')\n")
    found = role_comparisons(tmp_path / "srs")
    assert [f.rsplit(":", 1)[1] for f in found] == ["2", "4", "4"]
    pages = tmp_path / "templates" / "somefeature"
    pages.mkdir(parents=True)
    (pages / "page.html").write_text("ok\n{% if current_user.role in ('a', 'b') %}x{% endif %}\n")
    assert [f.rsplit(":", 1)[1] for f in template_role_checks(tmp_path / "templates")] == ["2"]


def test_every_policy_is_a_template_global(app):
    # A page asks the same function the view asks.
    from srs.cases import policies as cases
    from srs.dci import policies as dci
    from srs.programmes import policies as programmes
    from srs.referrals import policies as referrals
    from srs.registry import policies as registry

    for module in (registry, referrals, cases, programmes, dci):
        for name in dir(module):
            if name.startswith("can_"):
                assert app.jinja_env.globals.get(name) is getattr(module, name), name

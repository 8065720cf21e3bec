"""The house's one rule (docs/architecture.md): feature packages import downwards only.

Read from the source with ast, every import counted, those inside functions too: an import moved
into a function to dodge a circular import is still a circle.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRS = Path(__file__).resolve().parent.parent / "srs"

# From the bottom up. A package may import the ones before it, never the ones after it.
LAYERS = (
    "core",
    "regions",
    "agencies",
    "accounts",
    "registry",
    "programmes",
    "referrals",
    "cases",
    "reports",
    "privacy",
    "dci",
    "offline",
    "api",
)
# Plain modules at the bottom, which every package may import.
BASE_MODULES = {"srs.config", "srs.extensions"}
NOT_PACKAGES = {"static", "translations"}

Import = tuple[str, str, int]  # (imported module, importing file, line)


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(name: str, root: Path) -> str:
    """The srs module or package that ``name`` denotes (``srs.registry.services.get_client``:
    ``srs.registry.services``; ``srs.api``: the package)."""
    parts = name.split(".")
    while len(parts) > 1:
        base = root.parent.joinpath(*parts)
        if base.with_suffix(".py").exists() or (base / "__init__.py").exists():
            return ".".join(parts)
        parts.pop()
    return "srs"


def imports_of(root: Path = SRS) -> dict[str, list[Import]]:
    """For each module of srs/, the srs modules it imports (anywhere in the file)."""
    found: dict[str, list[Import]] = defaultdict(list)
    for path in sorted(root.rglob("*.py")):
        module = _module_name(path, root)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # from srs.x import y: y may be a module of srs.x, or a name defined in it.
                names = [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level > 0:
                raise AssertionError(f"{path}:{node.lineno}: use absolute imports (srs.…)")
            for name in names:
                if name == "srs" or name.startswith("srs."):
                    found[module].append(
                        (_resolve(name, root), str(path.relative_to(root.parent)), node.lineno)
                    )
    return found


def package_of(module: str, root: Path = SRS) -> str | None:
    """The feature package a module belongs to (None: srs itself or a plain module such as srs.cli)."""
    parts = module.split(".")
    if len(parts) >= 2 and (root / parts[1] / "__init__.py").exists():
        return parts[1]
    return None


def packages(root: Path = SRS) -> set[str]:
    return {p.name for p in root.iterdir() if (p / "__init__.py").exists() and p.name not in NOT_PACKAGES}


def upward_imports(imports: dict[str, list[Import]], root: Path = SRS) -> list[str]:
    """Every import from a package to one above it, or to a module of the app (srs.seed, srs.cli ...)."""
    wrong = []
    for module, targets in imports.items():
        source = package_of(module, root)
        if source is None:
            continue
        for target, where, line in targets:
            dest = package_of(target, root)
            if dest is None:
                if target not in BASE_MODULES:
                    wrong.append(f"{where}:{line} {source} imports {target}, a module of the app above all")
            elif dest != source and LAYERS.index(dest) > LAYERS.index(source):
                wrong.append(f"{where}:{line} {source} imports {target}, a layer above it")
    return sorted(wrong)


def package_cycles(imports: dict[str, list[Import]], root: Path = SRS) -> list[list[str]]:
    """Circles in the graph of packages and plain srs modules (Tarjan's strongly connected parts)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for module, targets in imports.items():
        source = package_of(module, root) or module
        for target, _where, _line in targets:
            dest = package_of(target, root) or target
            if dest != source:
                graph[source].add(dest)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            part = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                part.append(member)
                if member == node:
                    break
            if len(part) > 1:
                cycles.append(sorted(part))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def api_importers(imports: dict[str, list[Import]], root: Path = SRS) -> list[str]:
    """Modules of feature packages other than srs.api that import srs.api (the app's own modules,
    srs/__init__.py and srs/features.py, mount it)."""
    wrong = []
    for module, targets in imports.items():
        if package_of(module, root) in (None, "api"):
            continue
        for target, where, line in targets:
            if target == "srs.api" or target.startswith("srs.api."):
                wrong.append(f"{where}:{line} imports {target}")
    return sorted(wrong)


def test_every_feature_package_has_its_layer():
    unknown = packages() - set(LAYERS)
    assert not unknown, f"put {sorted(unknown)} in LAYERS here and in docs/architecture.md"


def test_no_import_cycle_between_packages():
    assert package_cycles(imports_of()) == []


def test_packages_import_downwards_only():
    assert upward_imports(imports_of()) == []


def test_services_never_import_the_api_layer():
    assert api_importers(imports_of()) == []


def test_the_checks_see_a_circle_and_an_upward_import(tmp_path):
    """The checks themselves: a made-up tree with core importing regions, regions importing core."""
    root = tmp_path / "srs"
    for package, body in {
        "core": "from srs.regions.models import Region\n",
        "regions": "def f():\n    from srs.core import audit\n    from srs.api.helpers import x\n",
        "api": "",
    }.items():
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text(body)
    (root / "__init__.py").write_text("")
    (root / "core" / "audit.py").write_text("")
    (root / "regions" / "models.py").write_text("")
    imports = imports_of(root)
    assert package_cycles(imports, root) == [["core", "regions"]]
    assert upward_imports(imports, root) == [
        "srs/core/__init__.py:1 core imports srs.regions.models, a layer above it",
        "srs/regions/__init__.py:3 regions imports srs.api, a layer above it",
    ]
    assert api_importers(imports, root) == ["srs/regions/__init__.py:3 imports srs.api"]

"""Every background job runs under the one ``@job`` decorator (srs/core/queue.py): a fresh session,
one commit, the after-commit work, one log line. Nothing the worker runs bypasses it.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from srs.core.queue import job
from srs.core.wiring import wiring

SRS = Path(__file__).resolve().parents[2] / "srs"
ENQUEUERS = {"enqueue_after_commit", "enqueue", "prepare_data", "enqueue_in", "enqueue_at"}


def _function(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def enqueued_targets(root: Path = SRS) -> list[tuple[str, str]]:
    """(where, dotted name) of every job the code puts on a queue by a name it spells out."""
    found = []
    for path in sorted(root.rglob("*.py")):
        module = ".".join(path.relative_to(root.parent).with_suffix("").parts)
        namespace = None
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name not in ENQUEUERS:
                continue
            target = node.args[0]
            if isinstance(target, ast.Call) and getattr(target.func, "id", None) == "job_name":
                target = target.args[0]
            where = f"{path.relative_to(root)}:{node.lineno}"
            if isinstance(target, ast.Constant) and isinstance(target.value, str):
                found.append((where, target.value))
            elif isinstance(target, (ast.Name, ast.Attribute)):
                namespace = namespace or vars(importlib.import_module(module))
                try:
                    value = eval(compile(ast.Expression(target), where, "eval"), namespace)  # noqa: S307
                except NameError:  # a parameter (the periodic scheduler's job.func): checked below
                    continue
                if callable(value):
                    found.append((where, f"{value.__module__}.{value.__qualname__}"))
    return found


def test_every_periodic_job_runs_under_the_job_decorator(app):
    jobs = wiring(app).periodic_jobs
    assert jobs
    bypassing = [j.func for j in jobs if not getattr(_function(j.func), "srs_job", False)]
    assert bypassing == []


def test_every_job_put_on_a_queue_runs_under_the_job_decorator(app):
    targets = enqueued_targets()
    assert any(name == "srs.registry.jobs.import_clients" for _, name in targets)
    bypassing = [(where, name) for where, name in targets if not getattr(_function(name), "srs_job", False)]
    assert bypassing == []


def test_the_check_sees_a_bare_function():
    def bare() -> None:
        pass

    assert not getattr(bare, "srs_job", False)
    assert getattr(job(bare), "srs_job", False)

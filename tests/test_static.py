"""The style sheets are well formed: every block closed, so no rule silently lands inside another.

Parallel branches merge the style sheet line by line (.gitattributes: union), which once left
``@media print {`` open and moved every later rule into print-only styles.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from srs.config import PROJECT_ROOT

STYLE_SHEETS = sorted((PROJECT_ROOT / "srs" / "static").rglob("*.css"))


def _unclosed_blocks(css: str) -> list[str]:
    """Problems with the braces of ``css`` (comments and strings ignored); empty when well formed."""
    text = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    text = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'', '""', text)
    problems, depth = [], 0
    for number, line in enumerate(text.splitlines(), 1):
        for char in line:
            depth += {"{": 1, "}": -1}.get(char, 0)
            if depth < 0:
                problems.append(f"line {number}: '}}' without a block to close")
                depth = 0
        # Top-level rules start at column 0; one starting there while a block is open means a lost '}'.
        if depth > 0 and re.match(r"[.#a-zA-Z@:\[*]", line) and "{" in line and not line.endswith("{"):
            opened_here = line.count("{") - line.count("}")
            if depth - opened_here > 0:
                problems.append(f"line {number}: a rule at the top level inside an open block")
    if depth:
        problems.append(f"{depth} block(s) never closed")
    return problems


@pytest.mark.parametrize("sheet", STYLE_SHEETS, ids=lambda p: p.name)
def test_every_block_of_the_style_sheet_is_closed(sheet: Path) -> None:
    assert _unclosed_blocks(sheet.read_text(encoding="utf-8")) == []


def test_the_check_finds_a_block_left_open() -> None:
    broken = "@media print {\n  a { color: inherit; }\n.pair-grid { display: grid; }\n"
    assert _unclosed_blocks(broken) != []
    assert _unclosed_blocks("@media print {\n  a { color: red; }\n}\n.b { c: d; }\n") == []

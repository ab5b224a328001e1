"""ra_desktop.textsafe sits below every layer: report and scoring share its rules, and scoring never
imports report (nor the worklist or the Qt layer above it)."""
from __future__ import annotations

import ast
from pathlib import Path

from ra_desktop import textsafe
from ra_desktop.report import text

PACKAGE = Path(textsafe.__file__).resolve().parent


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_report_text_uses_the_same_rules():
    assert (text.clean, text.shorten, text.csv_cell, text.ELLIPSIS) == \
        (textsafe.clean, textsafe.shorten, textsafe.csv_cell, textsafe.ELLIPSIS)
    assert text.header_text("ab\x1b\u202ecdef", 4) == "abc…"


def test_textsafe_imports_nothing_of_the_project():
    assert not any(m.startswith("ra_desktop") for m in _imports(PACKAGE / "textsafe.py"))


def test_scoring_does_not_import_the_layers_above_it():
    above = ("ra_desktop.report", "ra_desktop.worklist", "ra_desktop.ui", "ra_desktop.worker", "ra_desktop.app",
             "ra_desktop.cli", "PySide6")
    for path in sorted((PACKAGE / "scoring").glob("*.py")):
        bad = [m for m in _imports(path) if m.startswith(above)]
        assert not bad, (path.name, bad)

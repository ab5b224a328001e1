"""The import contracts cover what they claim: every runtime CLI command is in the "runtime never
imports the lab" contract (a new command is easy to forget: it is listed by hand)."""
from __future__ import annotations

import tomllib
from pathlib import Path

from ra_desktop.cli import COMMANDS

LAB_COMMANDS = {"train", "evaluate", "explain-eval"}


def _contract(name_start: str) -> dict:
    config = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    return next(c for c in config["tool"]["importlinter"]["contracts"] if c["name"].startswith(name_start))


def test_every_runtime_command_is_kept_from_the_lab():
    contract = _contract("The runtime never imports the lab")
    runtime = {module for name, (module, _help) in COMMANDS.items() if name not in LAB_COMMANDS}
    assert runtime <= set(contract["source_modules"]), runtime - set(contract["source_modules"])
    assert {"ra_desktop.train", "ra_desktop.evaluate"} <= set(contract["forbidden_modules"])


# Import cycles between ra_desktop's modules: none. grimp reads every import statement, those
# inside functions and under TYPE_CHECKING included, so a cycle cannot hide in a lazy import.
ALLOWED_CYCLE_EDGES: set[tuple[str, str]] = set()


def test_no_import_cycles_between_modules():
    import grimp

    graph = grimp.build_graph("ra_desktop", cache_dir=None)
    # An import a -> b is on a cycle exactly when b leads back to a.
    on_cycle = {
        (a, b)
        for a in graph.modules
        for b in graph.find_modules_directly_imported_by(a)
        if b in graph.modules and graph.chain_exists(importer=b, imported=a)
    }
    assert on_cycle == ALLOWED_CYCLE_EDGES, sorted(on_cycle - ALLOWED_CYCLE_EDGES)

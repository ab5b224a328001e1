"""The full installer's torchvision (issue #29): what the frozen app needs of it, without a build.

torchvision 0.29 loads its compiled operators from ``_C_stable.so`` with ``torch.ops.load_library``;
PyInstaller cannot see that, the contrib hook named a module that no longer exists, and the frozen
app failed with "operator torchvision::nms does not exist". These tests would have caught it: the
hook we ship must collect every library torchvision's sources load, and an installation missing
one must fail the self-test with a message that says so.
"""
from __future__ import annotations

import ast
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ra_desktop.cli import self_test

torchvision_spec = importlib.util.find_spec("torchvision")
pytestmark = pytest.mark.skipif(torchvision_spec is None, reason="torchvision is not installed")

ROOT = Path(__file__).resolve().parents[1]
HOOK = ROOT / "installer" / "hooks" / "hook-torchvision.py"


def _package() -> Path:
    return Path(list(torchvision_spec.submodule_search_locations)[0])


def _libraries_torchvision_loads() -> set[str]:
    """Names passed to torchvision's ``_load_library("...")`` anywhere in its sources."""
    names = set()
    for source in _package().rglob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None))
                    == "_load_library" and node.args and isinstance(node.args[0], ast.Constant)):
                names.add(node.args[0].value)
    return names


def _hook():
    spec = importlib.util.spec_from_file_location("hook_torchvision", HOOK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_hook_collects_every_library_torchvision_loads():
    wanted = _libraries_torchvision_loads()
    assert "_C_stable" in wanted  # the operators (nms...): the one whose absence broke the app
    hook = _hook()
    collected = {Path(src).name.split(".")[0]: dest for src, dest in hook.binaries}
    missing = wanted - set(collected)
    assert not missing, f"installer/hooks/hook-torchvision.py does not collect {sorted(missing)}"
    # Into the package folder, where _get_extension_path looks for them.
    assert {collected[name] for name in wanted} == {"torchvision"}
    assert hook.module_collection_mode == "pyz+py"


def test_the_spec_uses_our_hook_folder():
    spec = (ROOT / "installer" / "ra_desktop.spec").read_text(encoding="utf-8")
    assert 'hookspath=[str(ROOT / "installer" / "hooks")]' in spec


def test_a_torchvision_without_its_operators_fails_the_self_test_with_the_reason(tmp_path):
    # The frozen app's failure, reproduced: torchvision's package without _C_stable.so, imported
    # first on sys.path, the way the frozen entry point imports it.
    shutil.copytree(_package(), tmp_path / "torchvision",
                    ignore=shutil.ignore_patterns("_C_stable*", "__pycache__"))
    code = (f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n"
            "from ra_desktop.cli import self_test\n"
            "try:\n    self_test._torchvision()\n"
            "except self_test.StepFailed as exc:\n    print('FAILED:', exc)\n"
            "else:\n    print('PASSED')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("FAILED: torchvision is installed but does not import"), out.stdout
    assert "torchvision::nms does not exist" in out.stdout
    assert "_C_stable" in out.stdout


def test_the_installed_torchvision_passes():
    assert self_test._torchvision() is not None


def test_densenet_step_is_skipped_only_where_torchvision_is_optional(monkeypatch):
    args = argparse_namespace()
    monkeypatch.setattr(self_test, "_build_variant", lambda: None)
    assert self_test._densenet(args, {"torchvision": None}).startswith("skipped: no torchvision")
    monkeypatch.setattr(self_test, "_build_variant", lambda: "full")
    with pytest.raises(self_test.StepFailed, match="full variant must include torchvision"):
        self_test._densenet(args, {"torchvision": None})


def argparse_namespace():
    import argparse

    parser = argparse.ArgumentParser()
    self_test.add_arguments(parser)
    return parser.parse_args([])

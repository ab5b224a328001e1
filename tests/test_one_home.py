"""With RA_DESKTOP_HOME set, the app and the CLI write nothing for the user outside that folder.

Each command runs as a user would start it (its own process), with HOME pointed at an empty
folder and no XDG or matplotlib variables, so that anything written to ``~`` (Qt's settings,
matplotlib's and fontconfig's caches, ...) shows; TMPDIR is another empty folder, which must be
empty again at the end.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    from tests.tiny_model import make_tiny_model_folder

    return make_tiny_model_folder(tmp_path_factory.mktemp("model"))


def test_app_and_cli_write_only_under_ra_desktop_home(tmp_path, model_dir):
    home, ra_home, tmp, work = (tmp_path / n for n in ("home", "ra-home", "tmp", "work"))
    for folder in (home, tmp, work):
        folder.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("XDG_", "RA_DESKTOP_")) and k not in ("MPLCONFIGDIR", "HOME")}
    env.update(HOME=str(home), RA_DESKTOP_HOME=str(ra_home), TMPDIR=str(tmp), QT_QPA_PLATFORM="offscreen",
               PYTHONPATH=str(ROOT))

    def start(*args: str, **extra: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "ra_desktop", *args], cwd=work, env={**env, **extra},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def finish(proc: subprocess.Popen) -> str:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, f"{proc.args[3:5]}: rc {proc.returncode}\n{out[-2000:]}\n{err[-2000:]}"
        return out

    model = str(model_dir)
    finish(start("phantom", "--n", "2", "--seed", "900777", "--out", "ph", "--size", "400", "--allow-small",
                 "--workers", "1", "--quiet"))
    images = [str(p) for p in sorted((work / "ph").rglob("phantom_*[0-9].png"))]
    # Side by side, as a user might run them (each loads torch: a few seconds)
    procs = [start("inspect", "ph", "--json"),
             start("predict", "ph", "--model", model, "--device", "cpu", "--json"),
             start("report", *images, "--out", "reports", "--model", model, "--device", "cpu", "--summary"),
             start("evaluate", model, "ph", "--out", "evaluation", "--device", "cpu", "--bootstrap", "20",
                   "--quiet"),
             start("gui", "ph", "--model", model, "--device", "cpu", RA_DESKTOP_STARTUP_PROBE="1")]
    outputs = [finish(p) for p in procs]
    assert "ra-startup model" in outputs[-1]  # the window came up and the model loaded, then it quit

    assert _files(home) == [], f"written to HOME: {_files(home)}"
    assert _files(tmp) == [], f"left in the temporary folder: {_files(tmp)}"
    assert sorted(p.name for p in work.iterdir()) == ["evaluation", "ph", "reports"]  # what was asked for
    written = _files(ra_home)
    for expected in ("log/ra-desktop.log", "data/worklist.sqlite", "data/audit.jsonl"):
        assert expected in written
    assert any(p.startswith("cache/matplotlib/fontlist") for p in written), written  # evaluate's plots
    assert not any(p.startswith("config/layout") for p in written)  # offscreen runs never save a layout

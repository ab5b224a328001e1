"""The benchmark modules import, and the harness prints its table and writes JSON on tiny work.

Performance itself is measured by ``make bench``, never asserted in tests.
"""
from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted(p.stem for p in (ROOT / "bench").glob("bench_*.py"))


@pytest.mark.parametrize("name", MODULES)
def test_bench_modules_import(name):
    assert callable(importlib.import_module(f"bench.{name}").run)


def test_harness_table_and_json(monkeypatch, tmp_path, capsys):
    import bench.__main__ as harness
    from bench import _common

    fake = type("M", (), {"run": staticmethod(lambda: [
        _common.row("fake", "figure", None, "ms", samples=[1.0, 2.0, 3.0], ratio=1.5, baseline="other",
                    goal="<= 5 ms", ok=True),
        _common.not_run("fake", "gpu_thing", "no CUDA")])})
    monkeypatch.setattr(harness.importlib, "import_module", lambda name: fake)
    monkeypatch.setattr(harness, "HERE", tmp_path)
    assert harness.main(["fake"]) == 0
    out = capsys.readouterr().out
    assert "figure" in out and "1.50x other" in out and "not run: no CUDA" in out
    data = json.loads((tmp_path / "results" / "bench.json").read_text())
    assert {"cores", "cpu_model", "torch", "device"} <= set(data["meta"])
    row = data["benchmarks"][0]["rows"][0]
    assert row["value"] == 2.0 and row["spread"] == [1.0, 3.0]


def test_flop_count_of_vgg8():
    import torch

    from bench.bench_inference import forward_flops
    from ra_desktop.model import build_model

    flops = forward_flops(build_model("vgg8").eval(), torch.zeros(1, 3, 224, 224))
    assert 14.9e9 < flops < 15.1e9  # 7.49 G multiply-adds in the convolutions + 13 M in the classifier


def test_gpu_rows_say_not_run_without_cuda():
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    from bench.bench_gpu import run

    rows = run()
    assert rows and all(r["note"] == "not run: no CUDA" for r in rows)


def test_harness_runs_in_throwaway_user_folders(monkeypatch, tmp_path):
    import os

    import bench.__main__ as harness

    seen = {}

    def run():
        seen.update(home=os.environ["RA_DESKTOP_HOME"], mpl=os.environ["MPLCONFIGDIR"])
        return []

    monkeypatch.delenv("MPLCONFIGDIR")  # as in a user's shell: the harness points it into its home
    mine = os.environ["RA_DESKTOP_HOME"]
    monkeypatch.setattr(harness.importlib, "import_module", lambda name: type("M", (), {"run": staticmethod(run)}))
    monkeypatch.setattr(harness, "HERE", tmp_path)
    assert harness.main(["fake"]) == 0
    assert seen["home"] != mine and Path(seen["mpl"]).is_relative_to(seen["home"])
    assert not Path(seen["home"]).exists()  # removed at the end
    assert os.environ["RA_DESKTOP_HOME"] == mine and "MPLCONFIGDIR" not in os.environ


def test_bench_data_stays_in_the_repository_unless_told(monkeypatch, tmp_path):
    import subprocess

    from bench import _common

    monkeypatch.delenv("RA_BENCH_CACHE", raising=False)
    default = _common.cache_dir()
    assert ROOT in default.parents  # not the user's ~/.cache
    ignored = subprocess.run(["git", "check-ignore", "-q", str(default / "x.dcm")], cwd=ROOT)
    assert ignored.returncode == 0, "the bench cache must be ignored by git"
    monkeypatch.setenv("RA_BENCH_CACHE", str(tmp_path))
    assert _common.cache_dir() == tmp_path / _common.DATA_VERSION

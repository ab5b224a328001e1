"""``ra-desktop measure``: one record per file, values with their validity, failures reported, exit codes."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ra_desktop.cli import main
from ra_desktop.measure import NOTICE
from ra_desktop.phantom.generate import case_rng, generate_case
from ra_desktop.phantom.writer import write_case


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("measure")
    case = generate_case(case_rng(531100, 0), "Normal", 0, "R", 1400, seed_info=[531100, 0], joint_spaces=True)
    write_case(root, case, 531100, 0, ("dcm", "png"))
    Image.fromarray((np.random.default_rng(0).random((300, 240)) * 255).astype(np.uint8)).save(root / "noise.png")
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    return root


def test_json_records_and_exit_code(folder, capsys):
    code = main(["measure", str(folder), "--json", "--details"])
    recs = {Path(r["file"]).name: r for r in map(json.loads, capsys.readouterr().out.strip().splitlines())}
    assert code == 2  # a broken and a non-hand file
    dcm = recs["phantom_531100_000000.dcm"]
    assert dcm["ok"] and dcm["unit"] == "mm" and dcm["notice"] == NOTICE and 0.2 < dcm["mean_MCI"] < 0.6
    for name in ("MC2", "MC3", "MC4"):
        b = dcm["bones"][name]
        assert b["valid"] and b["reason"] is None and 4 < b["W"] < 12 and b["checks"] and b["edges"]
    assert sum(j["valid"] for j in dcm["joints"].values()) >= 4
    png = recs["phantom_531100_000000.png"]
    assert png["ok"] and png["unit"] == "px" and png["mean_MCI"] == pytest.approx(dcm["mean_MCI"], abs=0.01)
    assert not recs["noise.png"]["ok"] and recs["noise.png"]["reason"]
    assert not recs["broken.png"]["ok"] and recs["broken.png"]["error"]


def test_text_output_names_values_and_says_what_it_is_not(folder, capsys):
    code = main(["measure", str(folder / "RA" if (folder / "RA").exists() else folder / "Normal"), "--spacing", "0.15"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith(NOTICE) and "mean MCI (MC2-4)" in out and "MCI 0." in out and "JSW minimum" in out
    # Invalid values are never printed as numbers: only their reason.
    for line in out.splitlines():
        if "not valid" in line:
            assert " mm " not in line.split("not valid")[0]


def test_a_bad_file_alone(folder, capsys):
    assert main(["measure", str(folder / "noise.png")]) == 2
    assert "NOT MEASURABLE" in capsys.readouterr().out

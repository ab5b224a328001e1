"""scripts/wrist_spared_counterfactual.py: runs on wrist-spared twins, refuses twins with a diseased wrist."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ra_desktop.phantom import generate_dataset
from tests.tiny_model import make_tiny_model_folder

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "wrist_spared_counterfactual.py"


def _run(model, data, out=None):
    args = [sys.executable, str(SCRIPT), str(model), str(data)] + (["--json", str(out)] if out else [])
    return subprocess.run(args, capture_output=True, text=True, timeout=300)


def test_counterfactual_on_wrist_spared_twins(tmp_path):
    model = make_tiny_model_folder(tmp_path)
    spared = tmp_path / "spared"
    generate_dataset(spared, 2, 11, size=400, workers=1, progress=False, twins=True, spare_wrist=True,
                     severity_range=(2, 2))
    out = tmp_path / "cf.json"
    done = _run(model, spared, out)
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert result["summary"]["pairs"] == 1 and len(result["pairs"]) == 1
    row = result["pairs"][0]
    for key in ("ra", "twin", "ra_with_twin_wrist", "twin_with_ra_joints"):
        assert isinstance(row[key], float)
    assert row["wrist_pixels_changed"] < 0.05  # the twins share their wrist

    standard = tmp_path / "standard"
    generate_dataset(standard, 2, 11, size=400, workers=1, progress=False, twins=True, severity_range=(2, 2))
    refused = _run(model, standard)
    assert refused.returncode != 0 and "the wrist is diseased" in refused.stderr + refused.stdout

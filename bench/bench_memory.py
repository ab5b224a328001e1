"""Peak memory (max RSS) with the model loaded and a batch run, measured in a fresh subprocess.

The child loads the model, analyses one study fully (Grad-CAM + SHAP, as an opened case) and then
runs ``analyse_many`` over 48 bench studies (2k x 2.5k DICOM, Grad-CAM), and reports
``resource.getrusage(RUSAGE_SELF).ru_maxrss``. Baseline: the same interpreter after ``import torch``.
Goal: under 1.5 GB.
"""
from __future__ import annotations

import json
import subprocess
import sys

from bench._common import ROOT, row

GOAL_MB = 1536.0

CHILD = r"""
import json, resource, sys
sys.path.insert(0, {root!r})
import torch
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
from bench._common import load, studies
from ra_desktop.pipeline import analyse, analyse_many
files = studies({n})
model, _ = load()
loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
for _ in analyse(files[0], model, explanations=("gradcam", "shap")):
    pass
failed = sum(isinstance(r, Exception) for _, r in analyse_many(files, model, explanations=("gradcam",)))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"torch_only_mb": base, "model_loaded_mb": loaded, "peak_mb": peak, "failed": failed}}))
"""


def run(n: int = 48) -> list[dict]:
    out = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT), n=n)], capture_output=True,
                         text=True, timeout=900, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-800:])
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return [
        row("memory", "rss_torch_imported", r["torch_only_mb"], "MB", note="baseline: python + import torch"),
        row("memory", "rss_model_loaded", r["model_loaded_mb"], "MB", ratio=r["model_loaded_mb"] / r["torch_only_mb"],
            baseline="torch imported"),
        row("memory", "rss_peak_batch", r["peak_mb"], "MB", ratio=r["peak_mb"] / r["torch_only_mb"],
            baseline="torch imported", goal=f"< {GOAL_MB:.0f} MB", ok=r["peak_mb"] < GOAL_MB,
            note=f"model + one full case (Grad-CAM, SHAP) + batch of {n} studies ({r['failed']} failed); ru_maxrss"),
    ]


if __name__ == "__main__":
    for r in run():
        print(r)

"""Peak memory (max RSS) with the model loaded and a batch run, measured in a fresh subprocess.

The child loads the model, analyses one study fully (Grad-CAM + SHAP, as an opened case) and then
runs ``analyse_many`` over 48 bench studies (2k x 2.5k DICOM, Grad-CAM), and reports its peak
resident set (``VmHWM``; ``ru_maxrss`` would include the benchmark parent's peak, inherited
across fork + exec). Baseline: the same interpreter after ``import torch``.
Goal: at most 1.2 GB (issue 24).
"""
from __future__ import annotations

import json
import subprocess
import sys

from bench._common import ROOT, row

GOAL_MB = 1200.0

CHILD = r"""
import json, resource, sys
sys.path.insert(0, {root!r})

def hwm():
    # VmHWM: peak RSS of this process image. ru_maxrss would carry the (large) benchmark
    # parent's peak across fork + exec.
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

import torch
base = hwm()
from bench._common import load, studies
from ra_desktop.pipeline import analyse, analyse_many
files = studies({n})
model, _ = load()
loaded = hwm()
for _ in analyse(files[0], model, explanations=("gradcam", "shap")):
    pass
failed = sum(isinstance(r, Exception) for _, r in analyse_many(files, model, explanations=("gradcam",)))
peak = hwm()
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
            baseline="torch imported", goal=f"<= {GOAL_MB:.0f} MB", ok=r["peak_mb"] <= GOAL_MB,
            note=f"model + one full case (Grad-CAM, SHAP) + batch of {n} studies ({r['failed']} failed); VmHWM"),
    ]


if __name__ == "__main__":
    for r in run():
        print(r)

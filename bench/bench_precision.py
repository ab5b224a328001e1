"""Reduced precision on the CPU: bfloat16 against float32, with the bounds issue #24 sets.

bf16 may replace float32 only where, on the 400 held-out test phantoms (seed 500000, 1800 px, the
bundled model's test set as scripts/train_demo_model.sh makes it), the largest P(RA) difference is
<= 0.01, no label changes at the model's threshold, and every Grad-CAM map correlates >= 0.99
with float32's. Both runs use the pipeline's batched pass (``explain.predict_batch``: P(RA), OOD
and Grad-CAM); bf16 is ``torch.autocast("cpu", dtype=torch.bfloat16)`` around it (convolutions and
linear layers in bf16, the rest in float32). The speed row is a ratio measured in the same run.

``RA_BENCH_PRECISION_N`` (default 400) sets the number of phantoms; they are generated once into
the bench cache (a few minutes on 2 cores).
"""
from __future__ import annotations

import os
import time

import numpy as np

from bench._common import cache_dir, model_dir, not_run, row

SEED = 500000  # the held-out test set of the bundled model
SIZE = 1800
BOUNDS = {"dp": 0.01, "cam_r": 0.99}


def _data(n: int):
    from ra_desktop.phantom.generate import generate_dataset

    folder = cache_dir() / f"heldout-{SEED}-{SIZE}"
    have = sorted(folder.glob("*/*.png")) if folder.is_dir() else []
    if len(have) < n:
        generate_dataset(folder, n, SEED, size=SIZE, formats=("png",), workers=2, progress=False)
        have = sorted(folder.glob("*/*.png"))
    return have[:n]


def _inputs(files, config) -> np.ndarray:
    from ra_desktop.io import load_radiograph
    from ra_desktop.preprocess import prepare

    return np.stack([prepare(load_radiograph(f), config)[0] for f in files])


def _pass(model, xs: np.ndarray, bf16: bool):
    import torch

    from ra_desktop.explain.batch import predict_batch

    t0 = time.perf_counter()
    if bf16:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = predict_batch(model, xs)
    else:
        out = predict_batch(model, xs)
    return out, (time.perf_counter() - t0) * 1000.0 / len(xs)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel() - a.mean(), b.ravel() - b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else (1.0 if np.allclose(a, b) else 0.0)


def run() -> list[dict]:
    import torch

    from ra_desktop.model import load_model

    if not torch.backends.mkldnn.is_available():
        return [not_run("precision", "bf16 vs float32", "oneDNN is not available")]
    n = int(os.environ.get("RA_BENCH_PRECISION_N", "400"))
    path, what = model_dir()
    model = load_model(path, "cpu")
    files = _data(n)
    xs = _inputs(files, model.manifest.preprocess_config)
    _pass(model, xs[:8], False), _pass(model, xs[:8], True)  # warm-up of both kernels
    f32, ms32 = _pass(model, xs, False)
    b16, ms16 = _pass(model, xs, True)
    thr = float(model.manifest.threshold)
    dp = np.abs(f32.probabilities - b16.probabilities)
    flips = int(((f32.probabilities >= thr) != (b16.probabilities >= thr)).sum())
    r = np.array([_corr(a, b) for a, b in zip(f32.gradcam, b16.gradcam)])
    ood_flips = sum(int(a.in_distribution != b.in_distribution) for a, b in zip(f32.ood, b16.ood)
                    if a is not None and b is not None)
    desc = f"{n} held-out phantoms (seed {SEED}), {what}"
    ok = bool(dp.max() <= BOUNDS["dp"] and flips == 0 and r.min() >= BOUNDS["cam_r"])
    return [
        row("precision", "bf16 largest P(RA) difference", float(dp.max()), "", goal="<= 0.01",
            ok=bool(dp.max() <= BOUNDS["dp"]), note=f"median {np.median(dp):.2g}; {desc}"),
        row("precision", "bf16 label changes", flips, "of " + str(n), goal="0", ok=flips == 0,
            note=f"threshold {thr:.3f}; OOD verdict changes {ood_flips}"),
        row("precision", "bf16 Grad-CAM correlation (min)", float(r.min()), "", goal=">= 0.99",
            ok=bool(r.min() >= BOUNDS["cam_r"]), note=f"median {np.median(r):.4f}, Pearson per map"),
        row("precision", "bf16 batch pass per study", ms16, "ms", ratio=ms32 / ms16, baseline="float32 same run",
            note=f"float32 {ms32:.0f} ms/study; P(RA)+OOD+Grad-CAM; bounds {'met' if ok else 'NOT met'}"),
    ]


if __name__ == "__main__":
    for r_ in run():
        print(r_)

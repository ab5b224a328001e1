"""Cost of the explanations for VGG8 at 224×224 on CPU, relative to one forward pass.

Rows: forward pass (baseline), Grad-CAM (goal <= 2× forward), default SHAP (goal <= 2 s, backbone
forward included), captum GradientShap with 20 samples (reference: what a gradient SHAP costs).
Uses the demo model when ``models/ra-vgg8-phantom`` exists, else a seeded random VGG8 (the cost
does not depend on the weights). ``python -m bench.bench_explain`` prints the rows.
"""
from __future__ import annotations

import statistics
import time
from pathlib import Path

GRADCAM_GOAL_X = 2.0
SHAP_GOAL_MS = 2000.0


def _median_ms(fn, repeats: int) -> float:
    fn()  # warm-up: first calls allocate, trace the head, pick the SHAP layer
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def run(repeats: int = 5, seed: int = 0) -> list[dict]:
    import numpy as np
    import torch

    from ra_desktop.explain import grad_cam, shap_map
    from ra_desktop.model import build_model, load_model

    demo = Path(__file__).resolve().parent.parent / "models" / "ra-vgg8-phantom"
    if (demo / "manifest.json").is_file():
        loaded = load_model(demo, "cpu")
        module, layer, note = loaded.module, loaded.manifest.gradcam_target_layer, f"model {demo.name}"
    else:
        torch.manual_seed(seed)
        module, layer, note = build_model("vgg8").eval(), "features.block5.relu2", "random-weight VGG8"
    x = torch.from_numpy(np.random.default_rng(seed).standard_normal((1, 3, 224, 224)).astype(np.float32))
    setup = f"{note}, 224x224, CPU, {torch.get_num_threads()} threads, median of {repeats}"

    def forward():
        with torch.inference_mode():
            module(x)

    def gradient_shap():
        from captum.attr import GradientShap

        torch.manual_seed(seed)
        baselines = torch.cat([torch.zeros_like(x), 0.1 * torch.randn_like(x)])
        GradientShap(module).attribute(x, baselines=baselines, n_samples=20, target=1)

    fwd = _median_ms(forward, repeats)
    cam = _median_ms(lambda: grad_cam(module, x, layer), repeats)
    shp = _median_ms(lambda: shap_map(module, x, seed=seed), repeats)
    gs = _median_ms(gradient_shap, max(1, repeats // 2))

    def row(name, ms, goal=None, ok=None, extra=""):
        return {"bench": "explain", "name": name, "ms": round(ms, 1), "ratio_to_forward": round(ms / fwd, 2),
                "goal": goal, "ok": ok, "note": f"{setup}{extra}"}

    return [
        row("forward", fwd),
        row("gradcam", cam, f"<= {GRADCAM_GOAL_X}x forward", cam <= GRADCAM_GOAL_X * fwd),
        row("shap_default", shp, f"<= {SHAP_GOAL_MS:.0f} ms", shp <= SHAP_GOAL_MS,
            "; 7x7 regions, 128 permutations"),
        row("gradient_shap_20", gs, None, None, "; captum GradientShap n_samples=20 (reference)"),
    ]


if __name__ == "__main__":
    for r in run():
        print(f"{r['name']:<18} {r['ms']:>9.1f} ms  {r['ratio_to_forward']:>6.2f}x forward  goal {r['goal']!s:<18} {r['note']}")

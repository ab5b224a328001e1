"""One study, as the reader sees it (2k x 2.5k DICOM, bundled model, CPU).

Rows: a click on a case whose image is already decoded, until probability + Grad-CAM are ready,
and until SHAP is ready too, each against the model's forward pass at batch 1 measured in the same
run (issue 24's goals: 1.5x and 4x the forward pass); the whole analysis of one study from its file
(decode, preprocess, prediction + OOD, Grad-CAM, SHAP) against decoding alone. The two-pass path
the one-pass analysis replaced (a prediction pass, then a Grad-CAM pass) is timed for the note.
"""
from __future__ import annotations

import time

from bench._common import load, row, studies, timed


def _stages(gen):
    """(stage name, ms since start) for each stage of an ``analyse`` generator."""
    t0 = time.perf_counter()
    out = {}
    while True:
        try:
            st = next(gen)
        except StopIteration:
            return out
        out[st.stage] = (time.perf_counter() - t0) * 1000.0


def med(s):
    return sorted(s)[len(s) // 2]


def run(repeats: int = 7) -> list[dict]:
    import torch

    import ra_desktop.explain as explain
    from ra_desktop.io import load_radiograph
    from ra_desktop.pipeline import analyse
    from ra_desktop.preprocess import prepare

    model, note = load()
    files = studies()[:4]
    images = [load_radiograph(f) for f in files]
    to_cam, to_shap, whole, two_pass = [], [], [], []
    for i in range(repeats + 1):
        rg = images[i % len(images)]
        st = _stages(analyse(rg, model, explanations=("gradcam", "shap")))
        t0 = time.perf_counter()
        x, geometry = prepare(rg, model.preprocess_config)
        explain.predict_with_ood(model, x)
        explain.explain_case(model, x, geometry, "gradcam")
        old = (time.perf_counter() - t0) * 1000.0
        if i == 0:
            continue  # warm-up
        to_cam.append(st["gradcam"])
        to_shap.append(st["shap"])
        two_pass.append(old)
    decode = timed(lambda: load_radiograph(files[1]), 3)
    x1 = torch.randn(1, 3, 224, 224).contiguous(memory_format=torch.channels_last)

    def forward():
        with torch.inference_mode():
            model.module(x1)

    fwd = med(timed(forward, repeats))

    def one_study():
        _stages(analyse(files[2], model, explanations=("gradcam", "shap")))

    whole = timed(one_study, max(3, repeats // 2))

    shape = f"{images[0].pixels.shape[0]}x{images[0].pixels.shape[1]}"
    return [
        row("analysis", "click_to_probability_gradcam", None, "ms", samples=to_cam,
            ratio=med(to_cam) / fwd, baseline=f"forward b1 ({fwd:.0f} ms)", goal="<= 1.5x forward",
            ok=med(to_cam) <= 1.5 * fwd,
            note=f"{note}; image decoded ({shape}); preprocess + one pass + map on image; "
                 f"{med(to_cam) / med(two_pass):.2f}x the former two-pass path ({med(two_pass):.0f} ms)"),
        row("analysis", "click_to_shap", None, "ms", samples=to_shap, ratio=med(to_shap) / fwd,
            baseline=f"forward b1 ({fwd:.0f} ms)", goal="<= 4x forward", ok=med(to_shap) <= 4.0 * fwd,
            note="from the click until the SHAP map is placed"),
        row("analysis", "whole_study_from_file", None, "ms", samples=whole, ratio=med(whole) / med(decode),
            baseline="decoding alone", note="decode + preprocess + prediction/OOD + Grad-CAM + SHAP"),
    ]


if __name__ == "__main__":
    for r in run():
        print(r)

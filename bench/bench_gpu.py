"""GPU figures, run only where CUDA is present (nothing else depends on a GPU).

Rows: the whole analysis of one study on the GPU (decode, preprocess, prediction + OOD, Grad-CAM,
SHAP) against the same on the CPU; VGG8 training images/s with mixed precision (fp16 autocast +
gradient scaling, batch 32, 224x224) against float32 training. Without CUDA every row says
"not run: no CUDA".
"""
from __future__ import annotations

import time

from bench._common import load, not_run, row, studies, timed

WHOLE_GOAL = "< 30 ms"  # issue 24, on an H100
TRAIN_GOAL = "> 2000 images/s"


def _train_rate(module, amp: bool, steps: int = 12, batch: int = 32) -> float:
    import torch

    dev = torch.device("cuda")
    module.train()
    opt = torch.optim.Adam(module.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    x = torch.randn(batch, 3, 224, 224, device=dev)
    y = torch.randint(0, 2, (batch,), device=dev)

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.float16, enabled=amp):
            loss = torch.nn.functional.cross_entropy(module(x), y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    for _ in range(3):
        step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - t0)


def run() -> list[dict]:
    import torch

    if not torch.cuda.is_available():
        return [not_run("gpu", "gpu_whole_study", "no CUDA", WHOLE_GOAL),
                not_run("gpu", "gpu_train_amp", "no CUDA", TRAIN_GOAL)]
    from ra_desktop.model import build_model
    from ra_desktop.pipeline import analyse

    files = studies(4)
    gpu_model, note = load("cuda")
    cpu_model, _ = load("cpu")

    def whole(model):
        def go():
            for _ in analyse(files[1], model, explanations=("gradcam", "shap")):
                pass
            if model.device.type == "cuda":
                torch.cuda.synchronize()
        return go

    g = timed(whole(gpu_model), 5)
    c = timed(whole(cpu_model), 3)
    module = build_model("vgg8").cuda()
    amp = _train_rate(module, amp=True)
    fp32 = _train_rate(module, amp=False)
    name = torch.cuda.get_device_name(0)
    on_h100 = "H100" in name
    h100 = "" if on_h100 else " (on an H100; this is not one)"

    def ok_on_h100(met: bool) -> bool | None:
        return met if on_h100 else None  # the goals are an H100's; another card is reported, not judged
    return [
        row("gpu", "gpu_whole_study", None, "ms", samples=g, ratio=sorted(g)[len(g) // 2] / sorted(c)[len(c) // 2],
            baseline="CPU whole study", goal=WHOLE_GOAL + h100, ok=ok_on_h100(sorted(g)[len(g) // 2] < 30.0),
            note=f"{note} on {name}"),
        row("gpu", "gpu_train_amp", amp, "images/s", ratio=amp / fp32, baseline=f"float32 ({fp32:.0f}/s)",
            goal=TRAIN_GOAL + h100, ok=ok_on_h100(amp > 2000.0),
            note=f"VGG8 training, batch 32, fp16 autocast + GradScaler, {name}"),
    ]


if __name__ == "__main__":
    for r in run():
        print(r)

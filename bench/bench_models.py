"""The architectures side by side: cost per study of VGG8, DenseNet121/169 with and without attention.

Each network is built with seeded random weights (time and memory do not depend on the weights)
in a fresh process, so that one network's memory does not count against the next. Rows per
architecture: GFLOPs per 224 x 224 image, the forward pass at batch 1 (inference mode, channels-last
input, as the app runs it), Grad-CAM (forward + backward to the target layer), the process's
peak memory growth over the load and one Grad-CAM, and training images/s (steps of 16, bf16 autocast); time as a ratio to VGG8 measured in the same
run, memory in MB. Where torchvision is missing (the small CPU installer), the DenseNet rows say so.
"""
from __future__ import annotations

import json
import subprocess
import sys

from bench._common import ROOT, row

ARCHS = ("vgg8", "densenet121", "densenet169", "densenet121-no-attention", "densenet169-no-attention")

_CHILD = r"""
import json, resource, sys, time
import torch
from bench.bench_inference import forward_flops
from ra_desktop.explain.gradcam import grad_cam
from ra_desktop.model import ARCHITECTURES, build_model

arch, repeats = sys.argv[1], int(sys.argv[2])
torch.manual_seed(0)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
module = build_model(arch).eval()
x = torch.randn(1, 3, 224, 224)
flops = forward_flops(module, x)
xc = x.contiguous(memory_format=torch.channels_last)

def timed(fn, n=repeats):
    fn()
    out = []
    for _ in range(n):
        t0 = time.perf_counter(); fn(); out.append((time.perf_counter() - t0) * 1000.0)
    return out

def forward():
    with torch.inference_mode():
        module(xc)

fwd = timed(forward)
cam = timed(lambda: grad_cam(module, x, ARCHITECTURES[arch].gradcam_target_layer))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
# One training step as `ra-desktop train` takes it on a CPU with bf16: batch 16, autocast, Adam.
module.train()
opt = torch.optim.Adam(module.parameters(), lr=1e-4)
xb = torch.randn(16, 3, 224, 224).contiguous(memory_format=torch.channels_last)
yb = torch.arange(16) % 2

def step():
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = torch.nn.functional.cross_entropy(module(xb), yb)
    opt.zero_grad()
    loss.backward()
    opt.step()

train = timed(step, max(3, repeats // 3))
params = sum(p.numel() for p in module.parameters())
print(json.dumps({"flops": flops, "forward": fwd, "gradcam": cam, "mb": (peak - before) / 1024.0,
                  "params": params, "train_images_per_s": [16000.0 / t for t in train]}))
"""


def _measure(arch: str, repeats: int) -> dict | str:
    proc = subprocess.run([sys.executable, "-c", _CHILD, arch, str(repeats)], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return f"failed: {last}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(repeats: int = 9) -> list[dict]:
    import importlib.util

    rows: list[dict] = []
    base: dict | None = None
    for arch in ARCHS:
        if arch.startswith("densenet") and importlib.util.find_spec("torchvision") is None:
            rows.append(row("models", f"{arch}_forward_b1", None, "", note="not run: no torchvision"))
            continue
        got = _measure(arch, repeats)
        if isinstance(got, str):
            rows.append(row("models", f"{arch}_forward_b1", None, "", note=got, error=got))
            continue
        fwd, cam = sorted(got["forward"]), sorted(got["gradcam"])
        med_f, med_c = fwd[len(fwd) // 2], cam[len(cam) // 2]
        if arch == "vgg8":
            base = {"forward": med_f, "gradcam": med_c}
        note = f"{got['flops'] / 1e9:.2f} GFLOP/image, {got['params'] / 1e6:.1f} M parameters"
        rows += [
            row("models", f"{arch}_forward_b1", None, "ms", samples=got["forward"],
                ratio=med_f / base["forward"] if base else None, baseline="VGG8 forward" if base else None,
                note=note + "; random weights, inference mode, channels-last"),
            row("models", f"{arch}_gradcam", None, "ms", samples=got["gradcam"],
                ratio=med_c / base["gradcam"] if base else None, baseline="VGG8 Grad-CAM" if base else None,
                note="forward + backward to the Grad-CAM layer, 224 x 224"),
            row("models", f"{arch}_peak_memory", round(got["mb"], 1), "MB",
                note="peak resident growth of a fresh process over building the network and Grad-CAM"),
        ]
        rates = sorted(got["train_images_per_s"])
        med_t = rates[len(rates) // 2]
        if arch == "vgg8":
            base["train"] = med_t
        rows.append(row("models", f"{arch}_train_images_per_s", None, "images/s", samples=rates,
                        ratio=med_t / base["train"] if base else None, baseline="VGG8 training" if base else None,
                        note="training steps of 16 images, bf16 autocast, Adam (as ra-desktop train on a CPU)"))
    return rows


if __name__ == "__main__":
    for r in run():
        print(r)

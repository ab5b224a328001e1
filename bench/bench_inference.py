"""Network inference (VGG8, 224x224, CPU) against this machine's measured matrix-multiply rate.

The "hardware limit" of a forward pass is its floating-point operations (2 per multiply-add of every
convolution and linear layer, counted with hooks) divided by the best float32 GEMM rate measured
here in the same run; the ratio says how far from that limit inference runs. Rows: GEMM rate; the
app's forward (inference mode, channels-last input) at batch 1 and per image at batch 8; the plain
NCHW forward at batch 1 for comparison.
"""
from __future__ import annotations

from bench._common import load, row, timed


def forward_flops(module, x) -> float:
    """FLOPs (2 x multiply-adds) of convolutions and linear layers for one forward of ``x``."""
    import torch

    total = [0.0]

    def hook(m, inputs, out):
        if isinstance(m, torch.nn.Conv2d):
            k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
            total[0] += 2.0 * out.numel() * k
        elif isinstance(m, torch.nn.Linear):
            total[0] += 2.0 * out.numel() * m.in_features

    handles = [m.register_forward_hook(hook) for m in module.modules()
               if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    try:
        with torch.inference_mode():
            module(x)
    finally:
        for h in handles:
            h.remove()
    return total[0] / x.shape[0]


def gemm_gflops(n: int = 2048, repeats: int = 7) -> tuple[float, list[float], str]:
    """Best and all float32 matrix-multiply rates (GFLOP/s) with torch's threads, and which won.

    Two GEMMs: ``torch.matmul`` (BLAS) of n x n, and the same-size product run by oneDNN as a 1x1
    convolution (the library the network's convolutions use; on some CPUs BLAS is far slower).
    """
    import torch
    import torch.nn.functional as F

    a, b = torch.randn(n, n), torch.randn(n, n)
    # (n pixels x n channels) @ (n x n) as a 1x1 convolution over a 1 x n x (n/32) x 32 image
    img = torch.randn(1, n, n // 32, 32).contiguous(memory_format=torch.channels_last)
    w = torch.randn(n, n, 1, 1)
    flop = 2.0 * n**3
    out = {}
    with torch.inference_mode():
        for name, fn in (("BLAS matmul", lambda: a @ b), ("oneDNN 1x1 conv", lambda: F.conv2d(img, w))):
            out[name] = [flop / (t / 1000.0) / 1e9 for t in timed(fn, repeats, warmup=2)]
    best = max(out, key=lambda k: max(out[k]))
    return max(out[best]), out[best], best


def run(repeats: int = 7, batch: int = 8) -> list[dict]:
    import torch

    model, note = load()
    module = model.module
    x1 = torch.randn(1, 3, 224, 224)
    xb = torch.randn(batch, 3, 224, 224)
    flops = forward_flops(module, x1)
    peak, rates, which = gemm_gflops()
    ideal_ms = flops / (peak * 1e9) * 1000.0

    def fwd(x):
        xc = x.contiguous(memory_format=torch.channels_last)  # as the app's batched path does
        with torch.inference_mode():
            module(xc)

    def fwd_nchw():
        with torch.inference_mode():
            module(x1)

    b1 = timed(lambda: fwd(x1), repeats)
    bn = [t / batch for t in timed(lambda: fwd(xb), max(3, repeats // 2))]
    plain = timed(fwd_nchw, repeats)
    setup = f"{note}, {flops / 1e9:.2f} GFLOP/image, {torch.get_num_threads()} threads"

    def med(s):
        return sorted(s)[len(s) // 2]

    return [
        row("inference", "gemm_rate", None, "GFLOP/s", samples=rates,
            note=f"float32 2048^3 GEMM, best of BLAS matmul and oneDNN 1x1 conv ({which}); "
                 f"its best {peak:.0f} GFLOP/s is the limit used below"),
        row("inference", "forward_b1", None, "ms", samples=b1, ratio=med(b1) / ideal_ms,
            baseline=f"FLOPs/GEMM ({ideal_ms:.0f} ms)", note=setup + "; inference mode, channels-last"),
        row("inference", f"forward_b{batch}_per_image", None, "ms", samples=bn, ratio=med(bn) / ideal_ms,
            baseline=f"FLOPs/GEMM ({ideal_ms:.0f} ms)", note=setup),
        row("inference", "forward_b1_nchw", None, "ms", samples=plain, ratio=med(plain) / med(b1),
            baseline="channels-last b1", note="plain NCHW input (before this work)"),
    ]


if __name__ == "__main__":
    for r in run():
        print(r)

"""Batch analysis ("Analyse all": probability, OOD, Grad-CAM) of 2k x 2.5k uncompressed DICOM.

Row: studies per second over the 200 bench studies through ``pipeline.analyse_many`` (groups of ``worker.schedule.GROUP``,
one batched network pass per group, Grad-CAM's gradient through the head only, the next group
decoded on a helper thread; each group through ``pipeline.analyse_group``, as in the GUI's
"Analyse all"), against a plain loop of one-case ``analyse`` calls over the first
studies (the baseline, same run), and against the compute limit measured in the same run: the
best float32 GEMM rate divided by the model's FLOPs per image (``bench_inference``). Goal (issue
24): at least 65% of that limit.
"""
from __future__ import annotations

import os
import time

from bench._common import load, row, studies

GOAL_SHARE = 0.65  # of the compute limit
GOAL_J2K = 4.0  # compressed studies/s (issue 24)


def run(n: int = 200, n_plain: int = 16, batch_size: int | None = None) -> list[dict]:
    from ra_desktop.pipeline import analyse, analyse_many

    import torch

    from bench.bench_inference import forward_flops, gemm_gflops

    from ra_desktop.worker.schedule import GROUP

    batch_size = batch_size or GROUP  # the window's "Analyse all" group
    model, note = load()
    files = studies(n)
    flops = forward_flops(model.module, torch.randn(1, 3, *_input_size(model)))
    peak = gemm_gflops()[0]
    limit = peak * 1e9 / flops  # studies/s if the cores did nothing but the network's GEMMs

    def final(gen):
        while True:
            try:
                next(gen)
            except StopIteration as stop:
                return stop.value

    final(analyse(files[0], model, explanations=("gradcam",)))  # warm-up
    t0 = time.perf_counter()
    for f in files[:n_plain]:
        final(analyse(f, model, explanations=("gradcam",)))
    plain = n_plain / (time.perf_counter() - t0)

    # per-group times, for the spread
    rates, failed, done = [], 0, 0
    cpu0 = time.process_time()
    t0 = last = time.perf_counter()
    for i, res in analyse_many(files, model, explanations=("gradcam",), batch_size=batch_size):
        failed += isinstance(res, Exception)
        done += 1
        if done % batch_size == 0:
            now = time.perf_counter()
            rates.append(batch_size / (now - last))
            last = now
    total = time.perf_counter() - t0
    cpu_per_study = (time.process_time() - cpu0) / n
    rate = n / total
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    setup = (f"{note}; {n} studies ({failed} failed) in {total:.1f} s; groups of {batch_size}; "
             f"spread = per-group rate")
    return [
        row("batch", "batch_throughput", rate, "studies/s", spread=[min(rates), max(rates)],
            ratio=rate / limit, baseline=f"compute limit ({limit:.1f}/s = {peak:.0f} GFLOP/s / "
            f"{flops / 1e9:.1f} GFLOP)", goal=f">= {GOAL_SHARE:.0%} of limit", ok=rate >= GOAL_SHARE * limit,
            note=setup),
        row("batch", "batch_vs_plain_loop", rate, "studies/s", ratio=rate / plain,
            baseline=f"plain loop ({plain:.2f}/s)", note=f"the same batch against one-case analyses over {n_plain}"),
        # On a shared machine the wall-clock rate says how busy the others were; CPU time per study
        # (this process, all its threads) bounds what the cores could do if the app had them alone.
        row("batch", "batch_cpu_per_study", cpu_per_study * 1000.0, "ms CPU",
            ratio=cpu_per_study / (cores / limit), baseline=f"network GEMMs alone ({cores / limit * 1000:.0f} ms CPU)",
            note=f"CPU time per study over the {n}; {cores} cores / this = {cores / cpu_per_study:.1f} studies/s "
                 f"if the cores were the app's alone (an estimate, not a measurement of that)"),
        *_j2k_batch(model, batch_size, rate),
    ]


def _j2k_batch(model, batch_size: int, uncompressed_rate: float, n: int = 32) -> list[dict]:
    """The same batch over JPEG 2000 lossless studies (the bench's distinct twins, repeated): decoded
    in the app's process (the command line) and in the decoding process (the window, io.offdecode)."""
    from bench._common import j2k_studies, not_run
    from ra_desktop.io import offdecode
    from ra_desktop.pipeline import analyse_many

    twins = j2k_studies()
    if isinstance(twins, str):
        return [not_run("batch", "batch_throughput_j2k", twins, f">= {GOAL_J2K:.0f}/s")]
    files = [twins[i % len(twins)] for i in range(n)]
    rates, failed = {}, {}
    for where in ("in-process", "decoding process"):
        offdecode.enable(where == "decoding process")
        try:
            if where == "decoding process":
                offdecode.run(offdecode.frame_pixels, twins[0].read_bytes(), False, None)  # start it untimed
            t0 = time.perf_counter()
            failed[where] = sum(isinstance(res, Exception) for _, res in analyse_many(
                files, model, explanations=("gradcam",), batch_size=batch_size))
            rates[where] = n / (time.perf_counter() - t0)
        finally:
            offdecode.enable(False)
    return [
        row("batch", "batch_throughput_j2k", rates["decoding process"], "studies/s",
            ratio=rates["decoding process"] / uncompressed_rate,
            baseline=f"uncompressed batch ({uncompressed_rate:.2f}/s)", goal=f">= {GOAL_J2K:.0f}/s",
            ok=rates["decoding process"] >= GOAL_J2K,
            note=f"{n} JPEG 2000 lossless studies ({failed['decoding process']} failed), decoded in full in the "
                 "window's decoding process (io.offdecode), beside the network"),
        row("batch", "batch_throughput_j2k_in_process", rates["in-process"], "studies/s",
            ratio=rates["in-process"] / rates["decoding process"], baseline="decoding process",
            note=f"the same {n}, decoded in the app's own process as the command line does "
                 f"({failed['in-process']} failed)"),
    ]

def _input_size(model) -> tuple[int, int]:
    size = getattr(model.preprocess_config, "crop", None) or 224
    return int(size), int(size)


if __name__ == "__main__":
    for r in run():
        print(r)

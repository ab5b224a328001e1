"""``ra-desktop predict`` over an archive: one process against ``torchrun`` with 2 processes.

Rows: studies per second over N uncompressed 2k x 2.5k bench studies, end to end (the command as a
user runs it: Python and torch start, the model loads, every study is decoded, preprocessed and
classified, rank 0 prints the merged JSON Lines), for 1 process with all the cores' threads and
for 2 ranks (Gloo) with half the threads each; the 2-process row's ratio is to 1 process. The
steady-state rows take the difference between N studies and a few, so start-up cancels out: what
a long archive sees. Each run in its own throw-away RA_DESKTOP_HOME (the audit trail goes there).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._common import ROOT, model_dir, row, studies


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _predict(files: list[Path], model: Path, ranks: int, threads: int) -> float:
    """Seconds for one ``predict --json`` over ``files``; checks every file came back, in order."""
    launcher = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(ranks)] if ranks > 1 else []
    with tempfile.TemporaryDirectory(prefix="ra-bench-shard-") as home:
        env = {**os.environ, "RA_DESKTOP_HOME": home, "OMP_NUM_THREADS": str(threads),
               "PYTHONPATH": str(ROOT)}
        cmd = [sys.executable, *launcher, "-m", "ra_desktop", "predict", *map(str, files), "--json",
               "--model", str(model), "--device", "cpu"]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=1800)
        seconds = time.perf_counter() - t0
    recs = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or [r["file"] for r in recs] != [str(f) for f in files]:
        raise RuntimeError(f"predict with {ranks} process(es) failed (exit {proc.returncode}): "
                           f"{len(recs)} of {len(files)} records; {proc.stderr[-2000:]}")
    return seconds


def run(n: int = 48, n_small: int = 4, repeats: int = 3) -> list[dict]:
    import statistics

    from ra_desktop.shard import PER_RANK

    files = studies(n)
    model, note = model_dir()
    cores = _cores()
    threads = {1: cores, 2: max(1, cores // 2)}
    for ranks in (1, 2):
        _predict(files[:n_small], model, ranks, threads[ranks])  # warm the page cache and the imports
    end, steady, secs = {1: [], 2: []}, {1: [], 2: []}, {1: [], 2: []}
    for _ in range(repeats):  # 1 and 2 processes in turn: a busy spell on the machine hits both
        for ranks in (1, 2):
            small = _predict(files[:n_small], model, ranks, threads[ranks])
            full = _predict(files, model, ranks, threads[ranks])
            end[ranks].append(n / full)
            steady[ranks].append((n - n_small) / max(full - small, 1e-9))
            secs[ranks].append((full, small))
    med = {k: (statistics.median(end[k]), statistics.median(steady[k])) for k in (1, 2)}

    def detail(ranks: int) -> str:
        full, small = (statistics.median(x) for x in zip(*secs[ranks]))
        return (f"{threads[ranks]} torch thread(s) per process; median {n} studies in {full:.1f} s, "
                f"{n_small} in {small:.1f} s; {repeats} runs, 1 and 2 processes in turn")

    return [
        row("shard", "predict_1_process", None, "studies/s", samples=end[1],
            note=f"{note}; {n} uncompressed 2k x 2.5k DICOM, end to end (start-up included); {detail(1)}; "
                 f"{cores} cores"),
        row("shard", "predict_torchrun_2_processes", None, "studies/s", samples=end[2], ratio=med[2][0] / med[1][0],
            baseline=f"1 process ({med[1][0]:.2f}/s)",
            note=f"end to end: torchrun's agent, two torch imports and two model loads; Gloo, round-robin "
                 f"shards merged by rank 0 every {PER_RANK * 2} studies; {detail(2)}"),
        row("shard", "steady_1_process", None, "studies/s", samples=steady[1],
            note=f"({n} - {n_small}) studies / (time for {n} - time for {n_small}): start-up cancels out"),
        row("shard", "steady_torchrun_2_processes", None, "studies/s", samples=steady[2],
            ratio=med[2][1] / med[1][1], baseline=f"1 process ({med[1][1]:.2f}/s)",
            note="the same difference, 2 ranks"),
    ]


if __name__ == "__main__":
    for r in run():
        print(r)

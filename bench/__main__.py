"""``python -m bench [NAME ...]``: run every ``bench/bench_*.py`` (or the named ones), print one table
and write ``bench/results/bench.json``.

Each module exposes ``run() -> list[dict]`` (rows from :func:`bench._common.row`). A benchmark that
fails is reported as a row with its error, and the others still run. Figures are medians with their
spread [min, max]; where a figure has a natural baseline measured in the same run, its ratio to
that baseline is shown (robust to a loaded machine where absolute times are not).
"""
from __future__ import annotations

import contextlib
import importlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["io", "j2k", "inference", "models", "explain", "analysis", "batch", "shard", "gui", "teaching", "startup", "memory", "gpu"]


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"
    return str(v)


def _describe(row: dict) -> str:
    name = row.get("name") or row.get("metric") or "?"
    if "skipped" in row:
        return f"{row.get('bench', '?'):<9} {name:<30} {row.get('note', '')}"
    if "error" in row:
        return f"{row.get('bench', '?'):<9} {name:<30} ERROR {row['error']}"
    value = f"{_fmt(row.get('value'))} {row.get('unit', '')}".strip()
    spread = row.get("spread")
    spread_s = f"[{_fmt(spread[0])}, {_fmt(spread[1])}]" if spread else ""
    ratio = f"{row['ratio']:.2f}x {row.get('baseline') or ''}" if row.get("ratio") is not None else ""
    ok = {True: "ok", False: "MISSED", None: ""}.get(row.get("ok"), "")
    goal = f"goal {row['goal']}" if row.get("goal") is not None else ""
    return f"{row.get('bench', '?'):<9} {name:<30} {value:>16} {spread_s:<18} {ratio:<34} {goal:<18} {ok}"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def meta() -> dict:
    import torch

    cuda = torch.cuda.is_available()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(), "machine": platform.machine(),
        "cores": cores, "cpu_model": _cpu_model(), "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "device": torch.cuda.get_device_name(0) if cuda else "cpu (no CUDA)",
        "load_average_start": list(os.getloadavg()),
    }


@contextlib.contextmanager
def throwaway_user_folders():
    """The run's user folders (worklist, settings, log, audit, matplotlib's and fontconfig's caches)
    in a temporary RA_DESKTOP_HOME, removed at the end: benchmarks never touch the user's."""
    names = ("RA_DESKTOP_HOME", "MPLCONFIGDIR", "XDG_CACHE_HOME", "RA_DESKTOP_OWN_XDG_CACHE_HOME",
             "TORCHINDUCTOR_CACHE_DIR")
    from ra_desktop.environ import restored

    home = tempfile.mkdtemp(prefix="ra-bench-home-")
    try:
        with restored(names):
            os.environ["RA_DESKTOP_HOME"] = home
            from ra_desktop import paths

            paths.redirect_library_caches()  # inherited by the app processes bench_startup launches
            yield Path(home)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main(argv: list[str]) -> int:
    with throwaway_user_folders():
        return _main(argv)


def _main(argv: list[str]) -> int:
    found = sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    names = [n.removeprefix("bench_") for n in argv] or [n for n in ORDER if n in found] + [
        n for n in found if n not in ORDER]
    info = meta()
    print(f"# {info['cpu_model']}, {info['cores']} cores, torch {info['torch']} ({info['torch_threads']} threads), "
          f"device {info['device']}, load average {info['load_average_start'][0]:.2f}", flush=True)
    print(f"{'bench':<9} {'figure':<30} {'median':>16} {'spread [min,max]':<18} {'vs baseline':<34} "
          f"{'goal':<18} ok", flush=True)
    results: list[dict] = []
    for name in names:
        t0 = time.perf_counter()
        try:
            rows = importlib.import_module(f"bench.bench_{name}").run()
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
            traceback.print_exc()
            rows = [{"bench": name, "name": "error", "error": repr(exc), "ok": False}]
        for r in rows:
            print(_describe(r), flush=True)
        results.append({"module": f"bench_{name}", "seconds": round(time.perf_counter() - t0, 1), "rows": rows})
    info["load_average_end"] = list(os.getloadavg())
    out = HERE / "results" / "bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": info, "benchmarks": results}, indent=1))
    print(f"# load average at the end {info['load_average_end'][0]:.2f}; wrote {out}")
    # A missed goal is a finding (in the table and the JSON), not a failure; a crashed benchmark is.
    return 1 if any("error" in r for b in results for r in b["rows"]) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""``python -m bench [NAME ...]``: run every ``bench/bench_*.py`` (or the named ones), print a table
and write ``bench/results/bench.json``.

Each module exposes ``run() -> list[dict]``. A benchmark that fails is reported as a row with its
error, and the others still run.
"""
from __future__ import annotations

import importlib
import json
import platform
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _describe(row: dict) -> str:
    name = row.get("name") or row.get("metric") or "?"
    if "ms" in row:
        value = f"{row['ms']:.1f} ms"
    else:
        value = f"{row.get('value')} {row.get('unit', '')}".strip()
    extra = f"  ({row['ratio_to_forward']}x forward)" if "ratio_to_forward" in row else ""
    ok = {True: "ok", False: "MISSED", None: ""}.get(row.get("ok"), "")
    goal = f"goal {row['goal']}" if row.get("goal") is not None else ""
    return f"{row.get('bench', '?'):<10} {name:<28} {value:>14}{extra:<20} {goal:<24} {ok}"


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem for p in HERE.glob("bench_*.py"))
    results: list[dict] = []
    for name in names:
        module_name = name if name.startswith("bench_") else f"bench_{name}"
        t0 = time.perf_counter()
        try:
            rows = importlib.import_module(f"bench.{module_name}").run()
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
            traceback.print_exc()
            rows = [{"bench": module_name.removeprefix("bench_"), "name": "error", "error": repr(exc), "ok": False}]
        for r in rows:
            print(_describe(r), flush=True)
        results.append({"module": module_name, "seconds": round(time.perf_counter() - t0, 1), "rows": rows})
    out = HERE / "results" / "bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"utc": datetime.now(timezone.utc).isoformat(timespec="seconds"), "python": platform.python_version(),
            "machine": platform.machine(), "processor": platform.processor()}
    out.write_text(json.dumps({"meta": meta, "benchmarks": results}, indent=1))
    print(f"wrote {out}")
    return 0 if all(r.get("ok") is not False for b in results for r in b["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

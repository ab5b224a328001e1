"""Count what the bad-input corpus and the loader fuzzing tried, and how many crashed.

    .venv/bin/python scripts/fuzz_report.py                 # the test suite's own sizes
    .venv/bin/python scripts/fuzz_report.py --examples 1000 # longer fuzzing per group

Runs tests/test_io_bad_inputs.py and tests/test_io_fuzz.py under pytest (the same checks, the
same budgets) and prints a table from the counts they record. Exit status is pytest's.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100, help="hypothesis examples per fuzz group")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "counts.json"
        env = dict(os.environ, RA_FUZZ_REPORT=str(report), RA_FUZZ_EXAMPLES=str(args.examples),
                   QT_QPA_PLATFORM="offscreen")
        started = time.monotonic()
        code = subprocess.call(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore",
             "tests/test_io_bad_inputs.py", "tests/test_io_fuzz.py"], cwd=ROOT, env=env)
        seconds = time.monotonic() - started
        counts = json.loads(report.read_text()) if report.is_file() else {}
    width = max([len(g) for g in counts] + [10])
    cols = ("tried", "refused", "loaded", "crashed", "over_budget", "max_cpu_s", "max_memory_mb")
    print(f"\n{'group':<{width}}  " + "  ".join(f"{c:>13}" for c in cols))
    totals = dict.fromkeys(cols[:5], 0)
    for group, row in sorted(counts.items()):
        print(f"{group:<{width}}  " + "  ".join(f"{row[c]:>13}" for c in cols))
        if not group.startswith("batch"):
            for c in totals:
                totals[c] += row[c]
    fuzz = sum(r["tried"] for g, r in counts.items() if g.startswith("fuzz"))
    print(f"\nbroken inputs in the corpus: {counts.get('corpus', {}).get('tried', 0)}; "
          f"fuzz cases: {fuzz}; crashes: {totals['crashed']}; over budget: {totals['over_budget']}; "
          f"batch files reported: {counts.get('batch (predict)', {}).get('tried', 0)}; "
          f"{seconds:.0f} s; pytest exit {code}")
    return code


if __name__ == "__main__":
    sys.exit(main())

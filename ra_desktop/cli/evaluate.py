"""``ra-desktop evaluate MODEL_DIR DATA [DATA2 ...]``: metrics with 95% CIs, ROC, calibration."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ra_desktop.errors import RADesktopError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_dir", type=Path, help="model folder (manifest.json + weights)")
    parser.add_argument("data", type=Path, nargs="+",
                        help="labelled data sets: folders with RA/ and Normal/ (or labels.csv), or CSV files")
    parser.add_argument("--out", type=Path, default=Path("evaluation"),
                        help="folder for evaluation.json, plots and predictions (default: ./evaluation)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--bootstrap", type=int, default=2000,
                        help="bootstrap resamples for the 95%% intervals (default: 2000)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    try:
        from ra_desktop.evaluate.runner import evaluate, format_table  # lazy: torch

        if args.bootstrap < 0:
            raise RADesktopError("--bootstrap must be >= 0")
        doc = evaluate(args.model_dir, args.data, args.out, device=args.device, n_boot=args.bootstrap,
                       seed=args.seed, progress=not args.quiet, plots=not args.no_plots)
    except RADesktopError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    m = doc["model"]
    print(f"Model: {m['name']} {m['version']} ({m['architecture']}, sha256 {m['weights_sha256'][:12]}), "
          f"threshold {m['threshold']:.3f}")
    if m["synthetic_training_data"]:
        print(f"Note: {m['notice']}")
    print(format_table(doc["_reports"]))
    print(f"Values: estimate (95% CI, percentile bootstrap, {args.bootstrap} resamples, seed {args.seed}).")
    for ds in doc["datasets"]:
        for note in ds["notes"]:
            print(f"[{ds['name']}] note: {note}")
        if ds.get("synthetic"):
            print(f"[{ds['name']}] synthetic data ({ds['synthetic_reason']}): not evidence of clinical performance")
        for row in ds.get("sensitivity_by_severity", []):
            print(f"[{ds['name']}] sensitivity at severity {row['severity']}: {row['text']} "
                  f"({row['detected']}/{row['n']}, Wilson 95% CI)")
        if ds["skipped_files"]:
            print(f"[{ds['name']}] skipped {len(ds['skipped_files'])} unreadable file(s):")
            for item in ds["skipped_files"]:
                print(f"  {item['path']}: {item['reason']}")
        if ds["missing_files"]:
            print(f"[{ds['name']}] {len(ds['missing_files'])} listed file(s) missing on disk")
    print(f"Written: {Path(args.out) / 'evaluation.json'} and per-data-set plots/predictions in {args.out}")
    return 0

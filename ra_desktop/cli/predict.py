"""``ra-desktop predict FILE_OR_FOLDER...``: RA probability per image, headless.

Exit status: 0 all files analysed, 2 some file failed (the others are still reported),
1 the model could not be loaded.

Under ``torchrun`` each rank analyses every n-th file and rank 0 prints the merged lines in the
order one process prints them; rank 0 exits with the status above, the other ranks with 0.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ra_desktop import audit, paths
from ra_desktop.errors import RADesktopError
from ra_desktop.results import NO_VERDICT, ood_no_verdict, probability_texts
from ra_desktop.settings import load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``predict`` options."""
    from ra_desktop.cli.sharded import EPILOG

    parser.epilog = EPILOG.format(command="predict")
    parser.add_argument("paths", nargs="+", metavar="FILE_OR_FOLDER", help="images or folders of images")
    parser.add_argument("--model", metavar="DIR", default=None,
                        help="model folder (manifest.json + weights); default: the bundled model")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="where to run the model (default: auto = CUDA if available)")
    parser.add_argument("--json", action="store_true", help="one JSON object per file (JSON Lines)")
    parser.add_argument("--no-recursive", dest="recursive", action="store_false",
                        help="do not descend into sub-folders")


def _record(path: Path, result: Any = None, error: str | None = None, model: Any = None) -> dict[str, Any]:
    rec: dict[str, Any] = {"file": str(path), "ok": error is None}
    if error is not None:
        rec["error"] = error
        return rec
    m = model.manifest
    verdict = {"probability": round(float(result.probability), 6), "label": result.label,
               "threshold": float(result.threshold)}
    reason = ood_no_verdict(result.ood)
    rec["model_applies"] = reason is None
    if reason is None:
        rec.update(verdict)
    else:  # out of distribution: no verdict; the numbers stay for research, named as such
        rec.update(verdict=None, no_verdict_reason=reason, research_only_not_a_verdict=verdict)
    rec.update(
        model_name=m.name,
        model_version=m.version,
        model_sha256=m.weights_sha256,
        device=str(model.device),
        timings_ms={k: round(float(v), 1) for k, v in result.timings_ms.items()},
        notice=m.notice,
    )
    if result.ood is not None:
        rec["ood"] = {"distance": float(result.ood.distance), "threshold": float(result.ood.threshold),
                      "in_distribution": bool(result.ood.in_distribution)}
    return rec


def _text(rec: dict[str, Any]) -> str:
    if not rec["ok"]:
        return f"{rec['file']}: FAILED: {rec['error']}"
    t = rec["timings_ms"]
    if not rec["model_applies"]:
        return f"{rec['file']}: {NO_VERDICT}: {rec['no_verdict_reason']}"
    ood = "" if "ood" in rec else "  (no out-of-distribution check in this model)"
    texts = probability_texts(rec["probability"], rec["threshold"], decimals=3)
    return (
        f"{rec['file']}: P(RA)={texts[0]} -> {rec['label']} "
        f"(threshold {texts[1]}; {rec['model_name']} {rec['model_version']}) "
        f"load {t.get('load', 0):.0f} ms, preprocess {t.get('preprocess', 0):.0f} ms, "
        f"inference {t.get('inference', 0):.0f} ms{ood}"
    )


def run(args: argparse.Namespace) -> int:
    """Predict every image named by ``args.paths``; see the module docstring for exit codes."""
    model_dir = Path(args.model) if args.model else paths.default_model_dir()
    if args.model is None and not model_dir.exists():
        print(
            f"error: no model is installed (looked in {model_dir}); pass a model folder with "
            "--model DIR (a folder holding manifest.json and weights.safetensors, e.g. one written "
            "by 'ra-desktop train')",
            file=sys.stderr,
        )
        return 1
    # torch loads here, not at import: `ra-desktop --help` stays fast.
    from ra_desktop.cli import sharded
    from ra_desktop.io import iter_image_files
    from ra_desktop.pipeline import predict_file
    from ra_desktop.shard import map_ordered

    info = sharded.join(args.device)
    try:
        # Alone: the folder walk streams; under torchrun rank 0 lists once for every rank.
        files = (sharded.list_files(info, args.paths, args.recursive) if info.enabled
                 else iter_image_files([Path(p) for p in args.paths], recursive=args.recursive))
        model = sharded.load_everywhere(info, model_dir, args.device)
        if model is None:
            return 1 if info.is_main else 0
        if not args.json and info.is_main:
            print(f"model: {model.display_name} ({model.manifest.architecture}) on {model.device}; "
                  f"{model.manifest.notice}")
        reader = load_settings().reader_name

        def analyse(path: Path) -> dict[str, Any]:
            try:
                result = predict_file(path, model)
            except RADesktopError as exc:
                return _record(path, error=getattr(exc, "reason", None) or str(exc))
            # Each rank audits its own files: audit.record appends one O_APPEND write per event.
            audit.record(audit.ANALYSED, result.radiograph.case_id, reader=reader, source="cli predict",
                         model=audit.model_label(model.manifest), model_sha256=model.manifest.weights_sha256)
            return _record(path, result, model=model)

        def failed(path: Path, exc: Exception) -> dict[str, Any]:
            # anything else a broken file can throw: report, go on
            return _record(path, error=f"{type(exc).__name__}: {exc}")

        outcome = {"n": 0, "failed": False}

        def show(_i: int, rec: dict[str, Any]) -> None:
            outcome["n"] += 1
            outcome["failed"] |= not rec["ok"]
            print(json.dumps(rec) if args.json else _text(rec), flush=True)

        map_ordered(info, files, analyse, failed, show)
    finally:
        sharded.leave(info)
    if not info.is_main:
        return 0
    if outcome["n"] == 0:
        print("error: no image files found in " + ", ".join(args.paths), file=sys.stderr)
        return 2
    return 2 if outcome["failed"] else 0

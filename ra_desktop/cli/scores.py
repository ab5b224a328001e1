"""``ra-desktop scores``: Sharp/van der Heijde score files, phantom truth and reader agreement.

``scores truth GROUND_TRUTH_JSON... --out CSV`` exports phantoms' SvdH truth as a scores file
(reader "phantom truth"), one reading per image file the ground truth lists, under that image's
case id (what the worklist and its score exports use) or, with ``--ids stem``, the file stem.

``scores agreement CSV... [--json]`` pairs two readers' readings case by case (two readers, a
reader with a second reading under another name, or a reader against the phantom truth) and
prints quadratic-weighted kappa per area, ICC(2,1) and the smallest detectable change of the
totals (:mod:`ra_desktop.scoring.agreement`). A bad file is named with the line and the reason;
exit 2.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path, PurePosixPath

from ra_desktop.errors import ImageLoadError
from ra_desktop.scoring.agreement import (LEVEL, N_BOOT, SEED, AgreementError, agreement_of,
                                          format_table)
from ra_desktop.scoring.csvio import Reading, ScoresFileError, read_scores_csv, write_readings_csv
from ra_desktop.scoring.truth import TRUTH_READER, TruthUnavailable, truth_scores

MAX_GROUND_TRUTH_BYTES = 16 * 1024 * 1024


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments (two subcommands)."""
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    t = sub.add_parser("truth", help="export phantoms' SvdH truth as a scores CSV",
                       description="Export the per-area Sharp/van der Heijde truth of generated phantoms "
                                   "(the ground truth's \"svdh\" entry) as a scores CSV.")
    t.add_argument("ground_truth", nargs="+", type=Path, metavar="GROUND_TRUTH_JSON")
    t.add_argument("--out", type=Path, required=True, metavar="CSV")
    t.add_argument("--reader", default=TRUTH_READER, help=f"reader name in the file (default {TRUTH_READER!r})")
    t.add_argument("--ids", choices=("image", "stem"), default="image",
                   help="case ids: each listed image file's own (as the worklist has them; default) "
                        "or the ground truth file's stem")
    a = sub.add_parser("agreement", help="kappa per area, ICC and SDC of the totals",
                       description="Agreement between two readers' SvdH scores of the same cases.")
    a.add_argument("csv", nargs="+", type=Path, metavar="CSV")
    a.add_argument("--readers", nargs=2, metavar=("FIRST", "SECOND"),
                   help="the two readers to compare (needed when the files have more than two)")
    a.add_argument("--json", action="store_true", help="print the numbers as JSON")
    a.add_argument("--resamples", type=int, default=N_BOOT, help=f"bootstrap resamples (default {N_BOOT})")
    a.add_argument("--seed", type=int, default=SEED, help=f"bootstrap seed (default {SEED})")


def run(args: argparse.Namespace) -> int:
    return _truth(args) if args.action == "truth" else _agreement(args)


# ---- truth ------------------------------------------------------------------------------------------
def _case_ids(gt_path: Path, gt: dict, ids: str) -> list[str]:
    if ids == "stem":
        return [gt_path.stem]
    files = gt.get("files")
    if not isinstance(files, list) or not files:
        raise TruthUnavailable("the ground truth lists no image file (\"files\"); use --ids stem "
                               "to name the case by the file's stem")
    # lazy: pydicom loads when the command runs, not for --help
    from ra_desktop.io import load_radiograph

    root = gt_path.parent.parent  # the data-set layout: DIR/ground_truth/<stem>.json, DIR/<label>/<file>
    out = []
    for rel in files:
        p = PurePosixPath(str(rel))
        if p.is_absolute() or ".." in p.parts:
            raise TruthUnavailable(f"image path {str(rel)!r} leaves the data set folder")
        image = root.joinpath(*p.parts)
        if not image.is_file():
            raise TruthUnavailable(f"its image {p} is not in {root} (the data-set layout); "
                                   "use --ids stem to name the case by the file's stem")
        try:
            out.append(load_radiograph(image).case_id)
        except ImageLoadError as exc:
            raise TruthUnavailable(f"its image cannot be read for its case id: {exc}") from None
    return list(dict.fromkeys(out))


def _truth(args: argparse.Namespace) -> int:
    readings: list[Reading] = []
    failed = 0
    for path in args.ground_truth:
        try:
            if path.stat().st_size > MAX_GROUND_TRUTH_BYTES:
                raise TruthUnavailable("too large for a ground-truth file")
            gt = json.loads(path.read_text(encoding="utf-8"))
            scores = truth_scores(gt)
            hands = tuple(dict.fromkeys(k[0] for k in scores))
            for case_id in _case_ids(path, gt, args.ids):
                readings.append(Reading(case_id, args.reader, dict(scores), hands))
        except (OSError, UnicodeDecodeError, ValueError, TruthUnavailable) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            if isinstance(exc, (UnicodeDecodeError, json.JSONDecodeError)):
                reason = f"not a JSON file ({exc})"
            print(f"{path}: {reason}", file=sys.stderr)
            failed += 1
    if readings:
        write_readings_csv(args.out, readings)
        print(f"{args.out}: SvdH truth of {len(readings)} case{'s' if len(readings) != 1 else ''} "
              f"as reader {args.reader!r}")
    if failed:
        print(f"{failed} of {len(args.ground_truth)} ground-truth files failed"
              + ("" if readings else "; nothing written"), file=sys.stderr)
        return 2
    return 0


# ---- agreement -------------------------------------------------------------------------------------
def _agreement(args: argparse.Namespace) -> int:
    readings: list[Reading] = []
    seen: dict[tuple[str, str], Path] = {}
    errors = []
    for path in args.csv:
        try:
            for r in read_scores_csv(path):
                first = seen.setdefault((r.reader, r.case_id), path)
                if first is not path:
                    raise ScoresFileError(path, None, f"reader {r.reader!r} already has a reading of case "
                                                      f"{r.case_id!r} in {first}")
                readings.append(r)
        except ScoresFileError as exc:
            errors.append(str(exc))
    if args.resamples < 1:
        errors.append("--resamples must be at least 1")
    if errors:
        for e in errors:
            print(e, file=sys.stderr)
        print("no agreement computed: fix the files above", file=sys.stderr)
        return 2
    try:
        ag = agreement_of(readings, tuple(args.readers) if args.readers else None,
                          n_boot=args.resamples, seed=args.seed, level=LEVEL)
    except AgreementError as exc:
        print(f"{', '.join(map(str, args.csv))}: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(ag.to_dict(), indent=1, ensure_ascii=False))
    else:
        print(format_table(ag))
    return 0

"""``ra-desktop phantom``: generate synthetic PA hand radiographs with known RA lesions.

Seed convention: training sets use seeds < 100000, held-out test sets 500000+, the bundled demo
900000+ (so demo images are never seen in training).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

MIN_SIZE, MAX_SIZE = 1500, 3000


def _severity(text: str) -> tuple[int, int]:
    """"2" -> (2, 2); "1-3" -> (1, 3)."""
    parts = text.split("-")
    try:
        lo, hi = (int(parts[0]), int(parts[-1]))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"severity must look like 2 or 1-3, not {text!r}") from exc
    if not (1 <= lo <= hi <= 3) or len(parts) > 2:
        raise argparse.ArgumentTypeError(f"severity range must lie within 1-3, got {text!r}")
    return lo, hi


def _formats(text: str) -> tuple[str, ...]:
    out = tuple(f.strip().lower().replace("dicom", "dcm") for f in text.split(",") if f.strip())
    bad = [f for f in out if f not in ("png", "dcm")]
    if bad or not out:
        raise argparse.ArgumentTypeError(f"formats are png and/or dcm, got {text!r}")
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, help="number of images")
    parser.add_argument("--seed", type=int,
                        help="data-set seed (training < 100000, test >= 500000, demo >= 900000)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--ra-fraction", type=float, default=0.5, help="fraction of RA cases")
    parser.add_argument("--severity", type=_severity, default=(1, 3),
                        help="RA case severity or range, e.g. 1-3 (default) or 2")
    parser.add_argument("--workers", type=int, default=2, help="processes (output is identical)")
    parser.add_argument("--formats", type=_formats, default=("png",), help="png,dcm (default png)")
    parser.add_argument("--size", type=int, default=2000,
                        help=f"long side in pixels ({MIN_SIZE}-{MAX_SIZE}, default 2000)")
    parser.add_argument("--start-index", type=int, default=0, help="first case index (extend a set)")
    parser.add_argument("--allow-small", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--demo", action="store_true",
                        help="write the fixed demo set (resources/demo) to --out instead")
    parser.add_argument("--twins", action="store_true",
                        help="pairs of an RA case and its healthy twin (same hand, acquisition and noise; "
                             "only the lesions differ); --n must be even")
    parser.add_argument("--spare-wrist", action="store_true",
                        help="RA cases with a healthy wrist: each the standard case of its seed with the wrist "
                             "joints reset, so only finger joints carry disease (an evaluation set; with --twins, "
                             "the RA member of each pair)")
    parser.add_argument("--anatomy", type=int, choices=(1, 2), default=1,
                        help="1: the anatomy every phantom so far was drawn with (default); 2: shaped carpal bones, "
                             "distal radius and ulnar styloid, oriented trabeculae (a new look: not what the demo "
                             "model was trained on)")
    parser.add_argument("--joint-spaces", action="store_true",
                        help="draw radiographic joint spaces at the finger joints (a gap between the head and the "
                             "phalanx's concave base; without it the bones overlap there, as in every earlier set): "
                             "for joint space width measurement; not with --twins")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    # lazy: pydicom, scipy load when the command runs, not for --help
    from ra_desktop.phantom import generate_dataset

    if args.demo:
        from ra_desktop.phantom.demo import generate_demo  # lazy, as above

        rows = generate_demo(args.out)
        print(f"{len(rows)} demo phantoms in {args.out}")
        return 0
    if args.n is None or args.seed is None:
        print("error: --n and --seed are required (or --demo)")
        return 2
    if not args.allow_small and not MIN_SIZE <= args.size <= MAX_SIZE:
        print(f"error: --size must be {MIN_SIZE}-{MAX_SIZE} px")
        return 2
    if args.n < 1 or not 0.0 <= args.ra_fraction <= 1.0:
        print("error: --n must be >= 1 and --ra-fraction within 0-1")
        return 2
    if args.twins and args.joint_spaces:
        print("error: --joint-spaces is not available with --twins")
        return 2
    if args.twins and (args.n % 2 or args.start_index % 2):
        print("error: --twins needs an even --n and --start-index (pairs)")
        return 2
    t0 = time.perf_counter()
    rows = generate_dataset(args.out, args.n, args.seed, ra_fraction=args.ra_fraction,
                            severity_range=args.severity, size=args.size, formats=args.formats,
                            workers=max(1, args.workers), start_index=args.start_index,
                            progress=not args.quiet, twins=args.twins, spare_wrist=args.spare_wrist,
                            joint_spaces=args.joint_spaces, anatomy=args.anatomy)
    n_ra = sum(r["label"] == "RA" for r in rows)
    dt = time.perf_counter() - t0
    print(f"{len(rows)} synthetic phantoms ({n_ra} RA, {len(rows) - n_ra} normal) in {args.out} "
          f"({dt:.1f} s); labels: {args.out / 'labels.csv'}")
    return 0

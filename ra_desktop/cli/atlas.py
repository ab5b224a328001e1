"""``ra-desktop atlas --out DIR``: a PDF handout of the radiographic markers of RA on a phantom hand.

Each marker (soft-tissue swelling, periarticular osteopenia, joint space narrowing, erosions,
ulnar deviation, subluxation, wrist ankylosis) at each severity beside the same hand healthy, with
arrows at the changed joints and the Sharp/van der Heijde grades of the truth. Offline, no model.
Exit status 0 when the PDF is written, 1 when it could not be.
"""
from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``atlas`` options."""
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the PDF")
    parser.add_argument("--seed", type=int, default=0, help="which phantom hand (default: 0)")
    parser.add_argument("--side", choices=("R", "L"), default="R", help="right or left hand (default: R)")
    parser.add_argument("--size", type=int, default=1800,
                        help="phantom height in pixels, 1500-3000 (default: 1800)")
    parser.add_argument("--anatomy", type=int, choices=(1, 2), default=2,
                        help="phantom anatomy: 2 shaped carpus and distal radius (default), 1 the plain wrist "
                             "the demo model was trained on")


def run(args: argparse.Namespace) -> int:
    """Write the atlas; see the module docstring for the exit status."""
    if not 1500 <= args.size <= 3000:
        print(f"error: --size must be 1500-3000, not {args.size}", file=sys.stderr)
        return 2
    # lazy: numpy, scipy, fpdf load when the command runs, not for --help
    from ra_desktop.phantom.atlas import MARKERS, plates
    from ra_desktop.report.atlas import write_atlas

    def progress(n: int, title: str) -> None:
        print(f"[{n + 1}/{len(MARKERS)}] {title}", file=sys.stderr, flush=True)

    try:
        out = write_atlas(plates(args.seed, args.side, args.size, args.anatomy), args.out, seed=args.seed, side=args.side,
                          progress=progress)
    except OSError as exc:
        print(f"error: the atlas could not be written to {args.out}: {exc}", file=sys.stderr)
        return 1
    print(out)
    return 0

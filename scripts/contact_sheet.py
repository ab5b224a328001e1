"""Render a grid of downsampled synthetic phantoms with their labels into one PNG.

Usage::

    .venv/bin/python scripts/contact_sheet.py --out contact_sheet.png [--seed 0] [--cols 4]
        [--rows 3] [--size 1500] [--tile 320]

or from a generated folder (reads labels.csv): ``--from DIR``.
"""
from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def _to_u8(img: np.ndarray) -> np.ndarray:
    lo, hi = np.percentile(img[::2, ::2], [0.5, 99.5])
    return (np.clip((img.astype(np.float32) - lo) / max(hi - lo, 1), 0, 1) * 255).astype(np.uint8)


def _tiles_generated(args):
    from ra_desktop.phantom import case_rng, generate_case

    plan = [("Normal", 0), ("RA", 1), ("RA", 2), ("RA", 3)]
    for k in range(args.cols * args.rows):
        label, sev = plan[k % 4]
        side = "R" if (k // 4) % 2 == 0 else "L"
        case = generate_case(case_rng(args.seed, k), label, sev, side, args.size, seed_info=[args.seed, k])
        gt = case.ground_truth
        extra = ",".join(f["type"].split("_")[0] for f in gt["other_findings"])
        yield case.image, f"{label} s{gt['severity']} {side} {extra}".strip()


def _tiles_folder(args):
    from ra_desktop.io import load_radiograph

    with open(Path(args.src) / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows[: args.cols * args.rows]:
        rad = load_radiograph(Path(args.src) / r["path"])
        yield np.asarray(rad.pixels), f"{r['label']} s{r['severity']} {rad.laterality or ''}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("contact_sheet.png"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cols", type=int, default=4)
    ap.add_argument("--rows", type=int, default=3)
    ap.add_argument("--size", type=int, default=1500, help="long side of each generated phantom")
    ap.add_argument("--tile", type=int, default=320, help="tile height in the sheet (px)")
    ap.add_argument("--from", dest="src", default=None, help="read a generated folder instead")
    args = ap.parse_args(argv)
    th, tw = args.tile, int(args.tile * 0.8)
    sheet = Image.new("L", (tw * args.cols, (th + 18) * args.rows), 0)
    draw = ImageDraw.Draw(sheet)
    tiles = _tiles_folder(args) if args.src else _tiles_generated(args)
    for k, (img, text) in enumerate(tiles):
        r, c = divmod(k, args.cols)
        tile = Image.fromarray(_to_u8(img)).resize((tw, th), Image.LANCZOS)
        sheet.paste(tile, (c * tw, r * (th + 18) + 18))
        draw.text((c * tw + 4, r * (th + 18) + 3), text, fill=255)
    sheet.save(args.out)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

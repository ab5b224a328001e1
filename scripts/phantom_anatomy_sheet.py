"""Contact sheet: the same phantoms drawn with anatomy 1 (default) and anatomy 2 (phantom.carpus).

Each row is one case: whole hand and a wrist crop, default then anatomy 2 (same seed, lesions,
acquisition and noise stream). Usage::

    .venv/bin/python scripts/phantom_anatomy_sheet.py --out docs/phantom-anatomy.png
"""
from __future__ import annotations

import argparse

import numpy as np
from PIL import Image, ImageDraw

from ra_desktop.phantom.generate import generate_case

CASES = [(11, "Normal", 0, "R"), (560007, "RA", 3, "L")]


def _u8(img: np.ndarray) -> np.ndarray:
    lo, hi = np.percentile(img[::2, ::2], [1.0, 99.8])
    return (np.clip((img.astype(np.float32) - lo) / max(hi - lo, 1), 0, 1) * 255).astype(np.uint8)


def _tiles(seed, label, sev, side, size, tile):
    out = []
    cases = [generate_case(seed, label, sev, side, size, anatomy=anatomy) for anatomy in (1, 2)]
    # Both crops frame the same field: around anatomy 1's radiocarpal joint.
    cx0, cy0 = cases[0].ground_truth["joints"]["radiocarpal"]["center"]
    for anatomy, case in zip((1, 2), cases):
        sp = case.ground_truth["pixel_spacing_mm"][0]
        cx, cy = cx0, cy0
        cx, cy, half = cx + (3 if side == "R" else -3) / sp, cy - 14 / sp, 42 / sp
        crop = case.image[int(cy - half):int(cy + half), int(cx - half):int(cx + half)]
        whole = Image.fromarray(_u8(case.image)).resize((int(tile * 0.8), tile), Image.LANCZOS)
        wrist = Image.fromarray(_u8(crop)).resize((tile, tile), Image.LANCZOS)
        out.append((f"anatomy {anatomy}" + (" (default)" if anatomy == 1 else ""), whole, wrist))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--size", type=int, default=2000)
    ap.add_argument("--tile", type=int, default=350)
    args = ap.parse_args(argv)
    t = args.tile
    w = 2 * (int(t * 0.8) + t) + 30
    sheet = Image.new("L", (w, len(CASES) * (t + 22) + 4), 40)
    draw = ImageDraw.Draw(sheet)
    for r, (seed, label, sev, side) in enumerate(CASES):
        y = r * (t + 22) + 20
        x = 0
        for k, (name, whole, wrist) in enumerate(_tiles(seed, label, sev, side, args.size, t)):
            x = k * (int(t * 0.8) + t + 30)
            sheet.paste(whole, (x, y))
            sheet.paste(wrist, (x + whole.width, y))
            draw.text((x + 4, y - 16), f"{name}: seed {seed}, {label}"
                      + (f" {sev}" if label == "RA" else "") + f", {side}", fill=235)
    sheet.save(args.out, optimize=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``ra-desktop inspect``: describe image files as a PACS administrator would.

Loads each file with :func:`ra_desktop.io.load_radiograph` and prints what a reader needs to
trust it (size, bit depth, polarity, window, spacing, laterality, syntax). No torch here: this
command must answer in well under a second per file.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.uid import UID

from ra_desktop.errors import ImageLoadError
from ra_desktop.io import Radiograph, iter_image_files, load_radiograph

# Column heading -> key in the per-file record, in display order.
_COLUMNS: tuple[tuple[str, str], ...] = (
    ("FILE", "path"),
    ("FORMAT", "format"),
    ("SIZE", "size"),
    ("BITS", "bits"),
    ("PHOTOMETRIC", "photometric"),
    ("RANGE", "range"),
    ("WINDOW C/W", "window"),
    ("SPACING mm", "spacing"),
    ("LAT", "laterality"),
    ("VIEW", "view_position"),
    ("MOD", "modality"),
    ("TRANSFER SYNTAX", "transfer_syntax_name"),
    ("CASE ID", "case_id"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("paths", nargs="+", type=Path, metavar="FILE_OR_FOLDER",
                        help="image files or folders (searched recursively)")
    parser.add_argument("--json", action="store_true",
                        help="print a JSON list, one object per file ({path, error} on failure)")


def run(args: argparse.Namespace) -> int:
    """Describe every file; exit 0 when all loaded, 2 when any failed or none was found."""
    records: list[dict[str, Any]] = []
    for path in iter_image_files(args.paths):
        try:
            records.append(describe(load_radiograph(path)))
        except ImageLoadError as exc:
            records.append({"path": str(path), "error": exc.reason})
    if args.json:
        print(json.dumps(records, indent=2))
    else:
        _print_table(records)
    if not records:
        print("no image files found in: " + ", ".join(map(str, args.paths)), file=sys.stderr)
        return 2
    return 2 if any("error" in r for r in records) else 0


def describe(rad: Radiograph) -> dict[str, Any]:
    """Plain, JSON-ready facts about one loaded radiograph.

    Parameters
    ----------
    rad : Radiograph

    Returns
    -------
    dict
        path, format, width, height, bits_stored, dtype, photometric, min, max, window_center,
        window_width, pixel_spacing_mm, laterality, view_position, modality, body_part,
        transfer_syntax (UID) and its name, case_id, notes.
    """
    px = rad.pixels
    lo = hi = None
    if px.size and not (px.dtype.kind == "f" and np.isnan(px).all()):
        lo, hi = (np.nanmin(px), np.nanmax(px))  # NaN would make the JSON invalid
    return {
        "path": str(rad.source_path),
        "format": rad.format,
        "width": rad.width,
        "height": rad.height,
        "bits_stored": rad.bits_stored,
        "dtype": str(px.dtype),
        "photometric": rad.photometric,
        "min": _number(lo),
        "max": _number(hi),
        "window_center": rad.window_center,
        "window_width": rad.window_width,
        "pixel_spacing_mm": list(rad.pixel_spacing_mm) if rad.pixel_spacing_mm else None,
        "laterality": rad.laterality,
        "view_position": rad.view_position,
        "modality": rad.modality,
        "body_part": rad.body_part,
        "transfer_syntax": rad.transfer_syntax,
        "transfer_syntax_name": UID(rad.transfer_syntax).name if rad.transfer_syntax else None,
        "case_id": rad.case_id,
        "notes": list(rad.notes),
    }


def _number(value) -> int | float | None:
    if value is None:
        return None
    if np.issubdtype(type(value), np.integer):
        return int(value)
    return round(float(value), 4)


def _cells(rec: dict[str, Any]) -> dict[str, str]:
    """Format one successful record as short strings for the table."""
    def g(v: Any) -> str:
        if v is None:
            return "-"
        return f"{v:g}" if isinstance(v, float) else str(v)

    window = "-"
    if rec["window_center"] is not None or rec["window_width"] is not None:
        window = f"{g(rec['window_center'])}/{g(rec['window_width'])}"
    spacing = rec["pixel_spacing_mm"]
    return {
        "path": rec["path"],
        "format": rec["format"],
        "size": f"{rec['width']}x{rec['height']}",
        "bits": f"{rec['bits_stored']} ({rec['dtype']})",
        "photometric": rec["photometric"],
        "range": f"{g(rec['min'])}..{g(rec['max'])}",
        "window": window,
        "spacing": "x".join(f"{s:g}" for s in spacing) if spacing else "-",
        "laterality": g(rec["laterality"]),
        "view_position": g(rec["view_position"]),
        "modality": g(rec["modality"]),
        "transfer_syntax_name": g(rec["transfer_syntax_name"]),
        "case_id": rec["case_id"],
    }


def _print_table(records: list[dict[str, Any]]) -> None:
    ok = [_cells(r) for r in records if "error" not in r]
    if ok:
        widths = [max(len(head), *(len(c[key]) for c in ok)) for head, key in _COLUMNS]
        print("  ".join(h.ljust(w) for (h, _), w in zip(_COLUMNS, widths)).rstrip())
        for cells in ok:
            print("  ".join(cells[k].ljust(w) for (_, k), w in zip(_COLUMNS, widths)).rstrip())
    noted = [r for r in records if r.get("notes")]
    if noted:
        print("\nNotes:")
        for rec in noted:
            for note in rec["notes"]:
                print(f"  {rec['path']}: {note}")
    failed = [r for r in records if "error" in r]
    if failed:
        print(f"\nFailed ({len(failed)} of {len(records)}):")
        for rec in failed:
            print(f"  {rec['path']}: {rec['error']}")

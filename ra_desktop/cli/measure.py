"""``ra-desktop measure FILE_OR_FOLDER...``: radiogrammetry per image, headless and automatic.

For each hand radiograph: the cortical index of MC2-4 (W, M, T, MCI with their spread over the
profiles, and the mean MCI) and the joint space widths of MCP2-5 and PIP2-5, each with its
validity; a value that failed validation is never printed, its reason is. No torch here.

Exit status: 0 every file was measured; 2 some file could not be read or was not measurable
(the others are still reported).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ra_desktop.errors import RADesktopError
from ra_desktop.io import iter_image_files, load_radiograph
from ra_desktop.measure import NOTICE, HandResult, measure_hand


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``measure`` options."""
    parser.add_argument("paths", nargs="+", metavar="FILE_OR_FOLDER", help="images or folders of images")
    parser.add_argument("--json", action="store_true", help="one JSON object per file (JSON Lines)")
    parser.add_argument("--spacing", type=float, metavar="MM", default=None,
                        help="pixel spacing for files that carry none (PNG, JPEG...); a file's own spacing wins")
    parser.add_argument("--details", action="store_true",
                        help="with --json: every automatic check, the profiles' edges and the joints' lines")
    parser.add_argument("--no-recursive", dest="recursive", action="store_false",
                        help="do not descend into sub-folders")


def _bone(b, details: bool) -> dict[str, Any]:
    out = {"valid": b.valid, "reason": b.reason, "source": b.source}
    if b.valid:
        out.update(W=b.W, M=b.M, T=b.T, MCI=b.MCI, spread=b.spread, n_profiles=b.n_profiles)
    out.update(ends=b.ends, region=b.region)
    if details:
        out.update(checks=[c.__dict__ for c in b.checks], edges=[e.__dict__ for e in b.edges], blur_px=b.blur_px)
    return out


def _joint(j, details: bool) -> dict[str, Any]:
    out = {"valid": j.valid, "reason": j.reason, "source": j.source}
    if j.valid:
        out.update(minimum=j.minimum, mean=j.mean)
    out.update(centre=j.centre, axis=j.axis)
    if details:
        out.update(checks=[c.__dict__ for c in j.checks], lines=j.lines)
    return out


def record(path: Path, result: HandResult | None = None, error: str | None = None,
           details: bool = False) -> dict[str, Any]:
    """One file's JSON record."""
    if error is not None:
        return {"file": str(path), "ok": False, "error": error}
    r = result
    return {
        "file": str(path), "ok": r.measurable, "measurable": r.measurable, "reason": r.reason,
        "unit": r.unit, "spacing_mm": r.spacing_mm, "mean_MCI": r.mean_MCI,
        "bones": {k: _bone(b, details) for k, b in r.bones.items()},
        "joints": {k: _joint(j, details) for k, j in r.joints.items()},
        "needs_manual": list(r.needs_manual), "thumb_side": r.thumb_side, "notes": list(r.notes),
        "seconds": r.seconds, "notice": r.notice,
    }


def _num(v: float | None, digits: int) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def text(rec: dict[str, Any]) -> str:
    """The record as lines for a terminal."""
    if "error" in rec:
        return f"{rec['file']}: FAILED: {rec['error']}"
    if not rec["measurable"]:
        return f"{rec['file']}: NOT MEASURABLE: {rec['reason']}"
    u = rec["unit"]
    lines = [f"{rec['file']}: mean MCI (MC2-4) {_num(rec['mean_MCI'], 3) if rec['mean_MCI'] is not None else 'not given'}"
             f"  [{u}; {rec['seconds']:.2f} s]"]
    for note in rec["notes"]:
        lines.append(f"  note: {note}")
    for name, b in rec["bones"].items():
        if b["valid"]:
            s = b["spread"]
            lines.append(f"  {name:<5} W {b['W']:.2f} {u}  M {b['M']:.2f} {u}  T {b['T']:.2f} {u}  MCI {b['MCI']:.3f}"
                         f"  (SD over {b['n_profiles']} profiles: W {s['W']:.2f}, T {s['T']:.2f}, MCI {s['MCI']:.3f})")
        else:
            lines.append(f"  {name:<5} not valid: {b['reason']} (place the bone's ends to measure it)")
    for name, j in rec["joints"].items():
        if j["valid"]:
            lines.append(f"  {name:<5} JSW minimum {j['minimum']:.2f} {u}  mean {j['mean']:.2f} {u}  ({j['source']})")
        else:
            lines.append(f"  {name:<5} JSW not valid: {j['reason']}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Measure every image named by ``args.paths``; see the module docstring for exit codes."""
    import sys

    if not args.json:
        print(NOTICE)
    any_failed = False
    n = 0
    for path in iter_image_files([Path(p) for p in args.paths], recursive=args.recursive):
        n += 1
        try:
            rad = load_radiograph(path)
            spacing = None if rad.pixel_spacing_mm else args.spacing
            rec = record(path, measure_hand(rad, spacing), details=args.details)
        except RADesktopError as exc:
            rec = record(path, error=getattr(exc, "reason", None) or str(exc))
        except (OSError, ValueError) as exc:  # anything else a broken file can throw: report, go on
            rec = record(path, error=f"{type(exc).__name__}: {exc}")
        any_failed |= not rec["ok"]
        print(json.dumps(rec) if args.json else text(rec), flush=True)
    if n == 0:
        print("error: no image files found in " + ", ".join(args.paths), file=sys.stderr)
        return 2
    return 2 if any_failed else 0

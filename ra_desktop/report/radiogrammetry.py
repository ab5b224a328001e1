"""The report's radiogrammetry section: MC2-4 values, mean MCI, joint space widths, each with
its validity, the change since the prior study, and the radiograph marked with what was measured;
and the batch CSV's measurement cells.

Plain data for :mod:`ra_desktop.report.pdf`. A rejected result is printed as "—" with its
reason, never as a number. These are measurements, not a diagnosis; reference ranges are not
bundled.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ra_desktop.report.model import ReportImage, Table

BONES = ("MC2", "MC3", "MC4")
JOINTS = tuple(f"{k}{r}" for k in ("MCP", "PIP") for r in range(2, 6))
NOTICE = ("Radiogrammetry: measurements, not a diagnosis; reference ranges are not bundled (compare with "
          "your own reference population).")
_OUTER, _INNER, _JOINT, _BAD = (255, 170, 40), (80, 220, 255), (140, 255, 120), (255, 90, 90)


@dataclass(frozen=True)
class RadiogrammetryData:
    """A study's stored radiogrammetry (a ``HandResult``), for its report and the batch CSV."""

    hand: Any
    method_version: str = ""
    corrected_by: dict[str, str] = field(default_factory=dict)  # site -> reader who placed its ends
    progression: list[str] = field(default_factory=list)  # lines: change since the prior study


def _v(value: float | None, unit: str, ratio: bool = False) -> str:
    if value is None:
        return "—"
    return f"{value:.3f}" if ratio else (f"{value:.2f}" if unit == "mm" else f"{value:.1f}")


def _status(res, corrected_by: dict[str, str], site: str) -> str:
    if not res.valid:
        return f"not valid: {res.reason}"
    who = corrected_by.get(site)
    what = "ends" if site.startswith("MC") and not site.startswith("MCP") else "points"
    return f"valid, {what} placed by {who}" if who else f"valid ({res.source})"


def radiogrammetry_tables(data: RadiogrammetryData | None) -> list[Table]:
    """Metacarpals, joints and (when there is a prior) the change; [] when not measured."""
    if data is None:
        return []
    hand = data.hand
    u = hand.unit
    version = f" Method version {data.method_version}." if data.method_version else ""
    if not hand.measurable and not any(b.valid for b in hand.bones.values()):
        return [Table("Radiogrammetry", [("Result", f"not measurable: {hand.reason or 'no valid measurement'}")],
                      note=NOTICE + version)]
    bones = [(k, _v(b.W, u), _v(b.M, u), _v(b.T, u), _v(b.MCI, u, True), _status(b, data.corrected_by, k))
             for k, b in ((k, hand.bones.get(k)) for k in BONES) if b is not None]
    mean = (f"Mean MCI (MC2–4): {hand.mean_MCI:.3f}." if hand.mean_MCI is not None
            else "Mean MCI: — (not all three metacarpals valid).")
    unit_note = "" if u == "mm" else " No pixel spacing: lengths in pixels."
    out = [Table("Radiogrammetry: metacarpal cortical index", bones,
                 ("Bone", f"W {u}", f"M {u}", f"T {u}", "MCI", "Status"),
                 f"{mean} W outer width, M medullary width, T = (W − M)/2, MCI = (W − M)/W, at 40–60% of "
                 f"each bone's length.{unit_note}{version} {NOTICE}", (0.1, 0.11, 0.11, 0.11, 0.11, 0.46))]
    joints = [(k, _v(j.minimum, u), _v(j.mean, u), _status(j, data.corrected_by, k))
              for k, j in ((k, hand.joints.get(k)) for k in JOINTS) if j is not None]
    if joints:
        out.append(Table("Radiogrammetry: joint space width", joints, ("Joint", f"min {u}", f"mean {u}", "Status"),
                         "Along the finger's axis over the joint's central 40%.", (0.1, 0.12, 0.12, 0.66)))
    if data.progression:
        out.append(Table("Radiogrammetry: change since the prior study", [], note="\n".join(data.progression)))
    return out


def measured_image(grey: np.ndarray, data: RadiogrammetryData | None, marker: str, max_px: int) -> ReportImage | None:
    """The radiograph as displayed with the measured edges and joint lines, or None."""
    if data is None or not any(b.valid for b in data.hand.bones.values()) and not any(
            j.valid for j in data.hand.joints.values()):
        return None
    img = Image.fromarray(grey).convert("RGB")
    draw = ImageDraw.Draw(img)
    unit = max(img.size) / min(max_px, max(img.size))
    line = max(1, round(2 * unit))
    font = ImageFont.load_default(size=max(8, round(14 * unit)))
    for name, b in data.hand.bones.items():
        if b.valid and b.edges:
            for side in (0, 1):
                draw.line([tuple(e.outer[side]) for e in b.edges], fill=_OUTER, width=line)
                draw.line([tuple(e.inner[side]) for e in b.edges], fill=_INNER, width=line)
            x, y = max((e.outer[s] for e in b.edges for s in (0, 1)), key=lambda p: p[0])
            draw.text((x + 3 * line, y), f"{name} {b.MCI:.3f}", fill=_OUTER, font=font, stroke_width=max(1, line // 2),
                      stroke_fill=(0, 0, 0))
        elif not b.valid and b.ends:
            draw.line([tuple(b.ends[0]), tuple(b.ends[1])], fill=_BAD, width=line)
    for name, j in data.hand.joints.items():
        if j.valid and j.lines:
            for a, b in j.lines:
                draw.line([tuple(a), tuple(b)], fill=_JOINT, width=line)
            x, y = j.lines[-1][1]
            draw.text((x + 3 * line, y - 8 * line), name, fill=_JOINT, font=font, stroke_width=max(1, line // 2),
                      stroke_fill=(0, 0, 0))
    scale = min(1.0, max_px / max(img.size))
    if scale < 1.0:
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS)
    return ReportImage("Radiogrammetry", np.asarray(img), "Measured: periosteal (orange) and endosteal (blue) "
                       "edges at mid-shaft of MC2–4 with their MCI, joint space lines (green); red: a bone whose "
                       "result is not valid. Measurements, not a diagnosis.", marker)


def csv_cells(data: RadiogrammetryData | None) -> dict[str, str]:
    """The batch CSV's measurement columns (see ``SummaryRow``); {} when not measured."""
    if data is None:
        return {}
    hand, u = data.hand, data.hand.unit
    out = {"rg_method_version": data.method_version, "rg_unit": u,
           "rg_measurable": "yes" if hand.measurable else f"no: {hand.reason}",
           "rg_mean_mci": _v(hand.mean_MCI, u, True).replace("—", "")}
    for k in BONES:
        b = hand.bones.get(k)
        if b is None:
            continue
        for attr in ("W", "M", "T"):
            out[f"rg_{k}_{attr}"] = _v(getattr(b, attr), u).replace("—", "")
        out[f"rg_{k}_MCI"] = _v(b.MCI, u, True).replace("—", "")
        out[f"rg_{k}_status"] = _status(b, data.corrected_by, k)
    for k in JOINTS:
        j = hand.joints.get(k)
        if j is None:
            continue
        out[f"rg_{k}_jsw_min"] = _v(j.minimum, u).replace("—", "")
        out[f"rg_{k}_jsw_mean"] = _v(j.mean, u).replace("—", "")
        out[f"rg_{k}_status"] = _status(j, data.corrected_by, k)
    return out


def csv_fields() -> list[str]:
    """Every measurement column, in order."""
    names = ["rg_method_version", "rg_unit", "rg_measurable", "rg_mean_mci"]
    for k in BONES:
        names += [f"rg_{k}_{a}" for a in ("W", "M", "T", "MCI", "status")]
    for k in JOINTS:
        names += [f"rg_{k}_{a}" for a in ("jsw_min", "jsw_mean", "status")]
    return names

"""Qt-free display logic of the viewer: measurement, orientation and readout text; the window/level
LUT and the presets, which live in :mod:`ra_desktop.render.window` (the inference lane renders a
study's first display with them), are re-exported here for the viewer.
"""
from __future__ import annotations

import math

import numpy as np

from ra_desktop.render.window import PRESET_LABELS, PRESETS, WindowLut, preset_window  # noqa: F401 (re-exported)


def distance(p0: tuple[float, float], p1: tuple[float, float],
             spacing_mm: tuple[float, float] | None) -> tuple[float, str]:
    """Length of an image-space segment ((x, y) points) and its unit: mm with spacing, else px.

    Spacing is (row, column) as in DICOM, so dy scales by the row spacing and dx by the column one.
    """
    dx, dy = p1[0] - p0[0], p1[1] - p0[1]
    if spacing_mm:
        row, col = spacing_mm
        return math.hypot(dx * col, dy * row), "mm"
    return math.hypot(dx, dy), "px"


def distance_text(p0, p1, spacing_mm) -> str:
    length, unit = distance(p0, p1, spacing_mm)
    return f"{length:.1f} {unit}"


def orientation_text(laterality: str | None, flip_h: bool, flip_v: bool, rotation: int) -> tuple[str, bool]:
    """Badge text for the side marker and whether the display is mirrored.

    A horizontal *or* vertical flip mirrors the hand (two flips are a 180° turn, not a mirror), so
    the badge says so: a mirrored left hand looks like a right one and must never pass silently.
    """
    side = {"L": "L", "R": "R"}.get((laterality or "").upper(), "L/R ?")
    mirrored = flip_h != flip_v
    parts = [side]
    if mirrored:
        parts.append("(flipped)")
    if rotation % 360:
        parts.append(f"rot {rotation % 360}°")
    return " ".join(parts), mirrored


def readout_text(pixels: np.ndarray, x: float, y: float, layers: dict[str, tuple[np.ndarray, bool]]) -> str:
    """"x 12  y 34   value 2048   |   Grad-CAM 0.412" for image point (x, y); "" outside the image.

    The value is the raw modality value (never the windowed display byte); layer values read
    "not seen" where the model had no input (NaN).
    """
    h, w = pixels.shape
    ix, iy = math.floor(x), math.floor(y)
    if not (0 <= ix < w and 0 <= iy < h):
        return ""
    raw = pixels[iy, ix]
    raw_text = f"{int(raw):d}" if np.issubdtype(pixels.dtype, np.integer) else f"{float(raw):.5g}"
    parts = [f"x {ix}  y {iy}   value {raw_text}"]
    for title, (values, signed) in layers.items():
        v = float(values[iy, ix])
        if not np.isfinite(v):
            parts.append(f"{title} not seen")
        else:
            parts.append(f"{title} {v:+.3f}" if signed else f"{title} {v:.3f}")
    return "   |   ".join(parts)

"""Values of the reader's annotations: an angle from three points, and the statistics of a
rectangular or elliptical region of interest. No Qt.

Points are image pixel coordinates (x right, y down) with pixel (col, row) covering
[col, col + 1) × [row, row + 1), so its centre is (col + 0.5, row + 0.5). A pixel belongs to a
region when its centre lies inside the drawn shape. Statistics are of the modality values (the
file's pixels after its rescale, never the windowed display). Spacing is (row, column) in mm, as
in DICOM: with it lengths, areas and angles are physical; without it areas are in px².
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ROI_KINDS = ("roi_rect", "roi_ellipse")
Point = tuple[float, float]


def angle_deg(a: Point, vertex: Point, c: Point, spacing_mm: tuple[float, float] | None = None) -> float | None:
    """The angle at ``vertex`` between the rays to ``a`` and ``c``, 0–180°; None when a ray has no
    length. With a non-square spacing the rays are scaled to mm first (the angle on the patient)."""
    row, col = spacing_mm if spacing_mm else (1.0, 1.0)
    ux, uy = (a[0] - vertex[0]) * col, (a[1] - vertex[1]) * row
    vx, vy = (c[0] - vertex[0]) * col, (c[1] - vertex[1]) * row
    if math.hypot(ux, uy) == 0 or math.hypot(vx, vy) == 0:
        return None
    return math.degrees(abs(math.atan2(ux * vy - uy * vx, ux * vx + uy * vy)))


@dataclass(frozen=True)
class RoiStats:
    """Mean and SD (sample, n − 1) of the modality values inside a region, its pixel count, and
    the drawn shape's area (mm² with spacing, else px²)."""

    mean: float | None
    sd: float | None
    n: int
    area: float
    unit: str  # "mm²" or "px²"
    minimum: float | None = None
    maximum: float | None = None


def roi_mask(shape: tuple[int, int], kind: str, p0: Point, p1: Point) -> tuple[slice, slice, np.ndarray]:
    """(rows, cols, mask): the pixels of the image whose centres lie in the shape spanned by the
    corners ``p0`` and ``p1``, as a boolean mask over ``image[rows, cols]``."""
    if kind not in ROI_KINDS:
        raise ValueError(f"no region kind {kind!r}; choose one of {', '.join(ROI_KINDS)}")
    h, w = shape
    x0, x1 = sorted((float(p0[0]), float(p1[0])))
    y0, y1 = sorted((float(p0[1]), float(p1[1])))
    c0, c1 = max(math.floor(x0), 0), min(math.ceil(x1), w)
    r0, r1 = max(math.floor(y0), 0), min(math.ceil(y1), h)
    rows, cols = slice(r0, max(r0, r1)), slice(c0, max(c0, c1))
    yy = np.arange(rows.start, rows.stop, dtype=np.float64)[:, None] + 0.5
    xx = np.arange(cols.start, cols.stop, dtype=np.float64)[None, :] + 0.5
    if kind == "roi_rect":
        mask = (xx >= x0) & (xx < x1) & (yy >= y0) & (yy < y1)
    else:
        a, b = (x1 - x0) / 2, (y1 - y0) / 2
        if a <= 0 or b <= 0:
            mask = np.zeros((yy.size, xx.size), dtype=bool)
        else:
            mask = ((xx - (x0 + a)) / a) ** 2 + ((yy - (y0 + b)) / b) ** 2 <= 1.0
    return rows, cols, np.broadcast_to(mask, (yy.size, xx.size))


def shape_area(kind: str, p0: Point, p1: Point, spacing_mm: tuple[float, float] | None = None) -> tuple[float, str]:
    """The drawn shape's area and unit (mm² with spacing, else px²): w·h for a rectangle, π/4·w·h
    for an ellipse."""
    row, col = spacing_mm if spacing_mm else (1.0, 1.0)
    w, h = abs(p1[0] - p0[0]) * col, abs(p1[1] - p0[1]) * row
    area = w * h if kind == "roi_rect" else math.pi / 4 * w * h
    return area, "mm²" if spacing_mm else "px²"


def roi_stats(pixels: np.ndarray, kind: str, p0: Point, p1: Point,
              spacing_mm: tuple[float, float] | None = None) -> RoiStats:
    """Statistics of ``pixels`` (modality values, H×W) in the region; NaN values are left out."""
    rows, cols, mask = roi_mask(pixels.shape, kind, p0, p1)
    values = np.asarray(pixels[rows, cols], dtype=np.float64)[mask]
    values = values[np.isfinite(values)]
    area, unit = shape_area(kind, p0, p1, spacing_mm)
    n = int(values.size)
    if n == 0:
        return RoiStats(None, None, 0, area, unit)
    sd = float(values.std(ddof=1)) if n > 1 else 0.0
    return RoiStats(float(values.mean()), sd, n, area, unit, float(values.min()), float(values.max()))


def _num(v: float) -> str:
    return f"{v:.4g}" if abs(v) < 1e4 else f"{v:.0f}"


def stats_text(s: RoiStats) -> str:
    """"mean 1234 · SD 56.7 · 12.3 mm²" (no pixels inside: "no pixels · 0.4 mm²")."""
    area = f"{s.area:.1f} {s.unit}" if s.unit == "mm²" else f"{s.area:.0f} {s.unit}"
    if s.mean is None:
        return f"no pixels · {area}"
    return f"mean {_num(s.mean)} · SD {_num(s.sd)} · {area}"


def angle_text(degrees: float | None) -> str:
    """"152.0° (28.0° from straight)": for ulnar deviation the second number is the one read."""
    if degrees is None:
        return "—"
    return f"{degrees:.1f}° ({180.0 - degrees:.1f}° from straight)"


def annotation_value(kind: str, points, pixels: np.ndarray | None,
                     spacing_mm: tuple[float, float] | None) -> str:
    """The value an annotation shows and the report prints ("" for an arrow or a text)."""
    if kind == "angle" and len(points) == 3:
        return angle_text(angle_deg(points[0], points[1], points[2], spacing_mm))
    if kind in ROI_KINDS and len(points) == 2:
        if pixels is None:
            area, unit = shape_area(kind, points[0], points[1], spacing_mm)
            return f"{area:.1f} {unit}"
        return stats_text(roi_stats(pixels, kind, points[0], points[1], spacing_mm))
    return ""

"""Qt-free display logic of the viewer: the window/level LUT, presets, measurement and orientation text.

Window/level on a 5 MP 16-bit image must stay interactive, so the source pixels are mapped once
to a uint16 index (for unsigned ≤16-bit data the pixels themselves are the index: no copy) and a
window change only rebuilds a ≤65,536-entry uint8 table — computed by the shared
``render.voi`` functions (the file's VOI LUT Function, or its VOI LUT) so screen and report agree
— and gathers through it.
"""
from __future__ import annotations

import math

import numpy as np

from ra_desktop.render import greyscale, voi

PRESETS = ("dicom", "auto", "bone", "full")
PRESET_LABELS = {"dicom": "From file", "auto": "Automatic", "bone": "Bone", "full": "Full range"}
_LUT_SIZE = 65536


class WindowLut:
    """Maps modality pixels to display bytes through a window LUT; never writes to the pixels."""

    def __init__(self, pixels: np.ndarray) -> None:
        if pixels.ndim != 2:
            raise ValueError(f"expected a 2-D image, got shape {pixels.shape}")
        self.pixels = pixels
        self.vmin = float(pixels.min())
        self.vmax = float(pixels.max())
        if pixels.dtype in (np.uint8, np.uint16):
            # Exact and copy-free: the pixel value is the LUT index.
            self.index = pixels
            self.values = np.arange(int(self.vmax) + 1, dtype=np.float64)
        elif np.issubdtype(pixels.dtype, np.integer) and self.vmax - self.vmin < _LUT_SIZE:
            # Signed or wide integers with a ≤16-bit span: exact after an offset.
            self.index = (pixels - pixels.dtype.type(self.vmin)).astype(np.uint16)
            self.values = self.vmin + np.arange(int(self.vmax - self.vmin) + 1, dtype=np.float64)
        else:
            # Float or very wide data: 65,536 display bins (finer than any screen can show).
            span = max(self.vmax - self.vmin, 1e-12)
            scaled = (pixels.astype(np.float32) - np.float32(self.vmin)) * np.float32((_LUT_SIZE - 1) / span)
            self.index = np.clip(scaled + 0.5, 0, _LUT_SIZE - 1).astype(np.uint16)
            self.values = self.vmin + np.arange(_LUT_SIZE, dtype=np.float64) * (span / (_LUT_SIZE - 1))

    def table(self, center: float, width: float, invert: bool, function: str = voi.LINEAR_EXACT,
              lut: voi.VoiLut | None = None) -> np.ndarray:
        """uint8 display byte per LUT index: the VOI LUT when given, else the window ``function``."""
        return greyscale.to_uint8(voi.voi_unit(self.values, center, width, function=function, lut=lut,
                                               invert=invert))

    def render(self, center: float, width: float, invert: bool, function: str = voi.LINEAR_EXACT,
               lut: voi.VoiLut | None = None) -> np.ndarray:
        """H×W uint8 display image for this window (or VOI LUT); inversion happens after the VOI step."""
        # mode="clip" skips numpy's bounds check and is the fastest gather here (~7 ms on 5 MP).
        return self.table(center, width, invert, function, lut).take(self.index, mode="clip")


def preset_window(name: str, pixels: np.ndarray, *, dicom: tuple[float | None, float | None] = (None, None),
                  inverted: bool = False) -> tuple[float, float]:
    """(center, width) for a named preset.

    dicom: the file's VOI window, or automatic when the file has none. auto: 0.5–99.5 percentile.
    bone: a narrow window over the bright (bone) part of the robust range — the high values for
    MONOCHROME2, the low values for MONOCHROME1, where bone is stored dark. full: data min–max.
    """
    if name == "dicom":
        c, w = dicom
        if c is not None and w is not None and w > 0:
            return float(c), float(w)
        return greyscale.auto_window(pixels)
    if name == "auto":
        return greyscale.auto_window(pixels)
    if name == "bone":
        c, w = greyscale.auto_window(pixels)
        lo, hi = c - w / 2, c + w / 2
        if inverted:
            hi = hi - 0.45 * w
        else:
            lo = lo + 0.45 * w
        return (lo + hi) / 2, hi - lo
    if name == "full":
        lo, hi = float(pixels.min()), float(pixels.max())
        return (lo + hi) / 2, max(hi - lo, 1.0)
    raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")


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

"""Greyscale display: VOI window, then MONOCHROME1 inversion, in that order (FIELD.md).

The DICOM VOI functions, VOI LUTs and presentation inversion live in :mod:`ra_desktop.render.voi`.

Pure numpy; shared by the viewer, the PDF report and the model's intensity step, so the screen,
the report and the model agree on what "bright" means.
"""
from __future__ import annotations

import numpy as np

from ra_desktop.render import voi
from ra_desktop.render.voi import to_uint8  # noqa: F401  (re-exported; voi uses it too)


def auto_window(pixels: np.ndarray, low_pct: float = 0.5, high_pct: float = 99.5) -> tuple[float, float]:
    """A (center, width) window from robust percentiles; sampled on large images for speed."""
    flat = pixels.ravel()
    if flat.size > 1_000_000:
        flat = flat[:: flat.size // 1_000_000]
    lo, hi = np.percentile(flat, [low_pct, high_pct]).astype(float)
    if hi <= lo:
        hi = lo + 1.0
    return (lo + hi) / 2.0, hi - lo


def apply_window(pixels: np.ndarray, center: float, width: float, invert: bool = False,
                 function: str = voi.LINEAR_EXACT) -> np.ndarray:
    """VOI window to float32 in [0, 1]; ``invert`` flips *after* windowing (MONOCHROME1).

    ``function`` is a DICOM VOI LUT Function (:mod:`ra_desktop.render.voi`). The default,
    LINEAR_EXACT, is the historic formula ``(x - (c - w/2)) / w``: the model's intensity step
    (a percentile window) and PNG/JPEG display use it, bit for bit as before. DICOM display
    passes the file's function, LINEAR when the file names none (the standard's default).
    """
    return voi.voi_unit(pixels, center, width, function=function, invert=invert)

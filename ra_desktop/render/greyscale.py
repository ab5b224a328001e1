"""Greyscale display: VOI window, then MONOCHROME1 inversion, in that order (FIELD.md).

Pure numpy; shared by the viewer, the PDF report and the model's intensity step, so the screen,
the report and the model agree on what "bright" means.
"""
from __future__ import annotations

import numpy as np


def auto_window(pixels: np.ndarray, low_pct: float = 0.5, high_pct: float = 99.5) -> tuple[float, float]:
    """A (center, width) window from robust percentiles; sampled on large images for speed."""
    flat = pixels.ravel()
    if flat.size > 1_000_000:
        flat = flat[:: flat.size // 1_000_000]
    lo, hi = np.percentile(flat, [low_pct, high_pct]).astype(float)
    if hi <= lo:
        hi = lo + 1.0
    return (lo + hi) / 2.0, hi - lo


def apply_window(pixels: np.ndarray, center: float, width: float, invert: bool = False) -> np.ndarray:
    """Linear VOI window to float32 in [0, 1]; ``invert`` flips *after* windowing (MONOCHROME1)."""
    width = max(float(width), 1e-6)
    lo = float(center) - width / 2.0
    out = (pixels.astype(np.float32) - np.float32(lo)) / np.float32(width)
    np.clip(out, 0.0, 1.0, out=out)
    if invert:
        out = 1.0 - out
    return out


def to_uint8(unit: np.ndarray) -> np.ndarray:
    """[0, 1] float to uint8 with rounding."""
    return (np.clip(unit, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)

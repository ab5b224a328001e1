"""Heat-map layers to RGBA, and a colour bar: the one renderer behind the viewer and the PDF.

One opacity for the whole layer (FIELD.md): colour comes from the value, alpha is constant
inside the area the model saw and zero outside it (NaN in the map). Value never drives alpha.
"""
from __future__ import annotations

import numpy as np

from ra_desktop.render import colormaps


def value_range(heatmap: np.ndarray, signed: bool) -> tuple[float, float]:
    """Display range: [0, max] for Grad-CAM style maps, symmetric [-m, m] for signed SHAP maps."""
    finite = heatmap[np.isfinite(heatmap)]
    if finite.size == 0:
        return (-1.0, 1.0) if signed else (0.0, 1.0)
    if signed:
        m = float(np.max(np.abs(finite))) or 1.0
        return -m, m
    hi = float(finite.max())
    return 0.0, hi if hi > 0 else 1.0


def colorize(
    heatmap: np.ndarray,
    cmap: str = "jet",
    vmin: float | None = None,
    vmax: float | None = None,
    opacity: float = 1.0,
    signed: bool = False,
) -> np.ndarray:
    """H×W float map (NaN = not seen by the model) to H×W×4 uint8 RGBA with constant alpha."""
    if vmin is None or vmax is None:
        lo, hi = value_range(heatmap, signed)
        vmin = lo if vmin is None else vmin
        vmax = hi if vmax is None else vmax
    valid = np.isfinite(heatmap)
    scaled = (np.where(valid, heatmap, vmin) - vmin) / max(vmax - vmin, 1e-12)
    idx = np.clip(scaled * 255.0 + 0.5, 0, 255).astype(np.uint8)
    rgba = np.empty(heatmap.shape + (4,), dtype=np.uint8)
    rgba[..., :3] = colormaps.lut(cmap)[idx]
    rgba[..., 3] = np.where(valid, np.uint8(round(255 * float(np.clip(opacity, 0.0, 1.0)))), np.uint8(0))
    return rgba


def blend(base_grey: np.ndarray, rgba: np.ndarray) -> np.ndarray:
    """Composite RGBA over a uint8 grey image; returns H×W×3 uint8 (for reports and screenshots)."""
    base = np.repeat(base_grey[..., None].astype(np.float32), 3, axis=2)
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    out = base * (1.0 - alpha) + rgba[..., :3].astype(np.float32) * alpha
    return (out + 0.5).astype(np.uint8)


def colorbar(cmap: str, length: int = 256, thickness: int = 16, vertical: bool = True) -> np.ndarray:
    """A colour bar image (H×W×3 uint8), high values at the top when vertical."""
    table = colormaps.lut(cmap)
    idx = np.linspace(255, 0, length).round().astype(np.uint8) if vertical else \
        np.linspace(0, 255, length).round().astype(np.uint8)
    strip = table[idx]
    if vertical:
        return np.repeat(strip[:, None, :], thickness, axis=1)
    return np.repeat(strip[None, :, :], thickness, axis=0)


def unseen_mask_rgba(seen: np.ndarray, colour: tuple[int, int, int] = (255, 200, 0), alpha: int = 70) -> np.ndarray:
    """A hatched tint over the parts of the image the model never saw (``seen`` is H×W bool)."""
    h, w = seen.shape
    yy, xx = np.mgrid[0:h, 0:w]
    hatch = ((xx + yy) // 12) % 2 == 0
    rgba = np.zeros((h, w, 4), dtype=np.uint8)
    rgba[..., :3] = colour
    rgba[..., 3] = np.where(~seen & hatch, np.uint8(alpha), np.uint8(0))
    return rgba

"""Heat-map layers to RGBA, and a colour bar: the one renderer behind the viewer and the PDF.

One opacity for the whole layer (FIELD.md): colour comes from the value, alpha is constant
inside the area the model saw and zero outside it (NaN in the map). Value never drives alpha.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass

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
    heatmap = np.asarray(heatmap)
    valid = np.isfinite(heatmap)
    # Same arithmetic as (where(valid, h, vmin) - vmin) / span * 255 + 0.5, clipped, truncated,
    # in place and with one 4-byte table lookup per pixel: a 5 MP layer is drawn on the GUI thread.
    scaled = np.subtract(heatmap, vmin, dtype=np.result_type(heatmap.dtype, np.float32))
    scaled /= max(vmax - vmin, 1e-12)
    scaled *= 255.0
    scaled += 0.5
    np.fmax(scaled, 0, out=scaled)  # also NaN -> 0 (an unseen pixel takes vmin's colour, alpha 0)
    np.minimum(scaled, 255, out=scaled)
    idx = scaled.astype(np.uint16)
    idx[~valid] = 256
    alpha = np.uint8(round(255 * float(np.clip(opacity, 0.0, 1.0))))
    table = np.zeros((257, 4), np.uint8)
    table[:256, :3] = colormaps.lut(cmap)
    table[:256, 3] = alpha
    table[256, :3] = table[0, :3]
    packed = table.view(np.uint32).ravel()  # one RGBA pixel per uint32, bytes in memory order
    return packed[idx].view(np.uint8).reshape(heatmap.shape + (4,))


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
    seen = np.asarray(seen, dtype=bool)
    h, w = seen.shape
    # hatch(x, y) = ((x + y) // 12) % 2 == 0 depends on (x + y) mod 24: 24 distinct rows, gathered
    # (the full index grids cost 80 MB and ~0.1 s on a 5 MP image)
    base = ((np.arange(w + 24) // 12) % 2) == 0
    rows = np.stack([base[o:o + w] for o in range(24)])
    hatch = rows[np.arange(h) % 24]
    pixel = np.array([[*colour, alpha], [*colour, 0]], dtype=np.uint8).view(np.uint32).ravel()
    return np.where(~seen & hatch, pixel[0], pixel[1]).view(np.uint8).reshape(h, w, 4)


@dataclass(frozen=True)
class Ahead:
    """A layer coloured ahead of display (at opacity 1) for one colour map."""

    cmap: str
    signed: bool
    vmin: float
    vmax: float
    rgba: np.ndarray


# Layers coloured on the inference lane as their stage arrives, looked up by the GUI thread when
# it draws that same map (by identity: a weak reference guards against a reused id, and its
# callback drops the entry with the map). Colouring a 5 MP map costs ~25 ms, which the GUI thread
# then does not spend; each entry holds 20 MB, so only the last four (two cases' maps) are kept.
_AHEAD: dict[int, tuple[weakref.ref, Ahead]] = {}
_AHEAD_MAX = 4


def colour_ahead(heatmap: np.ndarray, cmap: str, signed: bool) -> None:
    """Colour ``heatmap`` now (on a worker thread) for :func:`ahead` to hand to the GUI thread."""
    vmin, vmax = value_range(heatmap, signed)
    rgba = colorize(heatmap, cmap, vmin, vmax, opacity=1.0, signed=signed)
    key = id(heatmap)
    ref = weakref.ref(heatmap, lambda r, k=key: _AHEAD.get(k, (None,))[0] is r and _AHEAD.pop(k, None))
    _AHEAD[key] = (ref, Ahead(cmap, signed, vmin, vmax, rgba))
    while len(_AHEAD) > _AHEAD_MAX:  # only this (one) worker thread adds; the oldest goes
        _AHEAD.pop(next(iter(_AHEAD)), None)


def ahead(heatmap: np.ndarray) -> Ahead | None:
    """What :func:`colour_ahead` made of this very array, if anything."""
    hit = _AHEAD.get(id(heatmap))
    return hit[1] if hit is not None and hit[0]() is heatmap else None

"""Colour maps as 256×3 uint8 lookup tables, built from anchor colours (no matplotlib at run time)."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

# Anchors (position, r, g, b). Sequential maps for Grad-CAM, a diverging map for signed SHAP
# (blue = toward normal, white = none, red = toward RA, as in the published figure).
_ANCHORS: dict[str, list[tuple[float, int, int, int]]] = {
    "jet": [(0.0, 0, 0, 131), (0.125, 0, 0, 255), (0.375, 0, 255, 255), (0.625, 255, 255, 0),
            (0.875, 255, 0, 0), (1.0, 128, 0, 0)],
    "inferno": [(0.0, 0, 0, 4), (0.25, 87, 16, 110), (0.5, 188, 55, 84), (0.75, 249, 142, 9),
                (1.0, 252, 255, 164)],
    "viridis": [(0.0, 68, 1, 84), (0.25, 59, 82, 139), (0.5, 33, 145, 140), (0.75, 94, 201, 98),
                (1.0, 253, 231, 37)],
    "hot": [(0.0, 10, 0, 0), (0.375, 255, 0, 0), (0.75, 255, 255, 0), (1.0, 255, 255, 255)],
    "rdbu": [(0.0, 5, 48, 97), (0.25, 67, 147, 195), (0.5, 247, 247, 247), (0.75, 214, 96, 77),
             (1.0, 103, 0, 31)],
}

SEQUENTIAL = ("jet", "inferno", "viridis", "hot")
DIVERGING = ("rdbu",)


def names() -> tuple[str, ...]:
    return tuple(_ANCHORS)


@lru_cache(maxsize=None)
def lut(name: str) -> np.ndarray:
    """The 256×3 uint8 table for ``name`` (read-only)."""
    try:
        anchors = _ANCHORS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown colour map {name!r}; choose one of {', '.join(_ANCHORS)}") from None
    pos = np.array([a[0] for a in anchors])
    x = np.linspace(0.0, 1.0, 256)
    table = np.stack([np.interp(x, pos, [a[c] for a in anchors]) for c in (1, 2, 3)], axis=1)
    out = np.round(table).astype(np.uint8)
    out.setflags(write=False)
    return out

"""Sampling grey-value profiles along and across a line (scipy's map_coordinates, cubic splines).

Points are (x, y) in image pixels, x to the right, y down, pixel centres at integers.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage


def unit(a, b) -> tuple[np.ndarray, float]:
    """Unit vector from ``a`` to ``b`` and the distance."""
    d = np.asarray(b, float) - np.asarray(a, float)
    n = float(np.hypot(*d))
    return (d / n if n > 0 else np.array([0.0, -1.0])), n


def normal(u: np.ndarray) -> np.ndarray:
    """``u`` turned 90 degrees (image frame)."""
    return np.array([-u[1], u[0]])


def sample(image: np.ndarray, xs: np.ndarray, ys: np.ndarray, order: int = 3) -> np.ndarray:
    """Grey values at the points (xs, ys), spline-interpolated; a local crop keeps it cheap.

    Points outside the image get NaN.
    """
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    h, w = image.shape
    pad = 4
    c0 = max(int(np.floor(np.nanmin(xs))) - pad, 0)
    c1 = min(int(np.ceil(np.nanmax(xs))) + pad + 1, w)
    r0 = max(int(np.floor(np.nanmin(ys))) - pad, 0)
    r1 = min(int(np.ceil(np.nanmax(ys))) + pad + 1, h)
    out = np.full(xs.shape, np.nan)
    if c1 - c0 < 2 or r1 - r0 < 2:
        return out
    crop = np.asarray(image[r0:r1, c0:c1], dtype=np.float64)
    inside = (xs >= 0) & (xs <= w - 1) & (ys >= 0) & (ys <= h - 1)
    coords = np.stack([ys[inside] - r0, xs[inside] - c0])
    out[inside] = ndimage.map_coordinates(crop, coords, order=order, mode="nearest")
    return out


def across(image: np.ndarray, centre, u: np.ndarray, offsets: np.ndarray, along: np.ndarray,
           order: int = 3) -> np.ndarray:
    """Profiles across the axis ``u``: one row per axial offset in ``along`` (px from
    ``centre``), one column per lateral offset in ``offsets`` (px, along ``normal(u)``)."""
    n = normal(u)
    c = np.asarray(centre, float)
    px = c[0] + along[:, None] * u[0] + offsets[None, :] * n[0]
    py = c[1] + along[:, None] * u[1] + offsets[None, :] * n[1]
    return sample(image, px, py, order)

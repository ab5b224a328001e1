"""The geometries of the two preprocessing modes (resize + centre crop, letterbox).

:class:`Geometry` itself and the coordinate convention live in :mod:`ra_desktop.values.geometry`,
below results, which holds one; it is re-exported here, its old home.
"""
from __future__ import annotations

from ra_desktop.values.geometry import Geometry

__all__ = ["Geometry", "letterbox_geometry", "letterbox_size", "resize_crop_geometry"]


def resize_crop_geometry(image_shape: tuple[int, int], resize: int, crop: int) -> Geometry:
    """Geometry of "resize to resize×resize, then centre crop crop×crop"."""
    H, W = image_shape
    top = left = (resize - crop) // 2
    sx, sy = W / resize, H / resize
    return Geometry(
        image_shape=(H, W),
        model_shape=(crop, crop),
        scale_x=sx,
        scale_y=sy,
        offset_x=(left + 0.5) * sx - 0.5,
        offset_y=(top + 0.5) * sy - 0.5,
    )


def letterbox_size(image_shape: tuple[int, int], side: int) -> tuple[int, int]:
    """(height, width) of the image fitted inside side×side with its aspect ratio kept."""
    H, W = image_shape
    s = side / max(H, W)
    return max(1, min(side, round(H * s))), max(1, min(side, round(W * s)))


def letterbox_geometry(image_shape: tuple[int, int], side: int) -> Geometry:
    """Geometry of "fit into side×side keeping the aspect ratio, centred, zero padded"."""
    H, W = image_shape
    nh, nw = letterbox_size(image_shape, side)
    top, left = (side - nh) // 2, (side - nw) // 2
    # Per-axis scales follow the integer resized size, so rounding never shifts a heat map.
    sx, sy = W / nw, H / nh
    return Geometry(
        image_shape=(H, W),
        model_shape=(side, side),
        scale_x=sx,
        scale_y=sy,
        offset_x=(0.5 - left) * sx - 0.5,
        offset_y=(0.5 - top) * sy - 0.5,
    )

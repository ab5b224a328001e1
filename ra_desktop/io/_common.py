"""Helpers shared by the DICOM and raster readers."""
from __future__ import annotations

import hashlib

import numpy as np

# Decompression-bomb guard: a hand radiograph is at most ~5k x 5k; 100 MP leaves ample room
# while refusing headers that would make us allocate gigabytes.
MAX_PIXELS = 100_000_000

# ITU-R BT.601 luma weights, the conversion most viewers use for colour to grey.
_LUMA_601 = np.array([0.299, 0.587, 0.114])

COLOUR_NOTE = "colour image converted to grey"


def content_case_id(data: bytes) -> str:
    """Stable id of a file without a DICOM UID: ``"sha256:"`` + 16 hex digits of its bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()[:16]


def rgb_to_grey(rgb: np.ndarray) -> tuple[np.ndarray, bool]:
    """Convert an H x W x 3 (or 4) array to grey.

    Parameters
    ----------
    rgb : numpy.ndarray
        Colour samples in the last axis; a fourth (alpha) channel is ignored.

    Returns
    -------
    grey : numpy.ndarray
        2-D array with the input's dtype (luma rounded for integer inputs).
    converted : bool
        False when the three channels were identical (a grey image stored as RGB), so nothing
        was lost; True when real colour was mixed into luma.
    """
    rgb = rgb[..., :3]
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    if np.array_equal(r, g) and np.array_equal(g, b):
        return np.ascontiguousarray(r), False
    luma = rgb.astype(np.float64) @ _LUMA_601
    if np.issubdtype(rgb.dtype, np.integer):
        info = np.iinfo(rgb.dtype)
        luma = np.clip(np.rint(luma), info.min, info.max)
        return luma.astype(rgb.dtype), True
    return luma.astype(np.float32), True


def read_only(arr: np.ndarray) -> np.ndarray:
    """Return a C-contiguous array that owns its data and cannot be written."""
    arr = np.array(arr, copy=True, order="C")
    arr.setflags(write=False)
    return arr


def check_pixel_count(rows: int, cols: int, limit: int) -> str | None:
    """Reason to refuse an image of ``rows`` x ``cols`` before decoding it, or None."""
    if rows <= 0 or cols <= 0:
        return f"invalid image size {cols} x {rows}"
    if rows * cols > limit:
        return (
            f"image is {cols} x {rows} = {rows * cols / 1e6:.0f} megapixels, more than the "
            f"{limit / 1e6:.0f} megapixel limit (refused before decoding as a possible "
            "decompression bomb)"
        )
    return None

"""Helpers shared by the DICOM and raster readers."""
from __future__ import annotations

import hashlib

import numpy as np

# Decompression-bomb guard: a hand radiograph is at most ~5k x 5k; 100 MP leaves ample room
# while refusing headers that would make us allocate gigabytes.
MAX_PIXELS = 100_000_000

# Largest file read into memory. A 100 MP 16-bit radiograph is 200 MB uncompressed; anything
# bigger is a huge multi-frame object or not a radiograph, and reading it could exhaust memory.
MAX_FILE_BYTES = 512 * 1024 * 1024

# Compressed data that would inflate past this many bytes at more than BOMB_RATIO times the
# file's size is refused as a decompression bomb. Real radiographs compress 2-20:1; a blank
# 9000 x 9000 colour PNG of 250 kB (ratio ~1000:1) once made the loader use 2.8 GB.
BOMB_MIN_BYTES = 64 * 1024 * 1024
BOMB_RATIO = 250

# Rows per block when mixing colour to grey: bounds the float64 temporary to a few MB.
_LUMA_BLOCK_PIXELS = 1 << 20

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
    integer = np.issubdtype(rgb.dtype, np.integer)
    out = np.empty(rgb.shape[:2], rgb.dtype if integer else np.float32)
    step = max(1, _LUMA_BLOCK_PIXELS // max(rgb.shape[1], 1))
    for y in range(0, rgb.shape[0], step):
        # Block by block: a whole-image float64 copy is 24 bytes a pixel (2.4 GB at 100 MP).
        luma = rgb[y : y + step].astype(np.float64) @ _LUMA_601
        if integer:
            info = np.iinfo(rgb.dtype)
            luma = np.clip(np.rint(luma), info.min, info.max)
        out[y : y + step] = luma
    return out, True


def read_only(arr: np.ndarray) -> np.ndarray:
    """Return a C-contiguous array that owns its data and cannot be written."""
    if not (arr.flags.owndata and arr.flags.c_contiguous and arr.flags.writeable):
        arr = np.array(arr, copy=True, order="C")  # a view or foreign buffer: take our own copy
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


def check_inflation(decoded_bytes: int, file_bytes: int) -> str | None:
    """Reason to refuse compressed data that would inflate absurdly, or None."""
    if decoded_bytes > BOMB_MIN_BYTES and decoded_bytes > BOMB_RATIO * max(file_bytes, 1):
        return (
            f"refused as a possible decompression bomb: {file_bytes:,} bytes of data would "
            f"decode to {decoded_bytes / 1e6:.0f} MB ({decoded_bytes / max(file_bytes, 1):.0f}:1; "
            f"radiographs compress less than {BOMB_RATIO}:1)"
        )
    return None

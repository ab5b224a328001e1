"""A first look at a JPEG 2000 study: a reduced resolution level, for display only.

A JPEG 2000 codestream holds its image as wavelet levels; level ``r`` is the image at 1/2^r of
its size for a fraction of the decode (bench ``j2k``: level 1 about 0.3x the full decode). The
viewer paints it at the full image's geometry while the full decode runs, then replaces it. It is
never analysed, measured or read for pixel values: P(RA) from a reduced level moves by up to
0.017 (over the 0.005 bound), so analysis keeps the full decode. Qt-free; the loader calls
:func:`offer` between its header checks and the full decode (``load_radiograph(on_preview=)``).
"""
from __future__ import annotations

import io
import logging
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ra_desktop.errors import Cancelled
from ra_desktop.io import offdecode
from ra_desktop.io._codestream import j2k_header
from ra_desktop.values.radiograph import Radiograph

log = logging.getLogger(__name__)

# JPEG 2000 lossless / lossy, and HTJ2K (lossless, RPCL lossless, lossy) where Pillow's OpenJPEG
# (2.5 and later) reads it; a codestream it cannot read only means no preview.
SYNTAXES = frozenset({"1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.201",
                      "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203"})
# The preview's longest side: about a screen's, so the fitted image looks sharp (a 1955-px CR gets
# a 977-px preview); a smaller image gets no preview (its full decode is already quick).
MIN_SIDE = 900


@dataclass(frozen=True)
class Preview:
    """A reduced-resolution radiograph (its pixels 1/2^level of the full size, its metadata the
    file's) and the full image's (rows, columns), at which the viewer paints it. ``painted`` is set
    by the GUI once it has shown (or dropped) the preview: the lane waits for that, briefly, because
    the full decode after it holds the GIL and would keep the GUI from painting."""

    radiograph: Radiograph
    full_shape: tuple[int, int]
    level: int
    painted: threading.Event = field(default_factory=threading.Event, compare=False, repr=False)


def choose_level(rows: int, cols: int, levels: int, min_side: int = MIN_SIDE) -> int:
    """The smallest image whose longest side is still at least ``min_side``, never beyond the
    codestream's decomposition levels; 0 means the full image (no preview)."""
    level = 0
    while level < levels and max(rows, cols) >> (level + 1) >= min_side:
        level += 1
    return level


def _frame(ds: Any) -> bytes:
    from pydicom.encaps import generate_fragmented_frames

    frames = int(ds.get("NumberOfFrames") or 1)  # the fragments of frame 1 of a multi-frame object
    return b"".join(next(generate_fragmented_frames(ds.PixelData, number_of_frames=frames)))


def reduced_pixels(frame: bytes, rows: int, cols: int, bits_allocated: int,
                   bits_stored: int, min_side: int | None = None) -> tuple[np.ndarray, int] | None:
    """(stored pixel values at a reduced level, the level) of a one-component unsigned JPEG 2000
    frame, or None where no reduced level helps or the codestream is not one this reads exactly."""
    head = j2k_header(frame[:65536])
    if head is None or head.components != 1 or head.signed or head.subsampled or head.precision > 16:
        return None
    if head.precision != bits_stored:
        return None  # the full decode reconciles such a mismatch with the header; not guessed here
    if (head.width, head.height) != (cols, rows):
        return None  # the loader refuses or reports this mismatch; no preview of it
    level = choose_level(rows, cols, head.levels, min_side or MIN_SIDE)
    if level == 0:
        return None
    from PIL import Image  # Pillow's OpenJPEG decodes reduced levels; pylibjpeg does not

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the loader caps the size
        with Image.open(io.BytesIO(frame), formats=["JPEG2000"]) as im:
            im.reduce = level
            im.load()
            arr = np.asarray(im)
    if arr.ndim != 2 or abs(arr.shape[0] - rows / 2**level) > 1 or abs(arr.shape[1] - cols / 2**level) > 1:
        return None
    if arr.dtype == np.uint16 and head.precision > 8:
        # Pillow scales 9-16 bit samples up to 16 bits: shifted back, they are the stored values
        arr = arr >> (16 - head.precision)
    elif arr.dtype != np.uint8:
        return None
    return arr.astype(np.uint8 if bits_allocated <= 8 else np.uint16), level


def offer(ds: Any, rows: int, cols: int, photometric: str, finish: Callable[[np.ndarray], Radiograph],
          on_preview: Callable[[Preview], None]) -> None:
    """Decode a reduced level of ``ds``'s first frame and pass it to ``on_preview``. ``finish`` is
    the loader's own step from stored values to a Radiograph (Modality LUT, VOI tags, inversion),
    so the preview looks like the full image. Never raises but ``Cancelled`` (from ``on_preview``:
    the reader left the case, so the full decode is not wanted): a failure only means no preview."""
    try:
        if photometric not in ("MONOCHROME1", "MONOCHROME2") or int(ds.get("SamplesPerPixel") or 1) != 1:
            return
        if int(ds.get("PixelRepresentation") or 0) != 0:
            return  # signed: Pillow reads JPEG 2000 as unsigned only
        allocated = int(ds.get("BitsAllocated") or 16)
        # in the decoding process where the window runs it: OpenJPEG holds the GIL (io.offdecode)
        got = offdecode.run(reduced_pixels, _frame(ds), rows, cols, allocated, int(ds.get("BitsStored") or allocated),
                            MIN_SIDE)
        if got is None:
            return
        arr, level = got
        radiograph = finish(arr)
        spacing = radiograph.pixel_spacing_mm
        if spacing is not None:  # the preview's own pixels are 2^level times larger
            radiograph = replace(radiograph, pixel_spacing_mm=(spacing[0] * 2**level, spacing[1] * 2**level))
        on_preview(Preview(radiograph, (rows, cols), level))
    except (KeyboardInterrupt, SystemExit, GeneratorExit, Cancelled):
        raise
    except BaseException:  # noqa: BLE001 - a decoder's panic too; the full decode decides the case
        log.warning("no reduced-resolution preview of this study; waiting for the full decode", exc_info=True)

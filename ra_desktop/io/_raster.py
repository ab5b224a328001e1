"""PNG / JPEG / BMP / TIFF reader through Pillow, at native bit depth."""
from __future__ import annotations

import io
import struct
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ra_desktop.errors import ImageLoadError
from ra_desktop.io._common import (
    COLOUR_NOTE,
    check_inflation,
    check_pixel_count,
    content_case_id,
    read_only,
    rgb_to_grey,
)
from ra_desktop.io.radiograph import Radiograph

# Pillow's format names -> ours. Anything else Pillow might open is refused.
_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "MPO": "JPEG", "BMP": "BMP", "DIB": "BMP", "TIFF": "TIFF"}
_GREY_MODES = ("1", "L", "I;16", "I;16L", "I;16B", "I;16N", "I", "F")


def read_raster(path: Path, data: bytes, *, kind: str, max_pixels: int) -> Radiograph:
    """Decode a raster image already read into ``data``.

    Parameters
    ----------
    path : Path
        Source path, for messages and metadata.
    data : bytes
        The whole file content.
    kind : str
        The format sniffed from the content ("PNG", "JPEG", ...), for messages.
    max_pixels : int
        Refuse images larger than this, checked from the header before decoding.

    Returns
    -------
    Radiograph

    Raises
    ------
    ImageLoadError
        Unidentified, truncated or corrupt data, an unsupported format, or too many pixels.
    """
    notes: list[str] = []
    # Pillow's own bomb guard warns or raises; both become our error, never a console warning.
    with warnings.catch_warnings():
        # Pillow reports corrupt metadata (EXIF, TIFF tags) as UserWarnings: not the user's
        # console's business; a real problem still fails the decode below.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as im:
                fmt = _FORMATS.get(im.format or "")
                if fmt is None:
                    raise ImageLoadError(path, f"unsupported image format {im.format}")
                width, height = im.size
                reason = check_pixel_count(height, width, max_pixels)
                reason = reason or check_inflation(_decoded_bytes(im), len(data))
                if reason:
                    raise ImageLoadError(path, reason)
                n_frames = int(getattr(im, "n_frames", 1) or 1)
                orientation = _exif_orientation(im)
                im.load()  # decode now, inside the try: truncation shows up here
                arr, bits, mode_notes = _to_array(im)
        except ImageLoadError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageLoadError(path, f"refused as a possible decompression bomb: {exc}") from None
        except UnidentifiedImageError:
            reason = "not a readable image (unrecognised or corrupt header)"
            raise ImageLoadError(path, reason) from None
        except MemoryError:
            raise ImageLoadError(path, "not enough memory to decode the image") from None
        except (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, KeyError,
                struct.error, ZeroDivisionError, OverflowError) as exc:
            # Pillow's plugins surface corrupt headers as any of these.
            raise ImageLoadError(path, f"truncated or corrupt {kind} data: {exc}") from None
    notes.extend(mode_notes)
    if orientation not in (None, 1):
        # Laterality is sacred: pixels are shown as stored, never silently rotated or flipped.
        notes.append(f"EXIF orientation {orientation} ignored: pixels shown as stored")
    if n_frames > 1:
        notes.append(f"multi-frame ({n_frames} frames): first frame shown")
    return Radiograph(
        pixels=read_only(arr),
        source_path=path,
        format=fmt,
        case_id=content_case_id(data),
        bits_stored=bits,
        photometric="MONOCHROME2",
        notes=tuple(notes),
    )


def _to_array(im: Image.Image) -> tuple[np.ndarray, int, list[str]]:
    """Pixels as a 2-D array plus bits stored and notes, for every Pillow mode we meet."""
    mode = im.mode
    notes: list[str] = []
    if mode in _GREY_MODES:
        if mode == "1":
            im = im.convert("L")
        arr = np.asarray(im)
        # copy=False: no second full-size copy when the dtype is already right.
        if mode.startswith("I;16"):
            arr = arr.astype(np.uint16, copy=False)  # native-endian whatever the file's order
        elif mode == "I":
            # 16-bit PNGs/TIFFs may come back as 32-bit "I"; keep 16 bits when the data fit.
            if arr.size and arr.min() >= 0 and arr.max() <= 0xFFFF:
                arr = arr.astype(np.uint16)
            else:
                arr = arr.astype(np.int32, copy=False)
        elif mode == "F":
            arr = arr.astype(np.float32, copy=False)
        return arr, 8 * arr.itemsize, notes
    if mode in ("LA", "La"):
        return np.asarray(im.getchannel("L")), 8, ["alpha channel ignored"]
    if mode in ("P", "PA"):
        # A palette may be grey (equal channels: no loss) or colour.
        has_alpha = mode == "PA" or "transparency" in im.info
        im = im.convert("RGBA" if has_alpha else "RGB")
        if has_alpha:
            notes.append("alpha channel ignored")
    elif mode not in ("RGB", "RGBA"):
        im = im.convert("RGB")  # CMYK, YCbCr, LAB, RGBX ...
    elif mode == "RGBA":
        notes.append("alpha channel ignored")
    grey, converted = rgb_to_grey(np.asarray(im))
    if converted:
        notes.append(COLOUR_NOTE)
    return grey, 8, notes


def _decoded_bytes(im: Image.Image) -> int:
    """Bytes Pillow allocates for the decoded image (every multi-band mode takes 4 a pixel)."""
    width, height = im.size
    per_pixel = {"1": 1, "L": 1, "P": 1}.get(im.mode)
    if per_pixel is None:
        per_pixel = 2 if im.mode.startswith("I;16") else 4
    return width * height * per_pixel


def _exif_orientation(im: Image.Image) -> int | None:
    try:
        value = im.getexif().get(0x0112)  # Orientation tag
    except Exception:  # a malformed EXIF block must not stop the image from loading
        return None
    return int(value) if isinstance(value, int) else None

"""The DICOM header checks made before any pixel is decoded: a decoder exists, a deflated data
set does not inflate absurdly, the pixel data's length or codestream matches the header.

Shared by the full read (``_dicom.read_dicom``) and the header-only read the folder scan uses.
"""
from __future__ import annotations

import io
import warnings
import zlib
from pathlib import Path

import pydicom
from pydicom.pixels import get_decoder
from pydicom.uid import UID, DeflatedExplicitVRLittleEndian

from ra_desktop.errors import ImageLoadError
from ra_desktop.io._codestream import codestream_size
from ra_desktop.io._common import check_inflation

PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


def get(ds: pydicom.Dataset, keyword: str):
    """Element value, or None when absent or malformed (pydicom converts values lazily)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ds.get(keyword)
    except Exception:  # a malformed value must not stop the image from loading
        return None


def to_int(value, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        return default



def check_decoder(path: Path, tsyntax: UID) -> None:
    """Refuse, with the syntax named, before decoding when nothing installed can decode it."""
    try:
        decoder = get_decoder(tsyntax)
    except (NotImplementedError, ValueError):
        raise ImageLoadError(
            path, f"transfer syntax {tsyntax.name} ({tsyntax}): no decoder is installed for it"
        ) from None
    if not decoder.is_available:
        missing = "; ".join(decoder.missing_dependencies) or "a decoding plugin"
        raise ImageLoadError(
            path,
            f"transfer syntax {tsyntax.name} ({tsyntax}): no decoder is installed for it "
            f"(needs {missing})",
        )


def check_deflated_size(path: Path, data: bytes, max_pixels: int) -> None:
    """Refuse a deflated data set that would inflate absurdly, before pydicom inflates it whole.

    pydicom calls ``zlib.decompress`` on the rest of the file with no limit: a 1 MB file of
    deflated zeros becomes 1 GB. Here the size is counted in bounded steps, keeping nothing.
    """
    if DeflatedExplicitVRLittleEndian.encode() not in data[:4096]:
        return  # the transfer syntax UID sits in the file meta, near the start
    try:
        from pydicom.filereader import _read_file_meta_info, read_preamble

        fp = io.BytesIO(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # header quirks: dcmread records them below
            read_preamble(fp, False)
            meta = _read_file_meta_info(fp)
            if str(meta.get("TransferSyntaxUID", "")).strip("\0 ") != DeflatedExplicitVRLittleEndian:
                return
        start = fp.tell()
    except Exception:  # not parseable here: dcmread will report it properly
        return
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    # Generous: the largest accepted image at 32 bits plus 64 MB of other elements.
    limit = 4 * max_pixels + (64 << 20)
    total, pending = 0, data[start:]
    try:
        while not inflater.eof and total <= limit:
            out = inflater.decompress(pending, 1 << 20)  # at most 1 MB at a time, then dropped
            pending = inflater.unconsumed_tail
            total += len(out)
            if not out and not pending:
                break  # input ends before the stream does: dcmread reports the truncation
    except zlib.error:
        return  # corrupt: dcmread says so
    if total > limit:
        raise ImageLoadError(
            path,
            f"refused as a possible decompression bomb: the deflated DICOM data set inflates "
            f"to more than {limit / 1e6:.0f} MB",
        )
    reason = check_inflation(total, len(data))
    if reason:
        raise ImageLoadError(path, f"deflated DICOM data set {reason}")


def check_native_length(path: Path, ds: pydicom.Dataset) -> None:
    """Refuse uncompressed pixel data much longer than the header describes.

    Trailing padding (a byte, a row) is common and harmless: pydicom drops it with a warning.
    More than a row, or a sixteenth of the image if larger, means Rows, Columns, Bits Allocated or Number
    of Frames are wrong (often 2x or Nx), and the image would be shown cut or scrambled.
    """
    from pydicom.pixels.utils import get_expected_length

    try:
        element = next(kw for kw in PIXEL_KEYWORDS if kw in ds)
        actual = len(ds[element].value)
        expected = int(get_expected_length(ds, "bytes"))
        bits = to_int(get(ds, "BitsAllocated"), 8)
        row = to_int(get(ds, "Columns"), 0) * to_int(get(ds, "SamplesPerPixel"), 1) * max(bits, 8) // 8
        frames = to_int(get(ds, "NumberOfFrames"), 1)
    except Exception:  # malformed header values: the decoder gives the precise reason
        return
    if bits not in (1, 8, 16, 32, 64) or frames < 1 or expected <= 0:
        return  # invalid values: the decoder names the element
    header = (f"the header ({to_int(get(ds, 'Rows'), 0)} x {to_int(get(ds, 'Columns'), 0)}, "
              f"{bits} bits, {frames} frame(s)) needs {expected}")
    if actual < expected:
        raise ImageLoadError(
            path, f"pixel data is {actual} bytes but {header}: the file is truncated or the "
                  "header is wrong"
        )
    if row > 0 and actual - expected > max(row, expected // 16):
        raise ImageLoadError(
            path, f"pixel data is {actual} bytes but {header}: wrong pixel data length, refused "
                  "rather than shown cut or scrambled"
        )


def check_encapsulated(path: Path, ds: pydicom.Dataset, rows: int, cols: int, n_frames: int) -> None:
    """Refuse compressed frames that would decode to far more than the header describes.

    Decoders size their output from the codestream, not from Rows/Columns: a 600-byte
    JPEG 2000 frame whose SIZ marker says 9000 x 9000 inside a 64 x 64 header made the decoder
    allocate 650 MB before the shape mismatch was noticed.
    """
    try:
        pixel_bytes = bytes(ds["PixelData"].value[:65536]) if "PixelData" in ds else b""
        total = len(ds["PixelData"].value) if "PixelData" in ds else 0
        spp = max(to_int(get(ds, "SamplesPerPixel"), 1), 1)
    except Exception:  # malformed: the decoder reports it
        return
    size = codestream_size(pixel_bytes)
    if size is not None and size[0] * size[1] > rows * cols:
        raise ImageLoadError(
            path,
            f"compressed frame is {size[0]} x {size[1]} but the header says {cols} x {rows}: "
            "refused before decoding (corrupt or hostile file)",
        )
    # 4 bytes a sample: what the decoders allocate while decoding, whatever the bit depth.
    reason = check_inflation(rows * cols * spp * 4, total // max(n_frames, 1))
    if reason:
        raise ImageLoadError(path, reason)


def check_decodable(path: Path, ds: pydicom.Dataset, tsyntax: UID) -> None:
    """pydicom's own check of the pixel description (Bits Allocated/Stored, photometric
    interpretation...), made here without decoding, with the words the decode failure would use."""
    from pydicom.pixels.decoders.base import DecodeRunner

    try:
        runner = DecodeRunner(tsyntax)
        runner.set_source(ds)
        runner.validate()
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # as the decode: every failure becomes one readable message
        raise ImageLoadError(path, f"could not decode pixel data ({tsyntax.name}): {describe_exc(exc)}") from None


def describe_exc(exc: BaseException) -> str:
    if isinstance(exc, Exception):
        return short(exc)
    return f"the decoder failed ({type(exc).__name__}: {short(exc)})"


def short(exc: object) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."

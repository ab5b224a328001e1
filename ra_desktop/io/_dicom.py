"""DICOM reader: pydicom plus the installed pylibjpeg plugins, first frame, modality units."""
from __future__ import annotations

import io
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
from pydicom.pixels import apply_color_lut, apply_modality_lut, get_decoder, pixel_array
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from ra_desktop.errors import ImageLoadError
from ra_desktop.io import _display_tags, preview
from ra_desktop.io._codestream import codestream_size as _codestream_size
from ra_desktop.io._common import (
    check_inflation,
    check_pixel_count,
    content_case_id,
    read_only,
    rgb_to_grey,
)
from ra_desktop.io._header_limits import (
    MAX_ELEMENTS,
    TooManyElements,
    cap_text_elements,
    element_budget,
    is_valid_uid,
)
from ra_desktop.io.radiograph import Radiograph

_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
_MAX_WARNING_NOTES = 3


def read_dicom(path: Path, data: bytes, *, force: bool, max_pixels: int,
               on_preview: Callable[[preview.Preview], None] | None = None) -> Radiograph:
    """Decode a DICOM file already read into ``data``.

    Parameters
    ----------
    path : Path
        Source path, for messages and metadata.
    data : bytes
        The whole file content.
    force : bool
        Parse without the ``DICM`` preamble (last resort for old files written without one).
    max_pixels : int
        Refuse images whose Rows x Columns exceed this, checked before decoding.
    on_preview : callable, optional
        Given a reduced-resolution :class:`~ra_desktop.io.preview.Preview` of a JPEG 2000 frame,
        after the header checks and before the full decode (display only; never fails the read).

    Returns
    -------
    Radiograph

    Raises
    ------
    ImageLoadError
        Unreadable header, no pixel data, too large, no decoder, or a decode failure.
    """
    _check_deflated_size(path, data, max_pixels)
    try:
        # Header quirks are tolerated (decode is what counts); kept to explain a failure.
        with warnings.catch_warnings(record=True) as header_warnings, element_budget(MAX_ELEMENTS):
            warnings.simplefilter("always")
            ds = pydicom.dcmread(io.BytesIO(data), force=force)
    except TooManyElements:
        raise ImageLoadError(
            path, f"refused: more than {MAX_ELEMENTS:,} data elements in the header (a radiograph "
                  "has a few hundred; corrupt or hostile file)") from None
    except MemoryError:
        raise ImageLoadError(path, "not enough memory to read the DICOM header") from None
    except RecursionError:
        raise ImageLoadError(path, "not a readable DICOM file (sequences nested too deeply)") from None
    except Exception as exc:  # pydicom raises many exception types on bad bytes
        raise ImageLoadError(path, f"not a readable DICOM file ({_short(exc)})") from None

    cut = cap_text_elements(ds)
    if not any(kw in ds for kw in _PIXEL_KEYWORDS):
        if force and len(ds) == 0:
            raise ImageLoadError(path, "not an image: no recognisable DICOM or image header")
        eof = [w for w in header_warnings if "end of file" in str(w.message).lower()]
        if eof:
            detail = _short(eof[0].message).replace(" in file <no filename>", "")
            raise ImageLoadError(path, f"DICOM file is truncated ({detail})")
        if len(ds) == 0:
            raise ImageLoadError(
                path, "DICOM file is truncated or corrupt: nothing readable after the file meta"
            )
        if _get(ds, "Rows") and _get(ds, "Columns"):
            # Image attributes without the pixel element: parsing stopped early.
            raise ImageLoadError(
                path, "DICOM file has image attributes but no pixel data (file truncated?)"
            )
        raise ImageLoadError(path, f"DICOM file has no pixel data{_describe(ds)}")

    rows, cols = _int(_get(ds, "Rows"), 0), _int(_get(ds, "Columns"), 0)
    if rows <= 0 or cols <= 0:
        raise ImageLoadError(path, "DICOM file has pixel data but no valid Rows/Columns")
    reason = check_pixel_count(rows, cols, max_pixels)
    if reason:
        raise ImageLoadError(path, reason)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a malformed UID value is judged by the decoder check
        tsyntax = _transfer_syntax(ds)
    _check_decoder(path, tsyntax)
    n_frames = _int(_get(ds, "NumberOfFrames"), 1)
    if tsyntax.is_encapsulated:
        _check_encapsulated(path, ds, rows, cols, n_frames)
    else:
        _check_native_length(path, ds)

    photometric = str(_get(ds, "PhotometricInterpretation") or "MONOCHROME2").strip().upper()
    if on_preview is not None and tsyntax in preview.SYNTAXES:
        preview.offer(ds, rows, cols, photometric,
                      lambda arr: _finish(path, data, ds, arr, photometric, tsyntax, 1, cut, []), on_preview)
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            arr = pixel_array(ds, index=0 if n_frames > 1 else None)
            if photometric == "PALETTE COLOR":
                arr = apply_color_lut(arr, ds)
        except MemoryError:
            raise ImageLoadError(path, "not enough memory to decode the pixel data") from None
        except (KeyboardInterrupt, SystemExit, GeneratorExit):
            raise
        except BaseException as exc:  # every decoder failure becomes one readable message
            # BaseException: a Rust plugin's panic (pyo3 PanicException) is not an Exception;
            # a corrupt RLE frame made pylibjpeg-rle panic straight through pydicom.
            raise ImageLoadError(
                path, f"could not decode pixel data ({tsyntax.name}): {_describe_exc(exc)}"
            ) from None
    for w in caught[:_MAX_WARNING_NOTES]:
        notes.append(f"decoder warning: {_short(w.message)}")
    return _finish(path, data, ds, arr, photometric, tsyntax, n_frames, cut, notes)


def _finish(path: Path, data: bytes, ds: pydicom.Dataset, arr: np.ndarray, photometric: str, tsyntax: UID,
            n_frames: int, cut: list, notes: list[str]) -> Radiograph:
    """Decoded stored values to a Radiograph: grey, modality units, spacing, display tags, ids."""
    arr = _native_byte_order(arr)
    if n_frames > 1:
        notes.append(f"multi-frame ({n_frames} frames): first frame shown")
    bits = _int(_get(ds, "BitsStored"), 0) or _int(_get(ds, "BitsAllocated"), 8 * arr.itemsize)
    if photometric == "PALETTE COLOR":
        bits = 8 * arr.itemsize  # palette entries are 16-bit, whatever the indices were
    monochrome = arr.ndim == 2 and photometric in ("MONOCHROME1", "MONOCHROME2")
    if arr.ndim == 3:  # colour samples last, already RGB (pydicom converts YBR)
        arr, converted = rgb_to_grey(arr)
        what = "colour" if converted else "RGB with equal channels"
        notes.append(f"{what} DICOM ({photometric}) converted to grey")
        photometric = "MONOCHROME2"
    elif photometric not in ("MONOCHROME1", "MONOCHROME2"):
        notes.append(f"unexpected photometric interpretation {photometric}, read as MONOCHROME2")
        photometric = "MONOCHROME2"
    else:
        try:
            arr = _modality_units(arr, ds)
        except MemoryError:
            raise ImageLoadError(path, "not enough memory to apply the Modality LUT") from None
        except Exception as exc:  # a malformed LUT or rescale: refuse rather than guess units
            raise ImageLoadError(
                path, f"Modality LUT / rescale is malformed: {_short(exc)}"
            ) from None
    if arr.ndim != 2:
        raise ImageLoadError(path, f"pixel data has unexpected shape {arr.shape}")

    spacing = _spacing(_get(ds, "PixelSpacing"))
    if spacing is None:
        spacing, us_notes = _display_tags.ultrasound_spacing(ds)
        notes += us_notes
    if spacing is None:
        spacing = _spacing(_get(ds, "ImagerPixelSpacing"))
        if spacing is not None:
            notes.append("pixel spacing from ImagerPixelSpacing (detector plane, not calibrated)")
    # Display only: VOI function and LUT, presentation inversion (grey images, as PS3.3 C.11.2 says).
    voi_function, voi_lut, presentation_inverse = "LINEAR", None, False
    if monochrome:
        voi_function, voi_notes = _display_tags.voi_function(ds)
        voi_lut, lut_notes = _display_tags.voi_lut(
            ds, signed=_int(_get(ds, "PixelRepresentation"), 0) == 1,
            little_endian=tsyntax.is_little_endian)
        presentation_inverse, shape_notes = _display_tags.presentation_inverse(ds, photometric)
        notes += voi_notes + lut_notes + shape_notes
    notes += [f"{name} is longer than DICOM allows: cut to {n} characters" for name, n in cut[:_MAX_WARNING_NOTES]]
    sop_uid = str(_get(ds, "SOPInstanceUID") or "").strip().rstrip("\0")
    if sop_uid and not is_valid_uid(sop_uid):
        # The case id names audit lines, worklist rows and reports: never NUL, "../" or 100 KB.
        notes.append("SOP Instance UID is not a valid DICOM UID: the study is named by a hash of its content")
        sop_uid = ""
    study_date = _date(_get(ds, "StudyDate"))
    return Radiograph(
        pixels=read_only(arr),
        source_path=path,
        format="DICOM",
        case_id=sop_uid or content_case_id(data),
        bits_stored=bits,
        photometric=photometric,
        patient_id=_text(_get(ds, "PatientID")),
        patient_name=_text(_get(ds, "PatientName")),
        study_date=study_date,
        patient_birth_date=_date(_get(ds, "PatientBirthDate")),
        study_description=_text(_get(ds, "StudyDescription")),  # LO: cut to 64 by cap_text_elements
        modality=_text(_get(ds, "Modality")),
        body_part=_text(_get(ds, "BodyPartExamined")),
        laterality=_laterality(ds),
        view_position=_text(_get(ds, "ViewPosition")),
        pixel_spacing_mm=spacing,
        window_center=_first_float(_get(ds, "WindowCenter")),
        window_width=_first_float(_get(ds, "WindowWidth")),
        voi_function=voi_function,
        voi_lut=voi_lut,
        presentation_inverse=presentation_inverse,
        transfer_syntax=str(tsyntax),
        notes=tuple(notes),
    )


def _get(ds: pydicom.Dataset, keyword: str):
    """Element value, or None when absent or malformed (pydicom converts values lazily)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ds.get(keyword)
    except Exception:  # a malformed value must not stop the image from loading
        return None


def _describe(ds: pydicom.Dataset) -> str:
    """Say what a pixel-less object is (an SR, an RT plan...) so the user sees why."""
    if _get(ds, "Modality"):
        return f" (modality {_get(ds, 'Modality')})"
    if _get(ds, "SOPClassUID"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a malformed UID is still worth naming
            return f" ({UID(str(_get(ds, 'SOPClassUID'))).name})"
    return ""


def _transfer_syntax(ds: pydicom.Dataset) -> UID:
    """The file's transfer syntax; inferred from the encoding when there is no file meta."""
    meta = getattr(ds, "file_meta", None)
    uid = meta.get("TransferSyntaxUID") if meta is not None else None
    if uid:
        return UID(str(uid))
    # Files without meta: pydicom detected the encoding while parsing; record it so the
    # native decoder knows how to read the pixels.
    if not ds.original_encoding[1]:
        uid = ExplicitVRBigEndian
    elif ds.original_encoding[0]:
        uid = ImplicitVRLittleEndian
    else:
        uid = ExplicitVRLittleEndian
    ds.file_meta = ds.file_meta if meta is not None else pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = uid
    return UID(uid)


def _check_decoder(path: Path, tsyntax: UID) -> None:
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


def _check_deflated_size(path: Path, data: bytes, max_pixels: int) -> None:
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


def _check_native_length(path: Path, ds: pydicom.Dataset) -> None:
    """Refuse uncompressed pixel data much longer than the header describes.

    Trailing padding (a byte, a row) is common and harmless: pydicom drops it with a warning.
    More than a row, or a sixteenth of the image if larger, means Rows, Columns, Bits Allocated or Number
    of Frames are wrong (often 2x or Nx), and the image would be shown cut or scrambled.
    """
    from pydicom.pixels.utils import get_expected_length

    try:
        element = next(kw for kw in _PIXEL_KEYWORDS if kw in ds)
        actual = len(ds[element].value)
        expected = int(get_expected_length(ds, "bytes"))
        bits = _int(_get(ds, "BitsAllocated"), 8)
        row = _int(_get(ds, "Columns"), 0) * _int(_get(ds, "SamplesPerPixel"), 1) * max(bits, 8) // 8
        frames = _int(_get(ds, "NumberOfFrames"), 1)
    except Exception:  # malformed header values: the decoder gives the precise reason
        return
    if bits not in (1, 8, 16, 32, 64) or frames < 1 or expected <= 0:
        return  # invalid values: the decoder names the element
    header = (f"the header ({_int(_get(ds, 'Rows'), 0)} x {_int(_get(ds, 'Columns'), 0)}, "
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


def _check_encapsulated(path: Path, ds: pydicom.Dataset, rows: int, cols: int, n_frames: int) -> None:
    """Refuse compressed frames that would decode to far more than the header describes.

    Decoders size their output from the codestream, not from Rows/Columns: a 600-byte
    JPEG 2000 frame whose SIZ marker says 9000 x 9000 inside a 64 x 64 header made the decoder
    allocate 650 MB before the shape mismatch was noticed.
    """
    try:
        pixel_bytes = bytes(ds["PixelData"].value[:65536]) if "PixelData" in ds else b""
        total = len(ds["PixelData"].value) if "PixelData" in ds else 0
        spp = max(_int(_get(ds, "SamplesPerPixel"), 1), 1)
    except Exception:  # malformed: the decoder reports it
        return
    size = _codestream_size(pixel_bytes)
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


def _modality_units(arr: np.ndarray, ds: pydicom.Dataset) -> np.ndarray:
    """Apply the Modality LUT / rescale; stay integer when the rescale is an integer shift."""
    if "ModalityLUTSequence" in ds:
        out = apply_modality_lut(arr, ds)
        return out.astype(np.float32) if out.dtype.kind == "f" else out
    if "RescaleSlope" not in ds and "RescaleIntercept" not in ds:
        return arr
    slope = _float(_get(ds, "RescaleSlope"), 1.0)
    intercept = _float(_get(ds, "RescaleIntercept"), 0.0)
    if slope == 1.0 and intercept == 0.0:
        return arr
    out = apply_modality_lut(arr, ds)
    if slope == 1.0 and float(intercept).is_integer() and arr.dtype.kind in "iu":
        # The stored range (from the header, not the data) decides the dtype, so every file
        # of a series gets the same one.
        info = np.iinfo(arr.dtype)
        lo, hi = int(info.min) + int(intercept), int(info.max) + int(intercept)
        return out.astype(_smallest_int(lo, hi))
    return out.astype(np.float32)


def _smallest_int(lo: int, hi: int) -> np.dtype:
    for dt in (np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.int64):
        info = np.iinfo(dt)
        if info.min <= lo and hi <= info.max:
            return np.dtype(dt)
    return np.dtype(np.int64)


def _native_byte_order(arr: np.ndarray) -> np.ndarray:
    if arr.dtype.byteorder in ("=", "|"):
        return arr
    return arr.astype(arr.dtype.newbyteorder("="))


def _laterality(ds: pydicom.Dataset) -> str | None:
    for keyword in ("ImageLaterality", "Laterality"):
        value = str(_get(ds, keyword) or "").strip().upper()
        if value in ("L", "LEFT"):
            return "L"
        if value in ("R", "RIGHT"):
            return "R"
    return None


def _spacing(value) -> tuple[float, float] | None:
    try:
        row, col = (float(v) for v in value)
    except (TypeError, ValueError):
        return None
    return (row, col) if row > 0 and col > 0 else None


def _first_float(value) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, (list, tuple, pydicom.multival.MultiValue)):
        value = value[0] if len(value) else None
    return _float(value, None)


def _float(value, default):
    try:
        return float(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        return default


def _int(value, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        return default


def _date(value) -> str | None:
    """A DA value as YYYYMMDD, or None when absent or malformed (never cut: DA is bounded raw)."""
    text = str(value or "").strip()
    return text if len(text) == 8 and text.isdigit() else None


def _text(value) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _describe_exc(exc: BaseException) -> str:
    if isinstance(exc, Exception):
        return _short(exc)
    return f"the decoder failed ({type(exc).__name__}: {_short(exc)})"


def _short(exc: object) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."

"""DICOM reader: pydicom plus the installed pylibjpeg plugins, first frame, modality units."""
from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pydicom
from pydicom.pixels import apply_color_lut, apply_modality_lut, get_decoder, pixel_array
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from ra_desktop.errors import ImageLoadError
from ra_desktop.io._common import check_pixel_count, content_case_id, read_only, rgb_to_grey
from ra_desktop.io.radiograph import Radiograph

_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
_MAX_WARNING_NOTES = 3


def read_dicom(path: Path, data: bytes, *, force: bool, max_pixels: int) -> Radiograph:
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

    Returns
    -------
    Radiograph

    Raises
    ------
    ImageLoadError
        Unreadable header, no pixel data, too large, no decoder, or a decode failure.
    """
    try:
        # Header quirks are tolerated (decode is what counts); kept to explain a failure.
        with warnings.catch_warnings(record=True) as header_warnings:
            warnings.simplefilter("always")
            ds = pydicom.dcmread(io.BytesIO(data), force=force)
    except Exception as exc:  # pydicom raises many exception types on bad bytes
        raise ImageLoadError(path, f"not a readable DICOM file ({_short(exc)})") from None

    if not any(kw in ds for kw in _PIXEL_KEYWORDS):
        if force and len(ds) == 0:
            raise ImageLoadError(path, "not an image: no recognisable DICOM or image header")
        eof = [w for w in header_warnings if "end of file" in str(w.message).lower()]
        if eof:
            detail = _short(eof[0].message).replace(" in file <no filename>", "")
            raise ImageLoadError(path, f"DICOM file is truncated ({detail})")
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

    tsyntax = _transfer_syntax(ds)
    _check_decoder(path, tsyntax)

    n_frames = _int(_get(ds, "NumberOfFrames"), 1)
    photometric = str(_get(ds, "PhotometricInterpretation") or "MONOCHROME2").strip().upper()
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            arr = pixel_array(ds, index=0 if n_frames > 1 else None)
            if photometric == "PALETTE COLOR":
                arr = apply_color_lut(arr, ds)
        except MemoryError:
            raise ImageLoadError(path, "not enough memory to decode the pixel data") from None
        except Exception as exc:  # every decoder failure becomes one readable message
            raise ImageLoadError(
                path, f"could not decode pixel data ({tsyntax.name}): {_short(exc)}"
            ) from None
    for w in caught[:_MAX_WARNING_NOTES]:
        notes.append(f"decoder warning: {_short(w.message)}")

    arr = _native_byte_order(arr)
    if n_frames > 1:
        notes.append(f"multi-frame ({n_frames} frames): first frame shown")
    bits = _int(_get(ds, "BitsStored"), 0) or _int(_get(ds, "BitsAllocated"), 8 * arr.itemsize)
    if photometric == "PALETTE COLOR":
        bits = 8 * arr.itemsize  # palette entries are 16-bit, whatever the indices were
    if arr.ndim == 3:  # colour samples last, already RGB (pydicom converts YBR)
        arr, converted = rgb_to_grey(arr)
        what = "colour" if converted else "RGB with equal channels"
        notes.append(f"{what} DICOM ({photometric}) converted to grey")
        photometric = "MONOCHROME2"
    elif photometric not in ("MONOCHROME1", "MONOCHROME2"):
        notes.append(f"unexpected photometric interpretation {photometric}, read as MONOCHROME2")
        photometric = "MONOCHROME2"
    else:
        arr = _modality_units(arr, ds)
    if arr.ndim != 2:
        raise ImageLoadError(path, f"pixel data has unexpected shape {arr.shape}")

    spacing = _spacing(_get(ds, "PixelSpacing"))
    if spacing is None:
        spacing = _spacing(_get(ds, "ImagerPixelSpacing"))
        if spacing is not None:
            notes.append("pixel spacing from ImagerPixelSpacing (detector plane, not calibrated)")
    sop_uid = str(_get(ds, "SOPInstanceUID") or "").strip()
    study_date = str(_get(ds, "StudyDate") or "").strip()
    return Radiograph(
        pixels=read_only(arr),
        source_path=path,
        format="DICOM",
        case_id=sop_uid or content_case_id(data),
        bits_stored=bits,
        photometric=photometric,
        patient_id=_text(_get(ds, "PatientID")),
        patient_name=_text(_get(ds, "PatientName")),
        study_date=study_date if len(study_date) == 8 and study_date.isdigit() else None,
        modality=_text(_get(ds, "Modality")),
        body_part=_text(_get(ds, "BodyPartExamined")),
        laterality=_laterality(ds),
        view_position=_text(_get(ds, "ViewPosition")),
        pixel_spacing_mm=spacing,
        window_center=_first_float(_get(ds, "WindowCenter")),
        window_width=_first_float(_get(ds, "WindowWidth")),
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


def _text(value) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _short(exc: object) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."

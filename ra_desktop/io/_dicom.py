"""DICOM reader: pydicom plus the installed pylibjpeg plugins, first frame, modality units."""
from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
from pydicom.pixels import apply_color_lut, apply_modality_lut, pixel_array
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from ra_desktop.errors import ImageLoadError
from ra_desktop.io import _display_tags, offdecode, preview
from ra_desktop.io._common import (
    check_pixel_count,
    content_case_id,
    read_only,
    rgb_to_grey,
)
from ra_desktop.io._dicom_checks import (
    PIXEL_KEYWORDS,
    check_decodable,
    check_decoder,
    check_deflated_size,
    check_encapsulated,
    check_native_length,
)
from ra_desktop.io._dicom_checks import describe_exc as _describe_exc
from ra_desktop.io._dicom_checks import get as _get
from ra_desktop.io._dicom_checks import short as _short
from ra_desktop.io._dicom_checks import to_int as _int
from ra_desktop.io._header_limits import (
    MAX_ELEMENTS,
    TooManyElements,
    cap_text_elements,
    element_budget,
    is_valid_uid,
)
from ra_desktop.io.radiograph import Radiograph

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
    ds, tsyntax, n_frames, cut = _parse(path, data, force=force, max_pixels=max_pixels)
    return _decode(path, data, force, ds, tsyntax, n_frames, cut, on_preview)


def read_dicom_header(path: Path, data: bytes, *, force: bool, max_pixels: int) -> dict:
    """The worklist's fields of a DICOM file, after every check :func:`read_dicom` makes before
    decoding, without decoding: a folder of 200 JPEG 2000 studies is listed in a second, not in
    100 s. A codestream that fails to decode is reported when the study is opened or analysed."""
    ds, _tsyntax, _n_frames, _cut = _parse(path, data, force=force, max_pixels=max_pixels)
    case_id, _note = _case_id(ds, data)
    return {"case_id": case_id, "patient_id": _text(_get(ds, "PatientID")),
            "patient_name": _text(_get(ds, "PatientName")), "study_date": _date(_get(ds, "StudyDate")),
            "laterality": _laterality(ds), "view_position": _text(_get(ds, "ViewPosition")), "format": "DICOM"}


def _parse(path: Path, data: bytes, *, force: bool, max_pixels: int):
    """The header, read and checked: (dataset, transfer syntax, frames, text elements cut)."""
    check_deflated_size(path, data, max_pixels)
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
    if not any(kw in ds for kw in PIXEL_KEYWORDS):
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
    check_decoder(path, tsyntax)
    n_frames = _int(_get(ds, "NumberOfFrames"), 1)
    if tsyntax.is_encapsulated:
        check_encapsulated(path, ds, rows, cols, n_frames)
    else:
        check_native_length(path, ds)
    check_decodable(path, ds, tsyntax)
    return ds, tsyntax, n_frames, cut


def _case_id(ds: pydicom.Dataset, data: bytes) -> tuple[str, str | None]:
    """The SOP Instance UID, or a hash of the file's bytes when it is not a valid UID (with why)."""
    sop_uid = str(_get(ds, "SOPInstanceUID") or "").strip().rstrip("\0")
    if sop_uid and not is_valid_uid(sop_uid):
        # The case id names audit lines, worklist rows and reports: never NUL, "../" or 100 KB.
        return content_case_id(data), ("SOP Instance UID is not a valid DICOM UID: the study is named by a "
                                       "hash of its content")
    return sop_uid or content_case_id(data), None


def _decode(path: Path, data: bytes, force: bool, ds: pydicom.Dataset, tsyntax: UID, n_frames: int, cut,
            on_preview: Callable[[preview.Preview], None] | None) -> Radiograph:
    photometric = str(_get(ds, "PhotometricInterpretation") or "MONOCHROME2").strip().upper()
    if on_preview is not None and tsyntax in preview.SYNTAXES:
        rows, cols = _int(_get(ds, "Rows"), 0), _int(_get(ds, "Columns"), 0)
        preview.offer(ds, rows, cols, photometric,
                      lambda arr: _finish(path, data, ds, arr, photometric, tsyntax, 1, cut, []), on_preview)
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            index = 0 if n_frames > 1 else None
            if offdecode.enabled() and tsyntax in offdecode.SLOW_SYNTAXES:  # the window keeps the GIL
                arr, messages = offdecode.run(offdecode.frame_pixels, data, force, index)
                for message in messages:
                    warnings.warn(message, stacklevel=1)
            else:
                arr = pixel_array(ds, index=index)
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
    case_id, uid_note = _case_id(ds, data)
    notes += [uid_note] if uid_note else []
    study_date = _date(_get(ds, "StudyDate"))
    return Radiograph(
        pixels=read_only(arr),
        source_path=path,
        format="DICOM",
        case_id=case_id,
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


def _date(value) -> str | None:
    """A DA value as YYYYMMDD, or None when absent or malformed (never cut: DA is bounded raw)."""
    text = str(value or "").strip()
    return text if len(text) == 8 and text.isdigit() else None


def _text(value) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None

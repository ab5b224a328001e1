"""DICOM display tags, read defensively: VOI LUT Function, VOI LUT Sequence, Presentation LUT Shape,
and the ultrasound regions' calibrated pixel spacing.

Every value here comes from whoever wrote the file. Nonsense is ignored with a note (the image is
still shown, with the file's window or an automatic one), never a crash and never an unbounded
allocation: a VOI LUT is at most 65,536 entries whatever its LUT Data element holds.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pydicom

from ra_desktop.io._header_limits import MAX_US_REGIONS, MAX_VOI_LUT_ENTRIES, VOI_LUT_BITS
from ra_desktop.render import voi

_LUT_DATA = 0x00283006
_CM = 3  # Physical Units X/Y Direction: 3 = cm (PS3.3 C.8.5.5.1.15)


def _get(ds, keyword: str):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ds.get(keyword)
    except Exception:  # a malformed value is treated as absent
        return None


def _first_item(ds, keyword: str):
    seq = _get(ds, keyword)
    try:
        return seq[0] if seq is not None and len(seq) else None
    except Exception:
        return None


def voi_function(ds: pydicom.Dataset) -> tuple[str, list[str]]:
    """The VOI LUT Function for the file's window: LINEAR when absent (the DICOM default)."""
    value = _get(ds, "VOILUTFunction")
    if value in (None, ""):
        return voi.LINEAR, []
    if isinstance(value, (list, tuple, pydicom.multival.MultiValue)):
        value = value[0] if len(value) else ""
    name = voi.normalise_function(str(value))
    if name is None:
        shown = str(value)[:32]
        return voi.LINEAR, [f"unknown VOI LUT Function {shown!r}: the window is applied as LINEAR"]
    return name, []


def voi_lut(ds: pydicom.Dataset, *, signed: bool, little_endian: bool) -> tuple[voi.VoiLut | None, list[str]]:
    """The first item of the VOI LUT Sequence, validated, or None with a note; never raises."""
    try:
        return _voi_lut(ds, signed=signed, little_endian=little_endian)
    except Exception as exc:  # whatever the header holds, the image still opens
        return None, [f"VOI LUT ignored: unreadable ({type(exc).__name__})"]


def _voi_lut(ds: pydicom.Dataset, *, signed: bool, little_endian: bool) -> tuple[voi.VoiLut | None, list[str]]:
    """The first item of the VOI LUT Sequence as a validated :class:`~ra_desktop.render.voi.VoiLut`.

    ``signed``: Pixel Representation 1 (the first mapped value is then SS). ``little_endian``: the
    data set's byte order, for LUT Data read from the raw element. Returns (None, [note]) for any
    LUT that cannot be used as written.
    """
    if "VOILUTSequence" not in ds:
        return None, []
    item = _first_item(ds, "VOILUTSequence")
    if item is None:
        return None, ["VOI LUT Sequence is empty or unreadable: ignored"]
    descriptor = _get(item, "LUTDescriptor")
    try:
        n, first, bits = (int(v) for v in descriptor)
    except (TypeError, ValueError):
        return None, ["VOI LUT ignored: its LUT Descriptor is not three numbers"]
    n = n % 65536 or 65536  # 0 means 2**16 entries; an SS-read count is still a count
    bits %= 65536
    if signed and first > 32767:
        first -= 65536
    elif not signed and first < 0:
        first += 65536
    if n > MAX_VOI_LUT_ENTRIES:  # unreachable for a 16-bit count; kept as the stated cap
        return None, [f"VOI LUT ignored: {n} entries (at most {MAX_VOI_LUT_ENTRIES})"]
    if bits not in VOI_LUT_BITS:
        return None, [f"VOI LUT ignored: {bits} bits per entry (the standard allows 8 to 16)"]
    words, note = _lut_words(item, n, bits, little_endian)
    if words is None:
        return None, [note]
    notes = [note] if note else []
    top = int(words.max())
    if top >= 1 << bits:  # entries wider than the descriptor says: trust the data's range
        wide = max(top.bit_length(), bits)
        notes.append(f"VOI LUT entries exceed the {bits} bits its descriptor states: read as {wide}-bit")
        bits = wide
    explanation = str(_get(item, "LUTExplanation") or "").strip()[:64]
    return voi.VoiLut(first, bits, words, explanation), notes


def _lut_words(item, n: int, bits: int, little_endian: bool) -> tuple[np.ndarray | None, str | None]:
    """The first ``n`` LUT Data values, read without converting more than needed."""
    try:
        element = item.get_item(_LUT_DATA)
    except Exception:
        element = None
    value = getattr(element, "value", None)
    if element is None or value is None:
        return None, "VOI LUT ignored: it has no LUT Data"
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value[: 2 * n + 2])
        count = len(value) // 2
        if count < n and bits == 8 and len(value) >= n:
            # Old writers packed two 8-bit entries in each 16-bit word.
            return np.frombuffer(raw[:n], np.uint8).astype(np.uint16), None
        words = np.frombuffer(raw[: 2 * (len(raw) // 2)], "<u2" if little_endian else ">u2")
    else:
        try:
            seq = [value] if isinstance(value, (int, np.integer)) else value
            count = len(seq)
            words = np.asarray([int(v) for v in seq[: n + 1]], dtype=np.int64)
        except (TypeError, ValueError):
            return None, "VOI LUT ignored: its LUT Data is not a list of numbers"
        if words.size and (words.min() < 0 or words.max() > 65535):
            return None, "VOI LUT ignored: its LUT Data holds values outside 0..65535"
        words = words.astype(np.uint16)
    if count < n:
        return None, f"VOI LUT ignored: its descriptor says {n} entries but the LUT Data holds {count}"
    note = None
    if count > n + 1:  # one extra word is padding to an even length
        note = f"VOI LUT Data holds {count} values, its descriptor {n}: the first {n} are used"
    return np.ascontiguousarray(words[:n]), note


def presentation_inverse(ds: pydicom.Dataset, photometric: str) -> tuple[bool, list[str]]:
    """Whether Presentation LUT Shape is INVERSE, with a note where it changes or contradicts the display.

    MONOCHROME1 with INVERSE is the one inversion the DX module prescribes, not a second. IDENTITY on
    MONOCHROME1 contradicts the image: shown as MONOCHROME1 (bone bright, as the model sees it),
    which DCMTK does not do.
    """
    value = _get(ds, "PresentationLUTShape")
    shape = str(value or "").strip().upper()
    if not shape:
        return False, []
    if shape == "INVERSE":
        if photometric == "MONOCHROME1":
            return True, []
        return True, ["Presentation LUT Shape INVERSE: shown inverted (the model's input is not)"]
    if shape == "IDENTITY":
        if photometric == "MONOCHROME1":
            return False, ["Presentation LUT Shape IDENTITY contradicts MONOCHROME1: shown as MONOCHROME1"]
        return False, []
    return False, [f"Presentation LUT Shape {shape[:16]!r} is not supported: ignored"]


def ultrasound_spacing(ds: pydicom.Dataset) -> tuple[tuple[float, float] | None, list[str]]:
    """(row, column) spacing in mm from the ultrasound regions calibrated in cm, or None.

    The first calibrated region's spacing is used; regions that disagree get a note, since a
    measurement in another region would then be wrong.
    """
    regions = _get(ds, "SequenceOfUltrasoundRegions")
    if regions is None:
        return None, []
    found: list[tuple[float, float]] = []
    try:
        items = list(regions[:MAX_US_REGIONS])
    except Exception:
        return None, []
    for region in items:
        try:
            if int(_get(region, "PhysicalUnitsXDirection")) != _CM or int(_get(region, "PhysicalUnitsYDirection")) != _CM:
                continue
            dx, dy = abs(float(_get(region, "PhysicalDeltaX"))), abs(float(_get(region, "PhysicalDeltaY")))
        except (TypeError, ValueError):
            continue
        if math.isfinite(dx) and math.isfinite(dy) and dx > 0 and dy > 0:
            found.append((dy * 10.0, dx * 10.0))
    if not found:
        return None, []
    notes = ["pixel spacing from the ultrasound region calibration"]
    if any(not (math.isclose(s[0], found[0][0], rel_tol=1e-6) and math.isclose(s[1], found[0][1], rel_tol=1e-6))
           for s in found[1:]):
        notes.append("ultrasound regions have different spacings: the first region's is used")
    return found[0], notes

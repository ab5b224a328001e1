"""Bounds on a DICOM header before and while pydicom parses it: an element budget, text values cut
to their VR's length, and what counts as a valid UID. The listener's door: a header is whatever
its sender wrote.
"""
from __future__ import annotations

import re
import threading
from contextlib import contextmanager

import pydicom
import pydicom.filereader
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import RawDataElement

# Real radiographs hold a few hundred data elements, a few thousand with vendor blocks. Each
# parsed element costs about 400 bytes: a 40 MB file of 4 million tiny ones took 1.6 GB.
MAX_ELEMENTS = 100_000
# Longest value each text VR may hold (PS3.5 table 6.2-1; PN: three 64-character groups).
# UC, UT and UR have no limit in the standard; nothing here needs more than 1024 of them.
_MAX_CHARS = {"AE": 16, "AS": 4, "CS": 16, "LO": 64, "LT": 10240, "PN": 194, "SH": 16,
              "ST": 1024, "UC": 1024, "UR": 1024, "UT": 1024}
# Numbers, dates and UIDs are never cut (a cut "1.5e-05" is another number; a cut UID another
# study): only their raw bytes are bounded, and a UID too long is refused as a case id.
_MAX_RAW_CHARS = {"DA": 18, "DS": 64, "DT": 54, "IS": 16, "TM": 28, "UI": 64}
# A VOI LUT's entry count is a 16-bit descriptor value (0 meaning 65,536): no more is ever read,
# whatever the LUT Data element holds; bits per entry 8..16 (PS3.3 C.11.2.1.1).
MAX_VOI_LUT_ENTRIES = 65536
VOI_LUT_BITS = range(8, 17)
# At most this many ultrasound regions are examined for a calibrated pixel spacing.
MAX_US_REGIONS = 16
_MAX_VALUES = 16  # values of a multi-valued element kept in full before its raw bytes are cut
_UID = re.compile(r"[0-9]+(\.[0-9]+)*")


def is_valid_uid(uid: str) -> bool:
    """A DICOM UID: at most 64 characters, digits in dot-separated components."""
    return len(uid) <= 64 and _UID.fullmatch(uid) is not None


class TooManyElements(Exception):
    pass


_budget = threading.local()
_parse_elements = pydicom.filereader.data_element_generator


def _counted_elements(*args, **kwargs):
    """pydicom's element generator, counting against this thread's budget when one is set.

    pydicom reads undefined-length sequences eagerly, items and all, through this generator,
    so counting here bounds nested floods too, before their elements exist.
    """
    gen = _parse_elements(*args, **kwargs)
    left = getattr(_budget, "left", None)
    if left is None:
        yield from gen
        return
    for element in gen:
        _budget.left -= 1
        if _budget.left < 0:
            raise TooManyElements
        yield element


pydicom.filereader.data_element_generator = _counted_elements


@contextmanager
def element_budget(n: int):
    _budget.left = n
    try:
        yield
    finally:
        _budget.left = None


def cap_text_elements(ds: pydicom.Dataset) -> list[tuple[str, int]]:
    """Cut every top-level text value to its VR's maximum length, before pydicom decodes it.

    A 100 MB Patient Name once kept a report running for minutes. Raw bytes are cut first (at 4
    bytes a character, so no character set loses a character it may keep), then the decoded text.
    Returns (keyword, kept characters) for each value cut.
    """
    cut: dict[str, int] = {}
    for tag in list(ds.keys()):
        try:
            raw = ds.get_item(tag)
            vr = raw.VR if raw.VR else dictionary_VR(tag)
        except Exception:  # private or unknown tag in an implicit-VR file: not read by the app
            continue
        limit = _MAX_CHARS.get(str(vr)) or _MAX_RAW_CHARS.get(str(vr))
        if limit is None or not isinstance(raw, RawDataElement) or raw.value is None:
            continue
        if len(raw.value) <= limit:
            continue
        name = pydicom.datadict.keyword_for_tag(tag) or str(tag)
        max_bytes = (4 * limit + 1) * _MAX_VALUES
        if len(raw.value) > max_bytes:
            ds[tag] = raw._replace(value=raw.value[:max_bytes], length=max_bytes)
            cut[name] = max_bytes
        if str(vr) not in _MAX_CHARS:
            continue
        try:
            value = ds[tag].value
            if isinstance(value, pydicom.multival.MultiValue):
                kept = [str(v)[:limit] for v in value]
                if any(len(str(v)) > limit for v in value):
                    ds[tag].value = kept
                    cut[name] = limit
            elif isinstance(value, (str, pydicom.valuerep.PersonName)) and len(str(value)) > limit:
                ds[tag].value = str(value)[:limit]
                cut[name] = limit
        except Exception:  # malformed: _get() treats it as absent
            continue
    return list(cut.items())  # a value cut twice is reported once, by its final length

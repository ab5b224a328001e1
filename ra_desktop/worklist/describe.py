"""One image file as a worklist entry (:class:`NewCase`), read by the hardened loader. No Qt.

Used by the folder scan (``worker/scan.py``) and by the DICOM receiver (``dicomnet/inbox.py``),
so a file added from a folder and the same file received over the network get the same row.
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

from ra_desktop.errors import ImageLoadError
from ra_desktop.worklist.store import NewCase

log = logging.getLogger(__name__)


def describe(path: Path) -> NewCase:
    """Read one file into a worklist entry; a file that cannot be read becomes a failed entry.

    The header only, checked as the loader checks it: a DICOM file's pixels are decoded when the
    study is opened or analysed (a JPEG 2000 study takes 0.5 s to decode, its header 2 ms)."""
    # lazy: pydicom loads on the first file read, not when the window (ui.dicom_node) imports this
    from ra_desktop.io import read_header

    try:
        r = read_header(path)
    except ImageLoadError as exc:
        return NewCase(case_id=path_key(path), path=str(path), error=exc.reason)
    except Exception as exc:  # noqa: BLE001 - never let one odd file stop a folder scan
        log.warning("reading case %s failed", path_key(path), exc_info=True)
        return NewCase(case_id=path_key(path), path=str(path), error=f"{type(exc).__name__}: {exc}")
    return case_from_radiograph(r, path)


def case_from_radiograph(r: Any, path: str | Path) -> NewCase:
    """The worklist entry of a loaded :class:`~ra_desktop.io.Radiograph` (or its
    :class:`~ra_desktop.io.ImageHeader`) kept at ``path``."""
    return NewCase(case_id=r.case_id, path=str(path), patient_id=r.patient_id,
                   patient_name=r.patient_name, study_date=r.study_date, laterality=r.laterality,
                   view=r.view_position, format=r.format)


def path_key(path: str | Path) -> str:
    """Case id of an unreadable file: a hash of its path (the path itself may name the patient)."""
    return "unreadable:" + hashlib.sha256(str(path).encode()).hexdigest()[:16]

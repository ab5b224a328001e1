"""Write a DICOM dataset to a folder atomically (temporary file, then a link into place), never
replacing an existing file: a half-written or overwritten object on the way to PACS is worse
than none."""
from __future__ import annotations

from pathlib import Path

from pydicom.dataset import Dataset

from ra_desktop.report.files import sanitise, write_atomic

KIND_BY_MODALITY = {"SR": "SR", "OT": "SC", "DOC": "PDF"}


def file_name(ds: Dataset, label: str | None = None) -> str:
    """``RA-<SR|SC|PDF>_<label>.dcm``; the label defaults to the object's SOP Instance UID."""
    kind = KIND_BY_MODALITY.get(str(ds.get("Modality", "")), "DICOM")
    return f"RA-{kind}_{sanitise(label or str(ds.SOPInstanceUID))}.dcm"


def write_dataset(ds: Dataset, folder: str | Path, name: str | None = None) -> Path:
    """Write ``ds`` as a DICOM Part 10 file in ``folder``; returns the path written.

    ``name`` defaults to :func:`file_name`; a taken name gets ``_2``, ``_3``... Nothing is left
    behind when encoding fails.
    """
    target = Path(folder) / (name or file_name(ds))
    return write_atomic(target, lambda fh: ds.save_as(fh, enforce_file_format=True))

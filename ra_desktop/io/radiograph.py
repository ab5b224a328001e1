"""The in-memory radiograph: pixels at native bit depth plus the metadata a reader needs."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Radiograph:
    """One loaded image.

    ``pixels`` is a read-only 2-D array in modality units (DICOM Modality LUT / rescale applied,
    signed where the file says so), never windowed or inverted. ``photometric`` is
    ``"MONOCHROME1"`` when high values are dark (invert *after* windowing for display) and
    ``"MONOCHROME2"`` otherwise; colour inputs have already been converted to grey and carry a
    note in ``notes``.
    """

    pixels: np.ndarray
    source_path: Path = field(repr=False)
    format: str  # "DICOM", "PNG", "JPEG", "BMP", "TIFF"
    case_id: str  # SOP Instance UID for DICOM, "sha256:<hex16>" of the file content otherwise
    bits_stored: int
    photometric: str = "MONOCHROME2"
    # repr=False: a Radiograph printed in a log or traceback must not carry patient data
    patient_id: str | None = field(default=None, repr=False)
    patient_name: str | None = field(default=None, repr=False)
    study_date: str | None = field(default=None, repr=False)  # YYYYMMDD as in DICOM
    modality: str | None = None
    body_part: str | None = None
    laterality: str | None = None  # "L", "R" or None
    view_position: str | None = None  # "PA", "AP", ...
    pixel_spacing_mm: tuple[float, float] | None = None  # (row, column) spacing
    window_center: float | None = None
    window_width: float | None = None
    transfer_syntax: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def inverted(self) -> bool:
        return self.photometric == "MONOCHROME1"

"""The in-memory radiograph: pixels at native bit depth plus the metadata a reader needs."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ra_desktop.render.voi import VoiLut


@dataclass(frozen=True)
class Radiograph:
    """One loaded image.

    ``pixels`` is a read-only 2-D array in modality units (DICOM Modality LUT / rescale applied,
    signed where the file says so), never windowed or inverted. ``photometric`` is
    ``"MONOCHROME1"`` when high values are dark (invert *after* windowing for display) and
    ``"MONOCHROME2"`` otherwise; colour inputs have already been converted to grey and carry a
    note in ``notes``.

    Display only (never the model's input): ``voi_function`` is the VOI LUT Function the file's
    window is applied with (DICOM: the file's, else LINEAR, the standard's default; other formats:
    LINEAR_EXACT, the plain ``(x - (c - w/2)) / w``); ``voi_lut`` the file's first VOI LUT
    (validated and capped by the reader); ``presentation_inverse`` a Presentation LUT Shape of
    INVERSE. :attr:`display_inverted` combines it with MONOCHROME1; :attr:`inverted` stays the
    photometric interpretation alone, which is what the model's intensity step uses.
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
    patient_birth_date: str | None = field(default=None, repr=False)  # YYYYMMDD, as study_date
    study_description: str | None = field(default=None, repr=False)  # LO: at most 64 characters
    modality: str | None = None
    body_part: str | None = None
    laterality: str | None = None  # "L", "R" or None
    view_position: str | None = None  # "PA", "AP", ...
    pixel_spacing_mm: tuple[float, float] | None = None  # (row, column) spacing
    window_center: float | None = None
    window_width: float | None = None
    voi_function: str = "LINEAR_EXACT"
    voi_lut: VoiLut | None = field(default=None, repr=False)
    presentation_inverse: bool = False
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

    @property
    def display_inverted(self) -> bool:
        """Shown inverted: MONOCHROME1 or Presentation LUT Shape INVERSE (one inversion, not two)."""
        return self.inverted or self.presentation_inverse

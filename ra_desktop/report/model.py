"""Plain data for reports: what goes in (``ReportInput``) and what is laid out (``ReportModel``).

Nothing here knows about PDF, Qt or torch. ``ReportInput`` is the builder's input: core objects
(``CaseResult``, a model manifest, a worklist sign-off) are converted into it by
:mod:`ra_desktop.report.adapt`, and tests can fill it by hand.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

PAPER_SIZES_MM: dict[str, tuple[float, float]] = {"a4": (210.0, 297.0), "letter": (215.9, 279.4)}
OVERLAYS = ("gradcam", "shap")
SYNTHETIC_NOTICE = "Trained on synthetic phantoms — not for clinical use"
OVERLAY_CAPTION = "Where the model looked — not where the disease is"
REMOVED = "removed (de-identified)"


@dataclass(frozen=True)
class HeatmapData:
    """A heat map in image space (NaN where the model saw nothing)."""

    values: np.ndarray
    signed: bool = False
    kind: str = "gradcam"


@dataclass(frozen=True)
class OODData:
    """Out-of-distribution check: feature distance against the model's threshold."""

    distance: float
    threshold: float
    in_distribution: bool


@dataclass(frozen=True)
class ModelSummary:
    """What the report says about the model (from its manifest)."""

    name: str = "unknown model"
    version: str = "?"
    weights_sha256: str = ""
    training_data: str = ""
    validation_metrics: dict[str, Any] = field(default_factory=dict)
    synthetic_training_data: bool = True  # unknown provenance is treated as not clinical
    notice: str = ""
    intended_use: str = ""
    architecture: str = ""


@dataclass(frozen=True)
class SignOff:
    """The reader's decision on the AI result, from the worklist."""

    reader: str
    agree: bool | None = None
    note: str = ""
    timestamp: str = ""


@dataclass(frozen=True)
class ScoreSheetData:
    """One reader's Sharp/van der Heijde sheet of the study, with its joint markers."""

    reader: str
    scores: dict[tuple[str, str, str], Any]  # (hand, kind, site) -> 0..5 or "NA"
    markers: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)  # (hand, site) -> x, y
    progression: str = ""  # against the patient's prior study, when both are scored


@dataclass(frozen=True)
class ReportInput:
    """Everything one study's report needs, as plain data.

    ``pixels`` are modality units, never windowed or inverted; the builder windows them with
    the DICOM window when present, else an automatic percentile window, and inverts
    MONOCHROME1 after windowing (the viewer's order).
    """

    case_id: str
    pixels: np.ndarray
    probability: float
    threshold: float
    label: str
    photometric: str = "MONOCHROME2"
    window_center: float | None = None
    window_width: float | None = None
    voi_function: str = "LINEAR_EXACT"  # the file's VOI LUT Function (PNG/JPEG: the plain formula)
    voi_lut: Any = None  # the file's VOI LUT (render.voi.VoiLut), used instead of the window
    presentation_inverse: bool = False
    source_file: str = ""
    patient_name: str | None = None
    patient_id: str | None = None
    study_date: str | None = None  # YYYYMMDD
    laterality: str | None = None
    view_position: str | None = None
    modality: str | None = None
    body_part: str | None = None
    pixel_spacing_mm: tuple[float, float] | None = None
    ood: OODData | None = None
    heatmaps: dict[str, HeatmapData] = field(default_factory=dict)
    regions: list[tuple[str, float]] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    model: ModelSummary = field(default_factory=ModelSummary)
    signoff: SignOff | None = None
    score_sheet: ScoreSheetData | None = None
    radiogrammetry: Any = None  # report/radiogrammetry.py RadiogrammetryData, when the study was measured
    annotations: Any = None  # report/annotations.py AnnotationData: the reader's arrows, texts, angles, ROIs
    deidentified: bool = False  # identifiers already removed: never pseudonymise twice


@dataclass(frozen=True)
class ReportOptions:
    """Choices made by the user (or the CLI) for one export."""

    deidentify: bool = False
    overlay: str = "gradcam"
    paper: str = "a4"
    institution: str | None = None  # overrides settings when given
    opacity: float = 0.45  # one opacity for the whole layer, as on screen
    cmap: str | None = None  # None: jet for Grad-CAM, rdbu for signed SHAP
    max_image_px: int = 1200  # long side of embedded images
    # De-identified case pseudonyms are keyed with this; None: the workstation's own key.
    pseudonym_key: bytes | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.overlay not in OVERLAYS:
            raise ValueError(f"overlay must be one of {OVERLAYS}, not {self.overlay!r}")
        if self.paper not in PAPER_SIZES_MM:
            raise ValueError(f"paper must be one of {tuple(PAPER_SIZES_MM)}, not {self.paper!r}")


# --- the laid-out report -------------------------------------------------------------------

@dataclass(frozen=True)
class ColourBarData:
    """A vertical colour bar image with labelled ticks (top = high)."""

    rgb: np.ndarray
    ticks: list[tuple[float, str]]  # (position 0 = bottom .. 1 = top, label)
    title: str


@dataclass(frozen=True)
class ReportImage:
    """An RGB (H×W×3 uint8) picture with title and caption; ``marker`` is an L/R burn-in text."""

    title: str
    rgb: np.ndarray
    caption: str = ""
    marker: str = ""
    colourbar: ColourBarData | None = None


@dataclass(frozen=True)
class Table:
    """A titled table; ``header`` empty means key/value rows."""

    title: str
    rows: list[tuple[str, ...]]
    header: tuple[str, ...] = ()
    note: str = ""
    col_widths: tuple[float, ...] = ()  # fractions of the table width; empty: the layout decides


@dataclass(frozen=True)
class Finding:
    """The headline: probability against threshold, label and OOD status."""

    probability: float
    threshold: float
    label: str
    positive: bool
    ood_text: str
    ood_warning: bool
    sentence: str


@dataclass(frozen=True)
class ReportModel:
    """A full report as plain data; :func:`ra_desktop.report.pdf.render_pdf` lays it out."""

    institution: str
    title: str
    paper: str
    case_id: str
    warnings: list[str]
    patient: Table
    finding: Finding
    images: list[ReportImage]
    regions: Table
    model_card: Table
    signoff: Table | None
    intended_use: str
    footer: list[str]
    generated_at: str
    file_date: str  # YYYYMMDD used in the file name (report date when de-identified)
    scores: list[Table] = field(default_factory=list)  # one per scored hand
    radiogrammetry: list[Table] = field(default_factory=list)  # metacarpals, joints, change
    annotations: list[Table] = field(default_factory=list)  # the reader's annotations with their values
    annotation_image: ReportImage | None = None  # the radiograph with them drawn, beside their table
    deidentified: bool = False

"""The DICOM objects of one analysed study, built the same way for ``ra-desktop export-dicom``,
the window's "Save as DICOM" and its "Send to PACS": every object is built before any is written
or sent, so a failure leaves none of them half done."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydicom.dataset import Dataset

from ra_desktop.dicomout.context import export_context
from ra_desktop.dicomout.pdf import build_encapsulated_pdf, report_pdf
from ra_desktop.dicomout.sc import build_sc
from ra_desktop.dicomout.sr import build_sr
from ra_desktop.report.model import ReportOptions

KINDS = ("sr", "sc", "pdf")


@dataclass(frozen=True)
class ResultBundle:
    """What one study's objects say: the analysis, and what the reader added to it."""

    result: Any  # CaseResult (its radiograph is the source image)
    manifest: Any = None
    signoff: Any = None  # the worklist row, when signed
    scores: Any = None  # the Sharp/van der Heijde sheet of the report
    radiogrammetry: Any = None  # the report's RadiogrammetryData (its .hand goes into the SR), if measured
    annotations: Any = None  # the reader's AnnotationData, printed in the PDF
    settings: Any = None  # the window's settings (the report reads them); None from the CLI
    institution: str | None = None  # default: the settings' institution
    deidentify: bool = False
    overlay: str = "gradcam"
    patient_id: str | None = None  # for a non-DICOM source: the worklist's patient ID
    options: Any = None  # ReportOptions of the PDF; default from ``deidentify`` and ``overlay``


def source_header(radiograph: Any) -> Dataset | None:
    """The source file's DICOM header (no pixels), or None for PNG/JPEG sources."""
    if getattr(radiograph, "format", None) != "DICOM" or radiograph.source_path is None:
        return None
    import pydicom

    return pydicom.dcmread(str(radiograph.source_path), stop_before_pixels=True, force=True)


def build_objects(bundle: ResultBundle, kinds: tuple[str, ...] = KINDS) -> tuple[list[Dataset], Any]:
    """The chosen objects (SR, SC, Encapsulated PDF, in that order) and their export context."""
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown DICOM object kind(s): {', '.join(sorted(unknown))}")
    b = bundle
    radiograph = b.result.radiograph
    header = source_header(radiograph)
    institution = b.institution or getattr(b.settings, "institution", "") or None
    ctx = export_context(header, radiograph, deidentify=b.deidentify, patient_id=b.patient_id)
    datasets: list[Dataset] = []
    if "sr" in kinds:
        datasets.append(build_sr(header, radiograph, b.result, manifest=b.manifest, scores=b.scores,
                                 measurements=getattr(b.radiogrammetry, "hand", None), signoff=b.signoff, context=ctx,
                                 institution=institution))
    if "sc" in kinds:
        datasets.append(build_sc(header, radiograph, b.result, manifest=b.manifest, overlay=b.overlay, context=ctx,
                                 institution=institution))
    if "pdf" in kinds:
        options = b.options
        if options is None:
            options = ReportOptions(deidentify=b.deidentify, overlay=b.overlay, institution=institution)
        pdf = report_pdf(b.result, manifest=b.manifest, signoff=b.signoff, scores=b.scores,
                         deidentify=b.deidentify, options=options, settings=b.settings,
                         measurements=b.radiogrammetry, annotations=b.annotations)
        datasets.append(build_encapsulated_pdf(header, radiograph, pdf, context=ctx, institution=institution))
    return datasets, ctx

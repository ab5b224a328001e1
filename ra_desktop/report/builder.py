"""Build a :class:`ReportModel` (plain data, images as numpy RGB) from one analysed study.

Core code: no Qt, no torch, no PDF. The images are drawn by :mod:`ra_desktop.render` exactly as
the viewer draws them, so the printed overlay matches the screen.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np

from ra_desktop import APP_NAME, INTENDED_USE, __version__
from ra_desktop.render.compose import display_grey, fit_long_side, overlay_rgb
from ra_desktop.render.overlay import colorbar
from ra_desktop.report.adapt import from_case
from ra_desktop.report.annotations import annotated_image, annotation_tables
from ra_desktop.report.deidentify import deidentify
from ra_desktop.report.metrics_text import metric_rows
from ra_desktop.report.radiogrammetry import measured_image, radiogrammetry_tables
from ra_desktop.report.scores import marked_image, score_tables
from ra_desktop.report.model import (
    OVERLAY_CAPTION, REMOVED, SYNTHETIC_NOTICE, ColourBarData, Finding, ReportImage, ReportInput,
    ReportModel, ReportOptions, Table,
)
from ra_desktop.report.text import clean, header_text
from ra_desktop.results import ood_no_verdict, probability_texts
from ra_desktop.settings import load_settings

_LATERALITY = {"L": "Left", "R": "Right"}
_OVERLAY_TITLES = {"gradcam": "Grad-CAM", "shap": "SHAP"}


def institution_name(options: ReportOptions, settings: Any = None) -> str:
    """The header's institution: an explicit option, else the user's settings, else the app name.

    ``settings`` may be a settings object or dict; when ``None`` the GUI's settings file is read
    through ``ra_desktop.settings``.
    """
    if options.institution:
        return options.institution
    if settings is None:
        settings = _load_settings()
    for key in ("institution_name", "institution"):
        value = settings.get(key) if isinstance(settings, Mapping) else getattr(settings, key, None)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return APP_NAME


def _load_settings() -> Any:
    try:
        return load_settings()
    except Exception:  # noqa: BLE001 - a broken settings file must not stop a report
        return None


def _date(yyyymmdd: str | None) -> str:
    if not yyyymmdd:
        return "not recorded"
    s = str(yyyymmdd)
    return f"{s[:4]}-{s[4:6]}-{s[6:8]}" if len(s) == 8 and s.isdigit() else s


def _patient_table(inp: ReportInput, deidentify: bool) -> Table:
    # Every value here but the image size comes from the file's header: the sender's text.
    def shown(value: Any) -> str:
        return REMOVED if deidentify else (header_text(value) if value else "not recorded")

    laterality = _LATERALITY.get((inp.laterality or "").upper(), "not recorded")
    spacing = (f"{inp.pixel_spacing_mm[0]:.3g} × {inp.pixel_spacing_mm[1]:.3g} mm"
               if inp.pixel_spacing_mm else "unknown")
    view = " · ".join(header_text(v) for v in (inp.view_position, inp.body_part) if v) or "not recorded"
    file_name = inp.source_file.replace("\\", "/").rsplit("/", 1)[-1]
    rows = [
        ("Patient name", shown(inp.patient_name)),
        ("Patient ID", shown(inp.patient_id)),
        ("Study date", REMOVED if deidentify else header_text(_date(inp.study_date))),
        # De-identified: the workstation pseudonym (ANON-...), never the SOP Instance UID.
        ("Case ID", header_text(inp.case_id)),
        ("Laterality", laterality),
        ("View", view),
        ("Modality", header_text(inp.modality) if inp.modality else "not recorded"),
        ("Image", f"{inp.pixels.shape[1]} × {inp.pixels.shape[0]} px, spacing {spacing}"),
        # A file name often carries the patient's name: hide it too.
        ("File", REMOVED if deidentify else (header_text(file_name) if file_name else "—")),
    ]
    return Table("Patient and study", rows)


def _finding(inp: ReportInput) -> Finding:
    positive = inp.probability >= inp.threshold
    cmp = "≥" if positive else "<"
    p_text, t_text = probability_texts(inp.probability, inp.threshold)  # decimals so the comparison reads true
    sentence = (f"RA probability {p_text} {cmp} threshold {t_text}: "
                f"model label \u201c{inp.label}\u201d")
    no_verdict = ood_no_verdict(inp.ood)
    if no_verdict:  # the model does not apply: no probability, no label
        sentence = f"No verdict: {no_verdict}."
    if inp.ood is None:
        ood_text, warn = "not available (this model has no out-of-distribution statistics)", False
    elif inp.ood.in_distribution:
        ood_text = (f"within the training distribution (distance {inp.ood.distance:.2f} < "
                    f"threshold {inp.ood.threshold:.2f})")
        warn = False
    else:
        ood_text = (f"OUT OF DISTRIBUTION (distance {inp.ood.distance:.2f} ≥ threshold "
                    f"{inp.ood.threshold:.2f}): the image is unlike the training data; do not rely on the result")
        warn = True
    return Finding(inp.probability, inp.threshold, inp.label, positive, ood_text, warn, sentence)


def _ticks(vmin: float, vmax: float, signed: bool) -> list[tuple[float, str]]:
    if signed:
        return [(1.0, f"+{vmax:.2g} toward RA"), (0.5, "0"), (0.0, f"{vmin:.2g} toward normal")]
    return [(1.0, f"{vmax:.2g} high"), (0.5, f"{(vmin + vmax) / 2:.2g}"), (0.0, f"{vmin:.2g} low")]


def _images(inp: ReportInput, options: ReportOptions) -> tuple[list[ReportImage], list[str]]:
    """The radiograph, and the chosen overlay unless it is missing or the model does not apply."""
    grey = display_grey(inp.pixels, inp.photometric, inp.window_center, inp.window_width, function=inp.voi_function,
                        voi_lut=inp.voi_lut, presentation_inverse=inp.presentation_inverse)
    marker = (inp.laterality or "").upper() if (inp.laterality or "").upper() in _LATERALITY else ""
    window = ("file VOI LUT" if inp.voi_lut is not None
              else f"file window ({inp.voi_function})" if inp.window_center is not None and inp.window_width
              else "automatic window")
    inverted = (", MONOCHROME1 inverted" if inp.photometric == "MONOCHROME1"
                else ", inverted (Presentation LUT Shape INVERSE)" if inp.presentation_inverse else "")
    images = [ReportImage("Radiograph", fit_long_side(grey, options.max_image_px),
                          f"As displayed: {window}{inverted}.", marker)]
    marked = marked_image(grey, inp.score_sheet, marker, options.max_image_px)
    if marked is not None:  # the reader's markers come before any map of the model's
        images.append(marked)
    measured = measured_image(grey, inp.radiogrammetry, marker, options.max_image_px)
    if measured is not None:
        images.append(measured)
    notes: list[str] = []
    title = _OVERLAY_TITLES[options.overlay]
    if ood_no_verdict(inp.ood):
        notes.append(f"The {title} overlay is not shown: the model does not apply to this image.")
        return images, notes
    hm = inp.heatmaps.get(options.overlay)
    if hm is None:
        notes.append(f"The {title} overlay was not computed for this study; only the radiograph is shown.")
        return images, notes
    values = np.asarray(hm.values, dtype=np.float32)
    if values.shape != grey.shape:
        notes.append(f"The {title} map does not match the image size; the overlay is left out.")
        return images, notes
    cmap = options.cmap or ("rdbu" if hm.signed else "jet")
    rgb, (vmin, vmax) = overlay_rgb(grey, values, cmap, options.opacity, hm.signed)
    bar = ColourBarData(colorbar(cmap, length=256, thickness=24), _ticks(vmin, vmax, hm.signed),
                        f"{title} value")
    unseen = "" if np.isfinite(values).all() else " Hatched: parts the model did not see."
    caption = (f"{OVERLAY_CAPTION}. {title}, colour map {cmap}, opacity "
               f"{round(options.opacity * 100)} %.{unseen}")
    images.append(ReportImage(f"{title} overlay", fit_long_side(rgb, options.max_image_px), caption,
                              marker, bar))
    return images, notes


def _annotation_image(inp: ReportInput, options: ReportOptions) -> ReportImage | None:
    if not inp.annotations or not inp.annotations.items:
        return None
    grey = display_grey(inp.pixels, inp.photometric, inp.window_center, inp.window_width, function=inp.voi_function,
                        voi_lut=inp.voi_lut, presentation_inverse=inp.presentation_inverse)
    side = (inp.laterality or "").upper()
    return annotated_image(grey, inp.annotations, side if side in _LATERALITY else "", options.max_image_px)


def _regions(inp: ReportInput, top: int = 5) -> Table:
    if ood_no_verdict(inp.ood):
        return Table("Top contributing regions", [], ("#", "Region", "Influence"),
                     "Not shown: the model does not apply to this image.")
    ranked = sorted(inp.regions, key=lambda r: -abs(r[1]) if np.isfinite(r[1]) else 0.0)[:top]
    rows = [(str(i), name, f"{score:.3f}") for i, (name, score) in enumerate(ranked, 1)]
    if rows:
        note = ""
    elif "gradcam" in inp.heatmaps:  # an all-zero map is a finding, not a missing one
        note = "No region pushes the score toward RA: the Grad-CAM map is empty for this study."
    else:
        note = "No region scores were computed for this study."
    return Table("Top contributing regions", rows, ("#", "Region", "Influence"), note)


def _model_card(inp: ReportInput) -> Table:
    m = inp.model
    sha = f"SHA-256 {m.weights_sha256[:12]}…" if m.weights_sha256 else "weights hash not recorded"
    arch = f" · {m.architecture}" if m.architecture else ""
    rows = [("Model", f"{m.name}, version {m.version}{arch} · {sha}")]
    rows.append(("Training data", m.training_data or "not recorded"))
    metrics = metric_rows(m.validation_metrics)
    # One row keeps the card short; n goes first because a metric means little without it.
    text = "; ".join(f"{k} {v}" for k, v in metrics) or "no metrics in the manifest"
    rows.append(("Validation", text))
    if m.notice:
        rows.append(("Notice", m.notice))
    return Table("Model", rows)


def _signoff(inp: ReportInput) -> Table | None:
    s = inp.signoff
    if s is None:
        return None
    decision = {True: "agrees with the AI result", False: "disagrees with the AI result"}.get(
        s.agree, "no decision recorded")
    rows = [("Reader", s.reader), ("Decision", decision)]
    if s.note:
        rows.append(("Note", s.note))
    if s.timestamp:
        rows.append(("Signed", s.timestamp))
    return Table("Reader sign-off", rows)


def _footer(inp: ReportInput, now: datetime) -> list[str]:
    order = ["load", "preprocess", "inference", "prediction", "ood", "gradcam", "shap", "regions"]
    stages = sorted(inp.timings_ms, key=lambda k: (order.index(k) if k in order else len(order), k))
    timing = " · ".join(f"{k} {inp.timings_ms[k]:.0f} ms" for k in stages) or "not recorded"
    # Device and version come with the result: short enough that the footer keeps its date.
    device = header_text(inp.provenance.get("device") or "", 40)
    version = header_text(inp.provenance.get("app_version") or __version__, 40)
    return [f"Timings: {timing}" + (f" (device {device})" if device else ""),
            f"{APP_NAME} {version} · report generated {now.strftime('%Y-%m-%d %H:%M')}"]


def build_report(
    case: Any,
    manifest: Any = None,
    signoff: Any = None,
    settings: Any = None,
    options: ReportOptions | None = None,
    now: datetime | None = None,
    scores: Any = None,
    measurements: Any = None,
    annotations: Any = None,
) -> ReportModel:
    """Assemble a report for one study as plain data.

    Parameters
    ----------
    case : CaseResult or ReportInput
        The analysed study.
    manifest : Manifest, dict or ModelSummary, optional
        Model card source; falls back to ``case.provenance``.
    signoff : worklist row, dict or SignOff, optional
        The reader's decision and note, printed when present.
    settings : settings object or dict, optional
        Source of the institution name; read from ``ra_desktop.settings`` when ``None``.
    options : ReportOptions, optional
        De-identification, overlay choice, paper size...
    now : datetime, optional
        Report time (tests pin it).

    Returns
    -------
    ReportModel
    """
    options = options or ReportOptions()
    now = now or datetime.now()
    inp = from_case(case, manifest, signoff, scores, measurements, annotations)
    if options.deidentify:
        inp = deidentify(inp, options.pseudonym_key)
    finding = _finding(inp)
    images, image_notes = _images(inp, options)
    warnings = []
    if inp.model.synthetic_training_data:
        warnings.append(SYNTHETIC_NOTICE)
    if finding.ood_warning:
        warnings.append("Out of distribution: this image is unlike the training data.")
    warnings += image_notes
    file_date = now.strftime("%Y%m%d") if options.deidentify or not inp.study_date else str(inp.study_date)[:8]
    return ReportModel(
        institution=institution_name(options, settings),
        title="Rheumatoid arthritis decision-support report",
        paper=options.paper, case_id=clean(inp.case_id), warnings=warnings,
        patient=_patient_table(inp, options.deidentify), finding=finding, images=images,
        regions=_regions(inp), model_card=_model_card(inp), signoff=_signoff(inp),
        intended_use=INTENDED_USE, footer=_footer(inp, now), generated_at=now.isoformat(timespec="seconds"),
        file_date=file_date, scores=score_tables(inp.score_sheet), deidentified=options.deidentify,
        radiogrammetry=radiogrammetry_tables(inp.radiogrammetry),
        annotations=annotation_tables(inp.annotations, inp.pixels, inp.pixel_spacing_mm),
        annotation_image=_annotation_image(inp, options),
    )

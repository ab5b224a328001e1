"""The annotated view as a DICOM Secondary Capture (highdicom ``SCImage``), for PACS viewers
without SR support.

:func:`compose_view` draws what the PDF report prints, as one RGB picture: the radiograph as the
viewer windows it (MONOCHROME1 inverted after windowing), the heat map at one opacity with its
colour bar (none when the model does not apply or no map was computed), the L/R marker, and
burned-in text: "NOT FOR CLINICAL USE" with the model's notice, the finding (or "no verdict"),
the model's name, version and hash and "where the model looked — not where the disease is".
No patient identifier is ever burned in, so the pixels of a de-identified export need no cleaning.
"""
from __future__ import annotations

from typing import Any

import highdicom as hd
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian

from ra_desktop import APP_NAME, __version__
from ra_desktop.dicomout.context import MANUFACTURER, ExportContext, export_context
from ra_desktop.render.compose import fit_long_side, overlay_rgb, radiograph_grey
from ra_desktop.render.overlay import colorbar
from ra_desktop.report.adapt import model_summary
from ra_desktop.report.fonts import find_unicode_font
from ra_desktop.report.model import OVERLAY_CAPTION, SYNTHETIC_NOTICE
from ra_desktop.results import ood_no_verdict, probability_texts

SERIES_NUMBER = 9902
SERIES_DESCRIPTION = "RA Desktop annotated view (not for clinical use)"
NOT_FOR_CLINICAL_USE = "NOT FOR CLINICAL USE"
_TITLES = {"gradcam": "Grad-CAM", "shap": "SHAP"}
_BAND = (32, 32, 32)
_WARN = (160, 20, 20)
_WHITE = (255, 255, 255)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    found = find_unicode_font()
    if found is not None:
        try:
            return ImageFont.truetype(str(found[0]), size)
        except OSError:
            pass
    return ImageFont.load_default(size=size)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            trial = f"{line} {word}".strip()
            if line and draw.textlength(trial, font=font) > width:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
    return lines


def _band(width: int, text: str, font, size: int, fill, colour=_WHITE) -> np.ndarray:
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    pad = max(4, size // 2)
    lines = _wrap(probe, text, font, width - 2 * pad)
    line_h = int(size * 1.3)
    img = Image.new("RGB", (width, 2 * pad + line_h * len(lines)), fill)
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((pad, pad + i * line_h), line, font=font, fill=colour)
    return np.asarray(img)


def _finding_text(result: Any) -> str:
    no_verdict = ood_no_verdict(getattr(result, "ood", None))
    if no_verdict:
        return f"No verdict: model not applicable. {no_verdict[0].upper()}{no_verdict[1:]}."
    p, t = probability_texts(float(result.probability), float(result.threshold))
    cmp = "≥" if result.probability >= result.threshold else "<"
    text = f"AI: RA probability {p} {cmp} threshold {t}: model label \u201c{result.label}\u201d."
    if getattr(result, "ood", None) is None:
        text += " Out-of-distribution check not available."
    return text


def compose_view(
    radiograph: Any,
    result: Any,
    *,
    manifest: Any = None,
    overlay: str = "gradcam",
    opacity: float = 0.45,
    cmap: str | None = None,
    max_px: int = 2048,
) -> np.ndarray:
    """The annotated view as an H×W×3 uint8 RGB array (what :func:`build_sc` stores).

    Parameters
    ----------
    radiograph : Radiograph
        Modality pixels, photometric interpretation, window, laterality.
    result : CaseResult
        Its heat maps, probability, label, threshold, OOD check and provenance.
    manifest : Manifest or dict, optional
        Model card source (else ``result.provenance``).
    overlay : str
        Heat map drawn ("gradcam" or "shap"); left out when missing or the model does not apply.
    opacity : float
        One opacity for the whole layer, as on screen.
    cmap : str, optional
        Colour map; default jet (Grad-CAM) or rdbu (signed SHAP), as in the report.
    max_px : int
        Long side of the radiograph part (downsampled, never upsampled).
    """
    model = model_summary(manifest, getattr(result, "provenance", None))
    grey = radiograph_grey(radiograph)  # as the viewer opens it: the file's VOI function or LUT
    rgb = np.repeat(grey[..., None], 3, axis=2)
    hm = None if ood_no_verdict(getattr(result, "ood", None)) else (getattr(result, "heatmaps", {}) or {}).get(overlay)
    values_range = None
    if hm is not None and np.shape(hm.values) == grey.shape:
        cmap = cmap or ("rdbu" if hm.signed else "jet")
        rgb, values_range = overlay_rgb(grey, np.asarray(hm.values, np.float32), cmap, opacity, hm.signed)
    rgb = fit_long_side(rgb, max_px)
    h, w = rgb.shape[:2]
    size = max(12, min(40, max(h, w) // 70))
    font = _font(size)

    view = Image.fromarray(np.ascontiguousarray(rgb))
    draw = ImageDraw.Draw(view)
    marker = (getattr(radiograph, "laterality", None) or "").upper()
    if marker in ("L", "R"):
        big = _font(size * 2)
        draw.text((w - size * 3, size // 2), marker, font=big, fill=_WHITE, stroke_width=2, stroke_fill=(0, 0, 0))
    parts = [np.asarray(view)]
    if values_range is not None:  # colour bar beside the image, ticks labelled
        bar_w = max(size * 6, w // 10)
        panel = Image.new("RGB", (bar_w, h), _BAND)
        bar_h = max(32, h - 4 * size)
        bar = colorbar(cmap, length=bar_h, thickness=max(8, bar_w // 4))
        panel.paste(Image.fromarray(bar), (size // 2, 2 * size))
        pdraw = ImageDraw.Draw(panel)
        vmin, vmax = values_range
        x = size // 2 + bar.shape[1] + 4
        pdraw.text((size // 2, size // 3), _TITLES.get(overlay, overlay), font=font, fill=_WHITE)
        for frac, label in ((1.0, f"{vmax:.2g}"), (0.5, f"{(vmin + vmax) / 2:.2g}"), (0.0, f"{vmin:.2g}")):
            y = 2 * size + int((1.0 - frac) * (bar_h - 1)) - size // 2
            pdraw.text((x, y), label, font=font, fill=_WHITE)
        parts.append(np.asarray(panel))
    body = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
    width = body.shape[1]
    notice = model.notice or (SYNTHETIC_NOTICE if model.synthetic_training_data else "")
    if model.synthetic_training_data and "synthetic" not in notice.lower():
        notice = f"{SYNTHETIC_NOTICE}. {notice}"
    top = _band(width, f"{NOT_FOR_CLINICAL_USE}: {notice}", font, size, _WARN)
    caption = f"{OVERLAY_CAPTION}." if values_range is not None else "No heat map shown."
    sha = (model.weights_sha256 or "")[:12]
    bottom = _band(width, f"{_finding_text(result)}\n{caption} Model {model.name} {model.version}"
                   f"{f' (SHA-256 {sha}…)' if sha else ''}. {APP_NAME} {__version__}.", font, size, _BAND)
    return np.ascontiguousarray(np.concatenate([top, body, bottom], axis=0))


def build_sc(
    source: Dataset | None,
    radiograph: Any,
    result: Any,
    *,
    manifest: Any = None,
    pixels: np.ndarray | None = None,
    overlay: str = "gradcam",
    opacity: float = 0.45,
    deidentify: bool = False,
    key: bytes | None = None,
    patient_id: str | None = None,
    context: ExportContext | None = None,
    institution: str | None = None,
) -> Dataset:
    """The annotated view as a Secondary Capture Image (RGB, BurnedInAnnotation YES).

    ``pixels`` is the composite to store (default :func:`compose_view`); the other arguments
    are those of :func:`ra_desktop.dicomout.sr.build_sr`. The object joins the source's study
    (or the context's), gets new series and instance UIDs and references the source image.
    """
    ctx = context or export_context(source, radiograph, deidentify=deidentify, key=key, patient_id=patient_id)
    if pixels is None:
        pixels = compose_view(radiograph, result, manifest=manifest, overlay=overlay, opacity=opacity)
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    header = ctx.source.header if ctx.source is not None else None
    orientation = tuple(header.PatientOrientation) if header is not None and len(
        header.get("PatientOrientation") or ()) == 2 else None
    laterality = (getattr(radiograph, "laterality", None) or "").upper()
    ref = ctx.evidence()

    def make(orient: tuple[str, str] | None):
        return hd.sc.SCImage.from_ref_dataset(
            ref, pixels, "RGB", 8, "PATIENT", series_instance_uid=hd.UID(), series_number=SERIES_NUMBER,
            sop_instance_uid=hd.UID(), instance_number=1, manufacturer=MANUFACTURER,
            patient_orientation=orient or ("L", "F"),  # placeholder, emptied below when unknown
            laterality=laterality if laterality in ("L", "R") else None, series_description=SERIES_DESCRIPTION,
            software_versions=f"{APP_NAME} {__version__}", transfer_syntax_uid=ExplicitVRLittleEndian,
            institution_name=institution)

    try:
        sc = make(orientation)
    except ValueError:  # an orientation highdicom does not accept: leave it unknown
        orientation = None
        sc = make(None)
    if orientation is None:
        # highdicom needs an orientation to build the object; the source did not give one, and
        # Patient Orientation is Type 2C: empty says "unknown" instead of inventing one.
        sc.PatientOrientation = ""
    sc.BurnedInAnnotation = "YES"
    sc.RecognizableVisualFeatures = "NO"
    sc.ImageComments = "Annotated view: overlay, colour bar and notices burned in. Not for clinical use."
    sc.DerivationDescription = "Windowed radiograph with the AI heat map and notices burned in"
    if ctx.source is not None:
        item = Dataset()
        item.ReferencedSOPClassUID = ctx.source.sop_class_uid
        item.ReferencedSOPInstanceUID = ctx.source.sop_instance_uid
        purpose = Dataset()
        purpose.CodeValue, purpose.CodingSchemeDesignator = "121322", "DCM"
        purpose.CodeMeaning = "Source image for image processing operation"
        item.PurposeOfReferenceCodeSequence = [purpose]
        sc.SourceImageSequence = [item]
    return ctx.apply(sc)

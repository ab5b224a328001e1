"""The analysis as a DICOM Comprehensive SR: a TID 1500 Measurement Report built with highdicom.

One measurement group (TID 1501) per subject, each referencing the source image by its SOP
Instance UID (and the image in the report's image library, TID 1600, when its header allows):

- **AI result**: the model (TID 4019 algorithm identification: name, version, weights SHA-256),
  P(RA), the decision threshold and the model's label, the out-of-distribution status with its
  distance and threshold, the training data ("synthetic phantoms" for the demo model) and the
  model's notice as text. Out of distribution the model gives **no verdict**: no probability,
  threshold or label is written, the group says "model not applicable" and why
  (:func:`ra_desktop.results.ood_no_verdict`).
- **Reader sign-off**: the reader (person observer), agree / disagree / no decision, the time.
- **Sharp/van der Heijde scores**: one group per scored hand (each area's score with its site
  and laterality, totals, not-assessable and unscored counts) and one for both hands together.
- **Radiogrammetry**: valid metacarpal (W, M, T, MCI) and joint space width results with units.

Project concepts use the private scheme ``99RADESKTOP`` (:mod:`ra_desktop.dicomout.codes`).
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import highdicom as hd
from highdicom.sr import (
    AlgorithmIdentification, ComprehensiveSR, DateTimeContentItem,
    DeviceObserverIdentifyingAttributes, FindingSite, Measurement, MeasurementReport,
    MeasurementsAndQualitativeEvaluations, ObservationContext, ObserverContext,
    PersonObserverIdentifyingAttributes, QualitativeEvaluation, RelationshipTypeValues,
    SourceImageForMeasurementGroup, TextContentItem, TrackingIdentifier,
)
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes as dcm_codes
from pydicom.uid import ComprehensiveSRStorage

from ra_desktop import APP_NAME, INTENDED_USE, __version__
from ra_desktop.dicomout import codes
from ra_desktop.dicomout.context import MANUFACTURER, ExportContext, content_uid, export_context, plain_text
from ra_desktop.report.adapt import model_summary, sign_off
from ra_desktop.report.model import SYNTHETIC_NOTICE
from ra_desktop.results import ood_no_verdict
from ra_desktop.scoring.svdh import EROSION, NOT_ASSESSABLE, hand_areas, totals

SERIES_NUMBER = 9901  # results sort after the acquisition's own series
SERIES_DESCRIPTION = "RA Desktop AI result (not for clinical use)"
_CONTAINS = RelationshipTypeValues.CONTAINS
_LATERALITY = {"L": codes.LEFT, "R": codes.RIGHT}
_HAND_NAME = {"L": "left hand", "R": "right hand"}


def person_name(text: str) -> str:
    """Free text as a DICOM PN value: one component (the caret marks it as such), 64 chars max."""
    text = " ".join(str(text).replace("\\", "/").replace("=", "-").split())
    if "^" in text:
        return text[:64]
    return text[:63] + "^"


def _comment(text: str) -> TextContentItem:
    return TextContentItem(codes.COMMENT, plain_text(text), _CONTAINS)


def _site(code, laterality: str | None = None) -> FindingSite:
    return FindingSite(code, laterality=_LATERALITY.get((laterality or "").upper()))


def _group(name: str, ctx: ExportContext, *, comments: tuple[str, ...] = (), observer: str | None = None,
           extra: tuple = (), **kwargs) -> MeasurementsAndQualitativeEvaluations:
    """A TID 1501 group referencing the source image, with free-text comments appended."""
    refs = None
    if ctx.source is not None:
        refs = [SourceImageForMeasurementGroup(ctx.source.sop_class_uid, ctx.source.sop_instance_uid)]
    tracking = TrackingIdentifier(identifier=name, uid=hd.UID())
    group = MeasurementsAndQualitativeEvaluations(tracking_identifier=tracking, source_images=refs, **kwargs)
    content = group[0].ContentSequence
    if observer:
        content.extend(ObserverContext(dcm_codes.DCM.Person,
                                       PersonObserverIdentifyingAttributes(name=person_name(observer))))
    content.extend(extra)
    for text in comments:
        if text:
            content.append(_comment(text))
    return group


def _label_code(label: str):
    key = str(label).strip().lower()
    if key in ("ra", "rheumatoid arthritis"):
        return codes.RHEUMATOID_ARTHRITIS
    if key == "normal":
        return codes.NORMAL
    return codes.private(f"LABEL-{label}"[:16], f"Model label {label}"[:64])


def _ai_group(ctx: ExportContext, result: Any, model, laterality: str | None) -> MeasurementsAndQualitativeEvaluations:
    sha = model.weights_sha256 or "not recorded"
    params = [f"{codes.MODEL_SHA256}{sha}"]
    if model.architecture:
        params.append(f"architecture {model.architecture}")
    algo = AlgorithmIdentification(name=model.name, version=model.version, parameters=params,
                                   manufacturer=MANUFACTURER)
    ood = getattr(result, "ood", None)
    no_verdict = ood_no_verdict(ood)
    measurements, evaluations = [], []
    if no_verdict is None:
        measurements += [Measurement(codes.AI_PROBABILITY, float(result.probability), codes.NO_UNITS),
                         Measurement(codes.AI_THRESHOLD, float(result.threshold), codes.NO_UNITS)]
        evaluations.append(QualitativeEvaluation(codes.AI_LABEL, _label_code(result.label)))
    else:
        evaluations.append(QualitativeEvaluation(codes.AI_RESULT, codes.MODEL_NOT_APPLICABLE))
    if ood is None:
        evaluations.append(QualitativeEvaluation(codes.OOD_STATUS, codes.OOD_NOT_CHECKED))
    else:
        evaluations.append(QualitativeEvaluation(codes.OOD_STATUS,
                                                 codes.OOD_IN if ood.in_distribution else codes.OOD_OUT))
        measurements += [Measurement(codes.OOD_DISTANCE, float(ood.distance), codes.NO_UNITS),
                         Measurement(codes.OOD_THRESHOLD, float(ood.threshold), codes.NO_UNITS)]
    synthetic = model.synthetic_training_data
    evaluations.append(QualitativeEvaluation(codes.TRAINING_DATA,
                                             codes.SYNTHETIC_PHANTOMS if synthetic else codes.REAL_RADIOGRAPHS))
    notice = model.notice or (SYNTHETIC_NOTICE if synthetic else "")
    comments = []
    if no_verdict:
        comments.append(f"No verdict: {no_verdict}.")
    if synthetic and "synthetic" not in notice.lower():
        comments.append(SYNTHETIC_NOTICE)
    comments += [notice, f"Model {model.name} {model.version}, weights SHA-256 {sha}.",
                 f"Training data: {model.training_data}" if model.training_data else "",
                 f"Intended use: {model.intended_use or INTENDED_USE}"]
    return _group("AI result", ctx, comments=tuple(comments), algorithm_id=algo,
                  finding_type=codes.RHEUMATOID_ARTHRITIS if no_verdict is None else None,
                  finding_sites=[_site(codes.HAND, laterality)], measurements=measurements,
                  qualitative_evaluations=evaluations)


def _signoff_group(ctx: ExportContext, record: Any) -> MeasurementsAndQualitativeEvaluations | None:
    s = sign_off(record)
    if s is None:
        return None
    decision = {True: codes.AGREES, False: codes.DISAGREES}.get(s.agree, codes.NO_DECISION)
    extra = []
    if s.timestamp and not ctx.deidentified:  # a sign-off time is a date of care
        try:
            extra.append(DateTimeContentItem(codes.SIGNOFF_TIME, datetime.fromisoformat(s.timestamp), _CONTAINS))
        except ValueError:
            extra.append(TextContentItem(codes.SIGNOFF_TIME, s.timestamp, _CONTAINS))
    # The reader's note is free text: it cannot be checked for identifiers, so a de-identified
    # export leaves it out (as the PDF report does).
    comments = (s.note,) if s.note and not ctx.deidentified else ()
    return _group("Reader sign-off", ctx, observer=s.reader, extra=tuple(extra), comments=comments,
                  qualitative_evaluations=[QualitativeEvaluation(codes.READER_SIGNOFF, decision)])


def _sheet(scores: Any) -> tuple[str | None, Mapping]:
    if scores is None:
        return None, {}
    if isinstance(scores, Mapping):
        return None, scores
    return getattr(scores, "reader", None), dict(getattr(scores, "scores", {}) or {})


def _total_measurements(t) -> list[Measurement]:
    return [Measurement(codes.SVDH_EROSION_TOTAL, t.erosion, codes.SCORE_UNIT),
            Measurement(codes.SVDH_JSN_TOTAL, t.jsn, codes.SCORE_UNIT),
            Measurement(codes.SVDH_TOTAL, t.total, codes.SCORE_UNIT),
            Measurement(codes.SVDH_NOT_ASSESSABLE, t.not_assessable, codes.AREAS_UNIT),
            Measurement(codes.SVDH_UNSCORED, t.unscored, codes.AREAS_UNIT)]


def _score_groups(ctx: ExportContext, scores: Any) -> list[MeasurementsAndQualitativeEvaluations]:
    reader, sheet = _sheet(scores)
    hands = [h for h in ("R", "L") if any(k[0] == h for k in sheet)]
    groups = []
    for hand in hands:
        items, not_assessable = [], []
        for a in hand_areas(hand):
            value = sheet.get(a.key)
            if value is None:
                continue
            if value == NOT_ASSESSABLE:
                not_assessable.append(f"{a.label} {'erosion' if a.kind == EROSION else 'narrowing'}")
                continue
            items.append(Measurement(codes.SVDH_EROSION if a.kind == EROSION else codes.SVDH_JSN, int(value),
                                     codes.SCORE_UNIT, finding_sites=[_site(codes.svdh_site(a.site, a.label), hand)]))
        t = totals(sheet, [hand])
        comments = (f"Not assessable (left out of the totals): {', '.join(not_assessable)}." if not_assessable else "",
                    f"Erosions 0-{t.erosion_max}, joint space narrowing 0-{t.jsn_max} over the assessable areas.")
        groups.append(_group(f"Sharp/van der Heijde scores, {_HAND_NAME[hand]}", ctx, observer=reader,
                             comments=comments, method=codes.SVDH_METHOD, finding_sites=[_site(codes.HAND, hand)],
                             measurements=items + _total_measurements(t)))
    if len(hands) > 1:
        t = totals(sheet, hands)
        groups.append(_group("Sharp/van der Heijde scores, both hands", ctx, observer=reader,
                             method=codes.SVDH_METHOD, finding_sites=[_site(codes.HAND)],
                             measurements=_total_measurements(t)))
    return groups


def _measure_group(ctx: ExportContext, hand: Any, laterality: str | None) -> MeasurementsAndQualitativeEvaluations | None:
    if hand is None or not getattr(hand, "measurable", False):
        return None
    unit = codes.MM if hand.unit == "mm" else codes.PIXEL_UNIT
    items = []
    for name, bone in sorted(hand.bones.items()):
        if not bone.valid:
            continue
        site = [_site(codes.bone_site(name), laterality)]
        for concept, value, u in ((codes.DXR_W, bone.W, unit), (codes.DXR_M, bone.M, unit),
                                  (codes.DXR_T, bone.T, unit), (codes.DXR_MCI, bone.MCI, codes.NO_UNITS)):
            if value is not None:
                items.append(Measurement(concept, float(value), u, finding_sites=site, method=codes.DXR_METHOD))
    if hand.mean_MCI is not None:
        items.append(Measurement(codes.DXR_MEAN_MCI, float(hand.mean_MCI), codes.NO_UNITS,
                                 finding_sites=[_site(codes.METACARPAL, laterality)], method=codes.DXR_METHOD))
    for name, joint in sorted(hand.joints.items()):
        if not joint.valid:
            continue
        site = [_site(codes.joint_site(name), laterality)]
        for concept, value in ((codes.JSW_MIN, joint.minimum), (codes.JSW_MEAN, joint.mean)):
            if value is not None:
                items.append(Measurement(concept, float(value), unit, finding_sites=site, method=codes.JSW_METHOD))
    if not items:
        return None
    comments = [hand.notice]
    if hand.unit != "mm":
        comments.append("The image has no pixel spacing: lengths are in pixels, not millimetres.")
    return _group("Radiogrammetry", ctx, comments=tuple(comments), finding_sites=[_site(codes.HAND, laterality)],
                  measurements=items)


def _device_observer(model) -> ObserverContext:
    uid = content_uid("device", f"{APP_NAME} {__version__} {model.name} {model.version} {model.weights_sha256}")
    return ObserverContext(dcm_codes.DCM.Device, DeviceObserverIdentifyingAttributes(
        uid=uid, name=APP_NAME, manufacturer_name=MANUFACTURER, model_name=f"{model.name} {model.version}"[:64]))


def _library_image(ctx: ExportContext) -> list[Dataset]:
    """The source for the TID 1600 image library, when highdicom can describe it from its header."""
    if ctx.source is None:
        return []
    from highdicom.sr.templates import ImageLibrary

    ds = ctx.evidence()
    try:
        ImageLibrary([ds])  # CR/DX need Patient Orientation and Imager Pixel Spacing
    except (AttributeError, ValueError, TypeError, KeyError):
        return []
    return [ds]


def build_sr(
    source: Dataset | None,
    radiograph: Any,
    result: Any,
    *,
    manifest: Any = None,
    scores: Any = None,
    measurements: Any = None,
    signoff: Any = None,
    deidentify: bool = False,
    key: bytes | None = None,
    patient_id: str | None = None,
    context: ExportContext | None = None,
    institution: str | None = None,
) -> Dataset:
    """The analysis of one image as a Comprehensive SR (TID 1500), ready to write or send.

    Parameters
    ----------
    source : pydicom Dataset or None
        The source image's header; ``None`` for a non-DICOM image (see
        :mod:`ra_desktop.dicomout.context`).
    radiograph : Radiograph
        The analysed image.
    result : CaseResult
        The pipeline's result (probability, label, threshold, ood, provenance).
    manifest : Manifest or dict, optional
        The model's manifest; else ``result.provenance`` names the model (training data then
        counts as synthetic: unknown provenance is never presented as clinical).
    scores : ScoreSheetData or mapping, optional
        Sharp/van der Heijde scores ``{(hand, kind, site): 0..5 | "NA"}`` (a ScoreSheetData also
        names its reader).
    measurements : HandResult, optional
        :func:`ra_desktop.measure.measure_hand` result.
    signoff : worklist sign-off record, dict or SignOff, optional
    deidentify, key, patient_id
        See :func:`ra_desktop.dicomout.context.export_context`.
    context : ExportContext, optional
        Shared with the SC and PDF of the same export (built from the above when absent).
    institution : str, optional
        Institution Name of the new object.
    """
    ctx = context or export_context(source, radiograph, deidentify=deidentify, key=key, patient_id=patient_id)
    model = model_summary(manifest, getattr(result, "provenance", None))
    laterality = getattr(radiograph, "laterality", None)
    groups = [_ai_group(ctx, result, model, laterality)]
    signed = _signoff_group(ctx, signoff)
    if signed is not None:
        groups.append(signed)
    groups += _score_groups(ctx, scores)
    measured = _measure_group(ctx, measurements, laterality)
    if measured is not None:
        groups.append(measured)
    report = MeasurementReport(
        observation_context=ObservationContext(observer_device_context=_device_observer(model)),
        procedure_reported=codes.PLAIN_RADIOGRAPHY, imaging_measurements=groups,
        title=codes.IMAGING_MEASUREMENT_REPORT, referenced_images=_library_image(ctx) or None)
    series_uid, sop_uid = hd.UID(), hd.UID()
    evidence = ctx.evidence()
    if ctx.source is None:  # nothing to reference: a placeholder that is removed below
        evidence.SOPClassUID, evidence.SOPInstanceUID, evidence.SeriesInstanceUID = (
            ComprehensiveSRStorage, sop_uid, series_uid)
    sr = ComprehensiveSR(
        evidence=[evidence], content=report, series_instance_uid=series_uid, series_number=SERIES_NUMBER,
        sop_instance_uid=sop_uid, instance_number=1, manufacturer=MANUFACTURER, is_complete=True,
        institution_name=institution, series_description=SERIES_DESCRIPTION,
        software_versions=f"{APP_NAME} {__version__}", coding_schemes=codes.coding_schemes(),
    )
    if ctx.source is None:
        for keyword in ("CurrentRequestedProcedureEvidenceSequence", "PertinentOtherEvidenceSequence"):
            if keyword in sr:
                delattr(sr, keyword)
    return ctx.apply(sr)

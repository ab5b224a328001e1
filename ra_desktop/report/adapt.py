"""Fill a :class:`ReportInput` from the project's core objects.

A ``CaseResult`` is read through its typed fields (``ra_desktop.results``, no torch). The
manifest and the sign-off record stay duck-typed (``_get`` with defaults): they come as a
``Manifest``, a dict, a worklist row or nothing, and the report must still print with parts missing.
"""
from __future__ import annotations

import dataclasses
from datetime import datetime
from collections.abc import Mapping
from typing import Any

import numpy as np

from ra_desktop.report.model import HeatmapData, ModelSummary, OODData, ReportInput, SignOff
from ra_desktop.results import CaseResult, Heatmap, RegionScore


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    """First present, non-None attribute or mapping key among ``names`` (for the inputs that come
    in several kinds: manifests and sign-off records)."""
    for name in names:
        if isinstance(obj, Mapping):
            value = obj.get(name)
        else:
            value = getattr(obj, name, None)
        if value is not None:
            return value
    return default


def model_summary(manifest: Any, provenance: Mapping[str, Any] | None = None) -> ModelSummary:
    """A :class:`ModelSummary` from a ``Manifest`` (or its dict), else from the case provenance.

    Parameters
    ----------
    manifest : Manifest, dict or None
        The loaded model's manifest.
    provenance : dict, optional
        ``CaseResult.provenance`` (model name/version/sha256), used where the manifest is absent.
    """
    if isinstance(manifest, ModelSummary):
        return manifest
    prov = dict(provenance or {})
    src = manifest if manifest is not None else {}
    synthetic = _get(src, "synthetic_training_data")
    return ModelSummary(
        name=str(_get(src, "name", default=_get(prov, "model_name", "model", default="unknown model"))),
        version=str(_get(src, "version", default=_get(prov, "model_version", default="?"))),
        weights_sha256=str(_get(src, "weights_sha256", default=_get(prov, "model_sha256", "weights_sha256", default=""))),
        training_data=str(_get(src, "training_data", default="")),
        validation_metrics=dict(_get(src, "validation_metrics", default={}) or {}),
        # Unknown provenance prints the synthetic notice: safer to over-warn than to under-warn.
        synthetic_training_data=True if synthetic is None else bool(synthetic),
        notice=str(_get(src, "notice", default="")),
        intended_use=str(_get(src, "intended_use", default="")),
        architecture=str(_get(src, "architecture", default="")),
    )


def sign_off(record: Any) -> SignOff | None:
    """A :class:`SignOff` from a worklist record (or dict); ``None`` if nobody signed."""
    if record is None or isinstance(record, SignOff):
        return record
    reader = _get(record, "reader", "reader_name", "signed_by")
    if not reader:
        return None
    agree = _get(record, "agree", "agrees", "agreement", "verdict")
    if isinstance(agree, str):  # worklists often store "agree" / "disagree"
        agree = {"agree": True, "disagree": False}.get(agree.strip().lower())
    ts = _get(record, "timestamp", "signed_at", "time", default="")
    if isinstance(ts, (int, float)):  # the worklist stores epoch seconds
        ts = datetime.fromtimestamp(ts)
    return SignOff(reader=str(reader), agree=agree if isinstance(agree, bool) else None,
                   note=str(_get(record, "note", "reader_note", "notes", default="")),
                   timestamp=ts.isoformat(sep=" ", timespec="minutes") if hasattr(ts, "isoformat") else str(ts))


def _heatmaps(raw: dict[str, Heatmap]) -> dict[str, HeatmapData]:
    return {name: HeatmapData(np.asarray(hm.values), bool(hm.signed), str(hm.kind)) for name, hm in raw.items()}


def _regions(raw: list[RegionScore]) -> list[tuple[str, float]]:
    return [(str(r.name), float(r.score)) for r in raw]


def from_case(case: CaseResult | ReportInput, manifest: Any = None, signoff: Any = None, scores: Any = None,
              measurements: Any = None, annotations: Any = None) -> ReportInput:
    """Build a :class:`ReportInput` from a ``CaseResult`` (or return a ``ReportInput`` as is).

    Parameters
    ----------
    case : CaseResult or ReportInput
        The pipeline's result for one study.
    manifest : Manifest, dict or ModelSummary, optional
        The model's manifest; falls back to ``case.provenance``.
    signoff : worklist sign-off record or dict, optional
        The reader's decision, printed when present.
    scores : ScoreSheetData, optional
        The reader's Sharp/van der Heijde sheet and joint markers.
    measurements : RadiogrammetryData, optional
        The study's stored radiogrammetry (report/radiogrammetry.py).
    annotations : AnnotationData, optional
        The reader's annotations (report/annotations.py).
    """
    if isinstance(case, ReportInput):
        changes = {}
        if manifest is not None:
            changes["model"] = model_summary(manifest, case.provenance)
        if signoff is not None:
            changes["signoff"] = sign_off(signoff)
        if scores is not None:
            changes["score_sheet"] = scores
        if measurements is not None:
            changes["radiogrammetry"] = measurements
        if annotations is not None:
            changes["annotations"] = annotations
        return dataclasses.replace(case, **changes) if changes else case
    rg = case.radiograph
    ood = None if case.ood is None else OODData(float(case.ood.distance), float(case.ood.threshold),
                                                bool(case.ood.in_distribution))
    provenance = dict(case.provenance)
    return ReportInput(
        case_id=str(rg.case_id), pixels=rg.pixels, probability=float(case.probability),
        threshold=float(case.threshold), label=str(case.label),
        photometric=str(rg.photometric or "MONOCHROME2"),
        window_center=rg.window_center, window_width=rg.window_width,
        voi_function=str(rg.voi_function or "LINEAR_EXACT"),
        voi_lut=rg.voi_lut, presentation_inverse=bool(rg.presentation_inverse),
        source_file=str(rg.source_path),
        patient_name=rg.patient_name, patient_id=rg.patient_id,
        study_date=rg.study_date, laterality=rg.laterality,
        view_position=rg.view_position, modality=rg.modality,
        body_part=rg.body_part, pixel_spacing_mm=rg.pixel_spacing_mm,
        ood=ood, heatmaps=_heatmaps(case.heatmaps), regions=_regions(case.regions),
        timings_ms={k: float(v) for k, v in case.timings_ms.items()},
        provenance=provenance, model=model_summary(manifest, provenance), signoff=sign_off(signoff),
        score_sheet=scores, radiogrammetry=measurements, annotations=annotations,
    )

"""Plain result types of one analysis (no torch, no Qt): the GUI, reports and worklist read these."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ra_desktop.values import Geometry, Radiograph

STAGE_OK = "ok"
STAGE_NOT_AVAILABLE = "not available"
STAGE_FAILED = "failed"


@dataclass(frozen=True, eq=False)
class Heatmap:
    """An explanation map in **image space**.

    ``values``: float32 H×W (same shape as the radiograph), NaN where the model saw nothing.
    ``signed``: True for maps with meaningful sign (SHAP: red = towards RA, blue = away);
    False for non-negative maps (Grad-CAM). ``kind``: method name ("gradcam", "shap").
    """

    values: np.ndarray
    signed: bool
    kind: str


@dataclass(frozen=True)
class RegionScore:
    """Contribution of a named anatomical region (e.g. "MCP2") to the RA score."""

    name: str
    score: float


@dataclass(frozen=True)
class OODResult:
    """Out-of-distribution check: ``in_distribution`` is ``distance <= threshold``."""

    distance: float
    threshold: float
    in_distribution: bool


@dataclass(frozen=True, eq=False)
class CaseResult:
    """Everything one analysis produced (frozen; partial versions carry fewer heat maps).

    ``timings_ms``: stage name -> milliseconds (load, preprocess, inference, gradcam, shap...).
    ``provenance``: app_version, model_name, model_version, model_sha256, model_architecture,
    device, preprocessing (dict), notice, analysed_utc. ``notes``: human-readable remarks such as
    "shap: not available". ``model_input``: the (3, 224, 224) array the model saw, kept so an
    explanation can be (re)computed without preprocessing again.
    """

    radiograph: Radiograph
    geometry: Geometry
    probability: float
    label: str
    threshold: float
    ood: OODResult | None = None
    heatmaps: dict[str, Heatmap] = field(default_factory=dict)
    regions: list[RegionScore] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    model_input: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class StageResult:
    """One step of :func:`ra_desktop.pipeline.analyse`: the stage name and the result so far.

    ``status`` is "ok", "not available" (method not installed) or "failed" (``message`` says why).
    """

    stage: str
    result: CaseResult
    elapsed_ms: float = 0.0
    status: str = STAGE_OK
    message: str = ""


def probability_texts(probability: float, threshold: float, *, percent: bool = False,
                      decimals: int = 2) -> tuple[str, str]:
    """P(RA) and the decision threshold as text, with just enough decimals that the printed
    numbers compare the way the real ones do: a threshold of 0.9977 must not read "1.00" beside a
    positive 0.998, nor "0.998 ≥ 0.998". ``percent`` prints both as percentages (no sign).
    """
    scale = 100.0 if percent else 1.0
    p, t = probability * scale, threshold * scale
    d = decimals
    while d < 6 and p != t and (round(p, d) == round(t, d) or (round(p, d) >= round(t, d)) != (p >= t)):
        d += 1
    return f"{p:.{d}f}", f"{t:.{d}f}"


NO_VERDICT = "no verdict"


def no_verdict_reason(distance: float | None, threshold: float | None, flagged: bool | None) -> str | None:
    """Why the model gives no verdict on an image, or None when it may give one.

    Out of distribution the model does not apply: its probability, label and maps are withheld
    everywhere (window, report, ``predict``) unless a reader asks for them as research. Without an
    out-of-distribution check (``flagged`` None) nothing is known either way: the result is shown
    with that caveat, as before.
    """
    if not flagged:
        return None
    return ("the model does not apply to this image: it is unlike the synthetic phantoms the model "
            f"was trained on (out-of-distribution distance {distance:.2f} > threshold {threshold:.2f})")


def ood_no_verdict(ood: OODResult | None) -> str | None:
    """:func:`no_verdict_reason` for an :class:`OODResult`."""
    if ood is None:
        return None
    return no_verdict_reason(ood.distance, ood.threshold, not ood.in_distribution)

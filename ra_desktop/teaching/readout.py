"""What the demo model makes of an explorer hand: P(RA), Grad-CAM and how each marker moves it.

Always the behaviour of a model trained on synthetic phantoms on a synthetic hand, never a
diagnosis: :data:`CAPTION` goes wherever the readout is shown. Out of distribution (the model's
OOD check, :mod:`ra_desktop.explain.ood`) there is no verdict: no P(RA), no map, no bars.

Per-marker logit change, by removal: for each marker type set in the scene, the hand is rendered
again with that marker taken away at every joint (everything else, and the hand, acquisition and
noise, unchanged) and the bar is ``logit(scene) - logit(scene without the marker)``. Removal, not
"only this marker added to the healthy twin" (``scripts/model_checks.py``), because the explorer
asks about the hand on screen: the bars explain the P(RA) shown beside them, a marker the teacher
has not set has no bar, and a marker that matters only together with another shows as such
(each bar then exceeds its share of the total). The total, ``logit(scene) - logit(twin)``, is
:attr:`Readout.total_change`. Logits are log-odds of RA (log(p / (1 - p)) of the softmax).

No Qt. Runs wherever the caller runs it (the app: the model's own lane, never the GUI thread).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ra_desktop.cancel import CancelToken, check
from ra_desktop.teaching.explorer import MARKER_SHORT, RenderedPair, render_scene
from ra_desktop.values.radiograph import Radiograph

CAPTION = "demo model trained on synthetic phantoms — its behaviour, not a diagnosis"


@dataclass(frozen=True, eq=False)
class Readout:
    """The model's readout of one :class:`~ra_desktop.teaching.explorer.RenderedPair`.

    ``probability`` is None when there is no verdict (``reason`` says why: out of distribution);
    ``gradcam`` is the image-space Grad-CAM (float32, NaN where the model saw nothing) or None;
    ``marker_changes`` maps marker key -> logit change (removal, see the module docstring).
    """

    model_name: str
    probability: float | None
    logit: float | None
    ood_distance: float | None  # None: the model has no OOD statistics
    in_distribution: bool | None
    gradcam: np.ndarray | None
    marker_changes: dict[str, float] = field(default_factory=dict)
    total_change: float | None = None
    shap: np.ndarray | None = None  # image-space SHAP (signed; NaN where unseen), when asked for
    reason: str = ""
    caption: str = CAPTION

    @property
    def verdict(self) -> bool:
        return self.probability is not None

    def summary(self) -> str:
        """One line for the screen: P(RA) or why there is none, and whose behaviour it is."""
        if self.probability is None:
            return f"No verdict: {self.reason} ({self.model_name}; {self.caption})"
        return f"P(RA) {self.probability:.2f} — {self.model_name}, {self.caption}"


def as_radiograph(pixels: np.ndarray, spacing_mm: float | None = None, label: str = "explorer",
                  laterality: str | None = None) -> Radiograph:
    """An in-memory phantom as a Radiograph (MONOCHROME2, 12 bits), for the pipeline."""
    px = np.asarray(pixels)
    if px.flags.writeable:
        px = px.copy()
        px.setflags(write=False)
    return Radiograph(pixels=px, source_path=Path(f"<{label}>"), format="PNG", case_id=f"synthetic:{label}",
                      bits_stored=12, laterality=laterality, view_position="PA",
                      pixel_spacing_mm=(spacing_mm, spacing_mm) if spacing_mm else None,
                      notes=("synthetic phantom from the marker explorer",))


def _logit(p: float) -> float:
    p = min(max(float(p), 1e-12), 1.0 - 1e-12)
    return math.log(p / (1.0 - p))


def model_readout(model: Any, pair: RenderedPair, *, markers: bool = True, shap: bool = False,
                  cancel: CancelToken | None = None) -> Readout:
    """P(RA), Grad-CAM and (``markers``) the per-marker logit changes of ``pair``'s hand.

    Parameters
    ----------
    model : LoadedModel
        Run where the caller runs this (the app: the inference lane).
    pair : RenderedPair
        The scene and its twin; each marker's counterfactual is rendered at the same size.
    markers : bool
        Also the per-marker bars (one render and one network input per marker set).
    shap : bool
        Also the SHAP map (the app's default SHAP, a few hundred ms more).
    cancel : CancelToken, optional
        Checked between renders and before the network (raises Cancelled).

    Returns
    -------
    Readout
    """
    from ra_desktop.explain import explain_case, place_map, predict_batch  # lazy: torch
    from ra_desktop.preprocess import prepare

    cfg = model.preprocess_config
    sp = pair.pixel_spacing_mm
    x, geometry = prepare(as_radiograph(pair.image, sp), cfg)
    present = pair.scene.present() if markers else ()
    inputs = [x]
    if present:
        inputs.append(prepare(as_radiograph(pair.twin, sp), cfg)[0])
        for marker in present:
            check(cancel)
            img = render_scene(pair.scene.without(marker), pair.size).image
            inputs.append(prepare(as_radiograph(img, sp), cfg)[0])
    check(cancel)
    pred = predict_batch(model, np.stack(inputs), gradcam=True, cancel=cancel)
    name = model.display_name
    ood = pred.ood[0]
    distance = None if ood is None else float(ood.distance)
    if ood is not None and not ood.in_distribution:
        return Readout(name, None, None, distance, False, None,
                       reason=f"the image is out of the model's distribution (distance {distance:.2f} > "
                              f"{ood.threshold:.2f})")
    logits = [_logit(p) for p in pred.probabilities]
    cam = None
    if pred.gradcam is not None:
        cam = place_map(pred.gradcam[0], geometry, "gradcam")[0].values
    changes = {m: logits[0] - logits[2 + k] for k, m in enumerate(present)}
    shap_map = explain_case(model, x, geometry, "shap", cancel=cancel)[0].values if shap else None
    return Readout(name, float(pred.probabilities[0]), logits[0], distance,
                   None if ood is None else True, cam, changes,
                   total_change=(logits[0] - logits[1]) if present else 0.0, shap=shap_map)


def bar_labels(readout: Readout) -> list[tuple[str, float]]:
    """(short marker name, logit change) in display order, for a chart."""
    return [(MARKER_SHORT[m], v) for m, v in readout.marker_changes.items()]

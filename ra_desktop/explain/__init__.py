"""Explanations that are measured, not only drawn, and the out-of-distribution warning.

Public API
----------
:func:`grad_cam` (model-space map in [0, 1]), :func:`shap_map` (model-space signed map),
:func:`shap_regions`, :func:`region_scores`, :func:`top_regions`, :func:`explain_case` (image-space
:class:`~ra_desktop.results.Heatmap` + top regions, what the pipeline calls), :func:`ood_score`,
:func:`ood_check`, :func:`predict_batch` (probability, OOD and Grad-CAM of many inputs from one
backbone pass); faithfulness metrics live in :mod:`ra_desktop.explain.faithfulness`. Fitting the
OOD statistics is training (:mod:`ra_desktop.train.ood_fit`); evaluating the explanations is
:mod:`ra_desktop.evaluate.explanations`.

Every function takes a ``LoadedModel`` or a bare ``torch.nn.Module`` and never changes it: hooks,
eval mode and grad flags are scoped to the call. Maps are "where the model looked", not "where the
disease is" (FIELD.md).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ra_desktop.cancel import CancelToken, check
from ra_desktop.explain.batch import BatchPrediction, predict_batch
from ra_desktop.explain.gradcam import grad_cam
from ra_desktop.explain.ood import ood_check, ood_score, predict_with_ood
from ra_desktop.explain.regions import region_scores, top_regions
from ra_desktop.explain.shap import shap_map, shap_regions
from ra_desktop.results import Heatmap, RegionScore

METHODS = ("gradcam", "shap")
TOP_REGIONS = 3


def model_map(model: Any, x: Any, method: str, *, cancel: CancelToken | None = None,
              seed: int = 0) -> np.ndarray:
    """The 224×224 model-space map of ``method`` ("gradcam" or "shap")."""
    if method == "gradcam":
        return grad_cam(model, x, cancel=cancel)
    if method == "shap":
        return shap_map(model, x, cancel=cancel, seed=seed)
    raise ValueError(f"unknown explanation method {method!r}; choose from {METHODS}")


def explain_case(model: Any, x: Any, geometry: Any, method: str, cancel: CancelToken | None = None,
                 ground_truth: dict | None = None, values: Any = None) -> tuple[Heatmap, list[RegionScore]]:
    """One explanation, placed pixel for pixel on the original radiograph.

    Parameters
    ----------
    model : LoadedModel or torch.nn.Module
    x : np.ndarray, (3, 224, 224)
        The preprocessed input the prediction used.
    geometry : Geometry
        From :func:`ra_desktop.preprocess.prepare`; maps the model-space map back to the image.
    method : {"gradcam", "shap"}
    cancel : CancelToken, optional
        Checked between steps; raises :class:`~ra_desktop.errors.Cancelled`.
    ground_truth : dict, optional
        Phantom ground truth; when given, regions are named joints, otherwise grid cells.
    values : np.ndarray, optional
        The model-space map when it is already computed (Grad-CAM from :func:`predict_batch`'s
        pass); only placed then, the network is not run again.

    Returns
    -------
    heatmap : Heatmap
        Image-space float32 values, NaN where the model saw nothing; ``signed`` for SHAP.
    regions : list of RegionScore
        Up to three regions with the largest share of positive attribution.
    """
    if values is None:
        values = model_map(model, x, method, cancel=cancel)
    check(cancel)
    return place_map(values, geometry, method, ground_truth)


def place_map(values: np.ndarray, geometry: Any, method: str,
              ground_truth: dict | None = None) -> tuple[Heatmap, list[RegionScore]]:
    """A model-space map on the radiograph (image space) and its top regions (see :func:`explain_case`)."""
    image_map = geometry.map_to_image(values)
    regions = top_regions(region_scores(image_map, ground_truth, image_map.shape), TOP_REGIONS)
    return Heatmap(values=image_map, signed=(method == "shap"), kind=method), regions


__all__ = [
    "METHODS",
    "BatchPrediction",
    "explain_case",
    "grad_cam",
    "model_map",
    "ood_check",
    "ood_score",
    "place_map",
    "predict_batch",
    "predict_with_ood",
    "region_scores",
    "shap_map",
    "shap_regions",
    "top_regions",
]

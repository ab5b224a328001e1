"""Probability, OOD check and Grad-CAM for a batch of inputs from one backbone pass.

The fast path of "Analyse all" and of the open case's first stage. The backbone runs once per
chunk without an autograd graph; Grad-CAM needs only d logit_RA / d activation at its layer, so
the gradient is taken through the traced head (the layers after that layer: VGG8's pool and
classifier), not through the whole network. Per input the numbers are those of
:func:`~ra_desktop.explain.ood.predict_with_ood` and :func:`~ra_desktop.explain.gradcam.grad_cam`
(up to float rounding of batched convolutions; a test compares them).
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ra_desktop.cancel import CancelToken, check
from ra_desktop.errors import RADesktopError
from ra_desktop.explain._head import fast_head
from ra_desktop.explain._scope import as_module, borrowed, get_layer
from ra_desktop.explain.gradcam import RA_INDEX, grad_cam_cells, target_layer_of, upsample
from ra_desktop.explain.ood import input_is_blank, load_stats, mahalanobis, ood_layers
from ra_desktop.model.predictor import forward_capturing, p_ra, pooled_features
from ra_desktop.results import OODResult

log = logging.getLogger(__name__)

#: Inputs per forward call: batch 8 costs less per image than 4 on a busy 2-core machine; a reader's
#: click pre-empting a batch waits at most one chunk (~0.5 s idle), activations stay ~300 MB.
CHUNK = 8


@dataclass(frozen=True)
class BatchPrediction:
    """Per input: P(RA), OOD result (None: not available) and Grad-CAM (224×224 in [0, 1]) or None."""

    probabilities: np.ndarray
    ood: list[OODResult | None]
    gradcam: np.ndarray | None


def _ood_section(model: Any) -> tuple[dict | None, list | None]:
    section = getattr(getattr(model, "manifest", None), "ood", None)
    if not section:
        return None, None
    try:
        return section, load_stats(model.directory, section)
    except RADesktopError as exc:
        log.warning("OOD check not available: %s", exc)
        return None, None


def predict_batch(model: Any, xs: Any, *, gradcam: bool = True, target: int = RA_INDEX,
                  cancel: CancelToken | None = None, chunk: int = CHUNK) -> BatchPrediction:
    """P(RA), OOD and (optionally) Grad-CAM of every input in ``xs`` (N, 3, H, W).

    Parameters
    ----------
    model : LoadedModel
        Never mutated (eval mode, grad flags and hooks are scoped to the call).
    xs : array (N, 3, H, W)
    gradcam : bool
        Also compute Grad-CAM on the manifest's ``gradcam_target_layer``.
    cancel : CancelToken, optional
        Checked between chunks.
    """
    module = as_module(model)
    arr = np.asarray(xs, dtype=np.float32)
    if arr.ndim == 3:
        arr = arr[None]
    device = getattr(model, "device", None) or torch.device("cpu")
    section, stats = _ood_section(model)
    names = list(ood_layers(model)) if section else []
    path = target_layer_of(model, None) if gradcam else None
    head = fast_head(module, path) if path else None
    probs: list[np.ndarray] = []
    oods: list[OODResult | None] = []
    cams: list[np.ndarray] = []
    for start in range(0, arr.shape[0], chunk):
        check(cancel)
        xb_np = arr[start:start + chunk]
        # Channels-last input lets oneDNN pick its faster convolutions (~1.5x on 2 cores).
        xb = torch.from_numpy(np.ascontiguousarray(xb_np)).to(device).contiguous(memory_format=torch.channels_last)
        with borrowed(module):
            logits, captured = forward_capturing(
                module, xb, {name: get_layer(module, name) for name in {*names, *([path] if path else [])}})
            probs.append(p_ra(logits, model.manifest.positive_index))
            oods.extend(_ood(captured, names, stats, section, xb_np))
            if path is not None:
                check(cancel)
                cams.extend(_cams(model, module, head, path, captured[path], xb, target, cancel))
    prob = np.concatenate(probs) if probs else np.zeros(0)
    gc = np.stack(cams).astype(np.float32) if path is not None and cams else None
    return BatchPrediction(prob, oods, gc)


def _ood(captured: dict, names: list[str], stats: list | None, section: dict | None,
         xb: np.ndarray) -> list[OODResult | None]:
    """Per input, the same computation as ``ood._score``."""
    if not section or stats is None:
        return [None] * len(xb)
    threshold = float(section["threshold"])
    feats = pooled_features(captured, names)
    out_list: list[OODResult | None] = []
    for i, x in enumerate(xb):
        if input_is_blank(x):
            out_list.append(OODResult(distance=math.inf, threshold=threshold, in_distribution=False))
            continue
        distance = max(float(mahalanobis(f[i:i + 1], mean, precision)[0]) / t
                       for f, (mean, precision), t in zip(feats, stats, section["layer_thresholds"]))
        out_list.append(OODResult(distance=distance, threshold=threshold, in_distribution=distance <= threshold))
    return out_list


def _normalise(cam: torch.Tensor | np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """As :func:`grad_cam`: bilinear to the input size, ReLU, divide by the peak."""
    up = np.maximum(upsample(cam, size), 0.0)
    peak = float(up.max())
    return (up / peak if peak > 0 else np.zeros_like(up)).astype(np.float32)


def _cams(model: Any, module: torch.nn.Module, head: Any, path: str, activation: torch.Tensor,
          xb: torch.Tensor, target: int, cancel: CancelToken | None) -> list[np.ndarray]:
    size = tuple(xb.shape[-2:])
    if head is None or activation.ndim != 4:
        # No separable head (or not a spatial layer): the general one-image Grad-CAM.
        return [_normalise(grad_cam_cells(model, xb[i], path, target=target, cancel=cancel)[0], size)
                for i in range(xb.shape[0])]
    with torch.inference_mode(False), torch.enable_grad():
        leaf = activation.clone().requires_grad_(True)  # a normal tensor: inference tensors have no grad
        logits = head(leaf)
        # Each input's logit depends only on its own activation (eval mode), so one backward
        # of the sum gives every input's gradient.
        (grads,) = torch.autograd.grad(logits[:, target].sum(), leaf)
    weights = grads.mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * leaf.detach()).sum(dim=1))
    return [_normalise(c, size) for c in cam.cpu().float()]

"""Prediction: the one home of P(RA).

- :func:`p_ra`: the softmax over (normal, RA) that gives P(RA), in float64, for every caller
  (``LoadedModel.predict_proba``, the OOD pass, the batched pass of the pipeline).
- :func:`predict_proba`: batched plain prediction of a loaded model (what the CLI's evaluation uses).
- :func:`forward_capturing` and :func:`pooled_features`: one inference-mode forward pass that also
  keeps the activations of named layers, and their spatially pooled features (OOD).
- :func:`predict_with_features`: P(RA) and the pooled features of named layers from one pass
  (the OOD detector's prediction, :mod:`ra_desktop.explain.ood`).

The batched pass that also gives Grad-CAM (``explain.predict_batch``) builds on these.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn


def p_ra(logits: torch.Tensor, positive_index: int) -> np.ndarray:
    """P(RA) of each row of (N, 2) logits: softmax over (normal, RA) in float64, (N,) numpy."""
    return torch.softmax(logits.detach().cpu().double(), dim=1)[:, positive_index].numpy()


def predict_proba(loaded_model: Any, x: np.ndarray) -> np.ndarray:
    """P(RA) for each input of a ``LoadedModel`` (batched by its ``logits``). Always (N,), float64."""
    return p_ra(torch.from_numpy(loaded_model.logits(x)), loaded_model.manifest.positive_index)


def forward_capturing(module: nn.Module, x: torch.Tensor,
                      layers: Mapping[str, nn.Module]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Logits of one inference-mode pass and the outputs of ``layers`` (name -> submodule).

    The hooks live only inside this call; the caller's model is not changed.
    """
    captured: dict[str, torch.Tensor] = {}
    handles = []
    try:
        for name, layer in layers.items():
            handles.append(layer.register_forward_hook(
                lambda _m, _i, out, name=name: captured.__setitem__(name, out)))
        with torch.inference_mode():
            logits = module(x)
    finally:
        for h in handles:
            h.remove()
    return logits, captured


def pooled_features(captured: Mapping[str, torch.Tensor], names: Sequence[str]) -> list[np.ndarray]:
    """Per layer, (N, C) float64 features: the spatial mean of a (N, C, H, W) output, else flattened."""
    feats = []
    for name in names:
        out = captured[name].float()
        feats.append((out.mean(dim=(2, 3)) if out.ndim == 4 else out.flatten(1)).cpu().numpy().astype(np.float64))
    return feats


def predict_with_features(loaded_model: Any, batch: np.ndarray,
                          names: Sequence[str]) -> tuple[list[np.ndarray], np.ndarray]:
    """Pooled features of the layers ``names`` and P(RA) for a batch, from one forward pass."""
    module = loaded_model.module
    layers = {name: module.get_submodule(name) for name in names}
    logits, captured = forward_capturing(module, torch.as_tensor(batch, device=loaded_model.device), layers)
    return pooled_features(captured, names), p_ra(logits, loaded_model.manifest.positive_index)

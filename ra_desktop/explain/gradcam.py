"""Grad-CAM (Selvaraju et al. 2017) on one layer, with scoped hooks and no side effects.

The map is ``ReLU(sum_k w_k A_k)`` with ``w_k`` the spatial mean of ``d logit_RA / d A_k``. This is
the same quantity as captum's ``LayerGradCam(..., relu_attributions=True)`` (a test checks the two
agree); it is computed here directly so that the activation can be captured as a fresh leaf — the
backward pass then stops at the layer, and torchvision DenseNet's in-place ReLUs cannot corrupt it.
Only the ReLU'd map is offered: it passes the weight-randomisation sanity check (Adebayo et al.
2018); guided variants do not and are deliberately absent.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ra_desktop.cancel import CancelToken, check
from ra_desktop.explain._scope import (
    as_batch,
    as_module,
    borrowed,
    capture_leaf,
    get_layer,
    hooked,
    manifest_field,
)

RA_INDEX = 1


def target_layer_of(model: Any, target_layer: str | None) -> str:
    """The explicit layer path, else the manifest's ``gradcam_target_layer``."""
    path = target_layer or manifest_field(model, "gradcam_target_layer")
    if not path:
        raise ValueError("no target layer: pass target_layer= or use a LoadedModel with a manifest")
    return str(path)


def upsample(cell_map: torch.Tensor | np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear upsampling (align_corners=False, as in Grad-CAM) of an h×w map to ``size``."""
    t = torch.as_tensor(np.asarray(cell_map, dtype=np.float32)) if not isinstance(cell_map, torch.Tensor) else cell_map
    t = t.detach().float().reshape(1, 1, *t.shape[-2:])
    return F.interpolate(t, size=size, mode="bilinear", align_corners=False)[0, 0].cpu().numpy()


def grad_cam_cells(
    model: Any, x: Any, target_layer: str | None = None, *, target: int = RA_INDEX,
    cancel: CancelToken | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Raw Grad-CAM on the layer's own grid (before upsampling or normalising) and the logits.

    Returns
    -------
    cam : np.ndarray, float32 (h, w), >= 0
    logits : np.ndarray, float32 (n_classes,)
    """
    module = as_module(model)
    path = target_layer_of(model, target_layer)
    layer = get_layer(module, path)
    xb = as_batch(x, module)
    store: dict[str, torch.Tensor] = {}
    check(cancel)
    # Gradients are needed: leave any caller's inference mode for this block (STYLE P9).
    with torch.inference_mode(False), torch.enable_grad():
        xb = xb.clone()
        with borrowed(module), hooked(layer, capture_leaf(store, grad=True)):
            logits = module(xb)
            check(cancel)
            activation = store["activation"]
            (grads,) = torch.autograd.grad(logits[0, target], activation)
    if activation.ndim != 4:
        raise ValueError(f"Grad-CAM needs a spatial layer (N,C,h,w); {path!r} gives {tuple(activation.shape)}")
    weights = grads.mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * activation.detach()).sum(dim=1))[0]
    return cam.cpu().numpy().astype(np.float32), logits.detach()[0].cpu().numpy()


def grad_cam(
    model: Any, x: Any, target_layer: str | None = None, *, target: int = RA_INDEX,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """Grad-CAM for class ``target`` as a float32 map the size of the model input, in [0, 1].

    Parameters
    ----------
    model : LoadedModel or torch.nn.Module
        Never mutated: mode, grad flags and hooks are restored on return.
    x : array or tensor, (3, H, W) or (1, 3, H, W)
        The preprocessed model input.
    target_layer : str, optional
        Dotted path of the layer; defaults to the manifest's ``gradcam_target_layer``.
    target : int
        Class index explained (1 = RA).
    cancel : CancelToken, optional
        Checked before the forward and before the backward pass.

    Returns
    -------
    np.ndarray
        (H, W) float32; 1 at the strongest evidence, all zeros when no evidence for the class.
    """
    cam, _ = grad_cam_cells(model, x, target_layer, target=target, cancel=cancel)
    size = tuple(as_batch(x, as_module(model)).shape[-2:])
    up = np.maximum(upsample(cam, size), 0.0)
    peak = float(up.max())
    return (up / peak if peak > 0 else np.zeros_like(up)).astype(np.float32)

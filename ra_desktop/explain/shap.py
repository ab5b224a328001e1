"""Signed SHAP maps: Shapley values of image regions, estimated on a late feature map.

Estimator and why
-----------------
The players are regions of the target layer's feature map (by default a 7×7 grid of its cells,
each covering a 32×32 patch of the 224×224 input). A coalition keeps its regions' activations and
replaces the others with a baseline (zeros for a post-ReLU map = "feature absent"; the per-channel
mean otherwise). The value of a coalition is the head's RA log-odds, ``logit_RA - logit_normal``,
so positive values push toward RA and negative toward normal.

Shapley values are estimated by **antithetic permutation sampling** (Castro et al. 2009; each
permutation is paired with its reverse, which cancels much of the variance):

* *faithful*: the estimate is unbiased for the exact Shapley values of this value function, and
  every permutation satisfies efficiency exactly — the region values sum to ``f(all) - f(none)``.
  Gradient-based estimators (GradientShap, DeepLift-SHAP) are only approximations, and DeepLift is
  wrong with reused or in-place ReLUs (torchvision DenseNet);
* *fast*: the backbone runs once; each of the thousands of coalition evaluations runs only the cut
  head (see :mod:`ra_desktop.explain._head`), batched. KernelSHAP/Occlusion on pixels cost 16–90 s
  on 2 CPU cores, GradientShap with 20 samples 3–5 s; this costs well under a second;
* *deterministic*: permutations come from ``numpy.random.default_rng(seed)``.

The default layer is the last spatial feature map (VGG8: ``avgpool``'s 7×7 output; DenseNet:
``attention``). When the head then starts with affine layers (VGG8: flatten → fc1 25,088→512;
DenseNet: pool → linear, wholly affine), those run once per region and are summed per coalition —
exact, and it turns ~6,000 fc1 evaluations into 50. Measured (``bench/bench_explain.py``, 2 CPU
cores, VGG8 224×224): forward ≈ 80 ms, default SHAP (128 permutations) ≈ 120 ms in all.

The same algorithm as captum's ``ShapleyValueSampling`` with a feature mask (a test checks the
two agree); it is written out here to evaluate whole permutations in one batch, pair them
antithetically and cancel between batches.
"""
from __future__ import annotations

import weakref
from typing import Any

import numpy as np
import torch

from ra_desktop.cancel import CancelToken, check
from ra_desktop.explain._head import affine_prefix, fast_head, make_head
from ra_desktop.explain._scope import (
    as_batch,
    as_module,
    borrowed,
    capture_leaf,
    get_layer,
    hooked,
    last_spatial_layer,
    manifest_field,
)
from ra_desktop.explain.gradcam import RA_INDEX, upsample

DEFAULT_PERMUTATIONS = 128
DEFAULT_GRID = 7
_BATCH_ROWS = 512  # coalitions per head call: large enough to amortise, small enough for memory
_AUTO_LAYER: weakref.WeakKeyDictionary[torch.nn.Module, str] = weakref.WeakKeyDictionary()


def shap_layer_of(model: Any, module: torch.nn.Module, xb: torch.Tensor, layer: str | None) -> str:
    """The explicit layer, else the manifest's ``shap_layer``, else the last spatial feature map.

    The last spatial map (VGG8: after the final pool, 7×7; DenseNet: the attention output) keeps
    the head cheap: masking an earlier, larger map costs several times more per coalition.
    """
    path = layer or manifest_field(model, "shap_layer")
    if path:
        return str(path)
    if module not in _AUTO_LAYER:
        with borrowed(module):
            _AUTO_LAYER[module] = last_spatial_layer(module, xb)
    return _AUTO_LAYER[module]


def region_grid(h: int, w: int, grid: int) -> np.ndarray:
    """Integer (h, w) array assigning each feature-map cell to one of ``g_h * g_w`` regions."""
    gh, gw = min(grid, h), min(grid, w)
    rows = (np.arange(h) * gh) // h
    cols = (np.arange(w) * gw) // w
    return (rows[:, None] * gw + cols[None, :]).astype(np.intp)


def log_odds(logits: torch.Tensor, target: int = RA_INDEX) -> torch.Tensor:
    """``logit_target - logsumexp(other logits)``; for two classes, the log-odds of ``target``."""
    others = torch.cat([logits[:, :target], logits[:, target + 1:]], dim=1)
    return logits[:, target] - torch.logsumexp(others, dim=1)


def _baseline(activation: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "auto":
        kind = "zeros" if float(activation.min()) >= 0.0 else "mean"
    if kind == "zeros":
        return torch.zeros_like(activation)
    if kind == "mean":
        return activation.mean(dim=(2, 3), keepdim=True).expand_as(activation)
    raise ValueError(f"unknown SHAP baseline {kind!r} (use 'auto', 'zeros' or 'mean')")


def shapley_permutation(
    value: Any, n_players: int, n_permutations: int, seed: int = 0,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """Antithetic permutation-sampling estimate of Shapley values.

    Parameters
    ----------
    value : callable
        ``value(masks) -> np.ndarray (B,)`` for a boolean (B, n_players) array of coalitions.
    n_players : int
    n_permutations : int
        Number of permutations (rounded up to even; half are reverses of the other half).
    seed : int
    cancel : CancelToken, optional
        Checked between batches.

    Returns
    -------
    np.ndarray, float64 (n_players,)
    """
    rng = np.random.default_rng(seed)
    d = n_players
    pairs = max(1, (n_permutations + 1) // 2)
    perms = []
    for _ in range(pairs):
        p = rng.permutation(d)
        perms += [p, p[::-1]]
    perms_arr = np.asarray(perms)
    # Row t of a permutation's block is the coalition of its first t players (t = 1 .. d-1);
    # the empty and full coalitions are shared by all permutations and evaluated once.
    ends = value(np.array([np.zeros(d, bool), np.ones(d, bool)]))
    v_empty, v_full = float(ends[0]), float(ends[1])
    tri = np.tril(np.ones((d - 1, d), bool))  # row t-1: first t positions set
    phi = np.zeros(d)
    per_batch = max(1, _BATCH_ROWS // max(1, d - 1))
    for start in range(0, len(perms_arr), per_batch):
        check(cancel)
        block = perms_arr[start:start + per_batch]
        masks = np.zeros((len(block), d - 1, d), bool)
        for i, p in enumerate(block):
            masks[i][:, p] = tri  # position j of the permutation is player p[j]
        vals = value(masks.reshape(-1, d)).reshape(len(block), d - 1) if d > 1 else np.zeros((len(block), 0))
        chain = np.concatenate([np.full((len(block), 1), v_empty), vals, np.full((len(block), 1), v_full)], axis=1)
        gains = np.diff(chain, axis=1)  # gains[i, j]: what player block[i][j] added
        np.add.at(phi, block.ravel(), gains.ravel())
    return phi / len(perms_arr)


def _masked_value(head: Any, activation: torch.Tensor, base: torch.Tensor, onehot: torch.Tensor,
                  target: int) -> Any:
    """Coalition value by running the head on masked feature maps (the general path)."""
    h, w = activation.shape[-2:]
    diff = activation - base
    zero_base = not bool(base.any())
    # One reused buffer: allocating a fresh (batch, C, h, w) tensor per call costs more than
    # the arithmetic itself (page faults on tens of MB).
    buffer = torch.empty((_BATCH_ROWS, *activation.shape[1:]), dtype=activation.dtype,
                         device=activation.device)

    def mixed(masks: torch.Tensor) -> torch.Tensor:
        keep = (masks @ onehot).reshape(-1, 1, h, w)
        out = torch.mul(keep, diff, out=buffer[: len(masks)])
        return out if zero_base else out.add_(base)

    def value(masks: np.ndarray) -> np.ndarray:
        out = []
        for start in range(0, len(masks), _BATCH_ROWS):
            chunk = torch.as_tensor(masks[start:start + _BATCH_ROWS]).to(onehot)
            out.append(log_odds(head(mixed(chunk)), target).double().cpu().numpy())
        return np.concatenate(out)

    value.mixed = mixed  # type: ignore[attr-defined]
    return value


def _affine_value(module: torch.nn.Module, path: str, head: Any, general: Any, n: int,
                  onehot: torch.Tensor, target: int) -> Any:
    """Coalition value using the affine start of the head (exact, far cheaper), or ``None``.

    If the head begins with affine layers A (VGG8: flatten, fc1), A(mask) = A(none) +
    sum over kept regions of [A(region alone) - A(none)], so A runs n + 1 times instead of once
    per coalition and only the rest of the head sees the thousands of coalitions.
    """
    end = affine_prefix(module, path)
    rest = fast_head(module, end) if end else None
    if rest is None:
        return None
    basis = torch.cat([torch.zeros(1, n), torch.eye(n)]).to(onehot)
    store: dict[str, torch.Tensor] = {}
    with hooked(get_layer(module, end), capture_leaf(store, grad=False)):
        head(general.mixed(basis))
    z = store["activation"]
    z0, dz = z[:1].reshape(1, -1), (z[1:] - z[:1]).reshape(n, -1)

    def value(masks: np.ndarray) -> np.ndarray:
        out = []
        for start in range(0, len(masks), 4 * _BATCH_ROWS):
            chunk = torch.as_tensor(masks[start:start + 4 * _BATCH_ROWS]).to(dz)
            za = (z0 + chunk @ dz).reshape(-1, *z.shape[1:])
            out.append(log_odds(rest(za), target).double().cpu().numpy())
        return np.concatenate(out)

    # Guard: the shortcut must reproduce the head on the full and empty coalitions.
    ends = np.array([np.zeros(n, bool), np.ones(n, bool)])
    if not np.allclose(value(ends), general(ends), rtol=1e-3, atol=1e-4):
        return None
    return value


def shap_regions(
    model: Any, x: Any, target_layer: str | None = None, *, grid: int = DEFAULT_GRID,
    n_permutations: int = DEFAULT_PERMUTATIONS, baseline: str = "auto", seed: int = 0,
    target: int = RA_INDEX, cancel: CancelToken | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Shapley values of feature-map regions (see module docstring).

    Parameters
    ----------
    model : LoadedModel or torch.nn.Module
        Never mutated.
    x : array or tensor, (3, H, W) or (1, 3, H, W)
    target_layer : str, optional
        Feature map whose regions are the players; default: manifest ``shap_layer``, else the
        last spatial feature map.
    grid : int
        Regions per side (cells are grouped when the map is larger).
    n_permutations : int
        Sample budget (permutations; each costs n_regions - 1 head evaluations).
    baseline : {"auto", "zeros", "mean"}
        What a masked region is replaced by.
    seed : int
    target : int
    cancel : CancelToken, optional

    Returns
    -------
    values : np.ndarray, float64 (n_regions,)
        Signed, in log-odds units; they sum to ``info["f_all"] - info["f_none"]``.
    cells : np.ndarray, intp (h, w)
        Region index of each feature-map cell.
    info : dict
        ``f_all``, ``f_none`` (log-odds with all / no regions), ``fast_head``, ``shortcut``
        (affine start of the head used), ``layer``.
    """
    module = as_module(model)
    xb = as_batch(x, module)
    path = shap_layer_of(model, module, xb, target_layer)
    layer = get_layer(module, path)
    store: dict[str, torch.Tensor] = {}
    check(cancel)
    with torch.no_grad(), borrowed(module):
        with hooked(layer, capture_leaf(store, grad=False)):
            module(xb)
        activation = store["activation"]
        if activation.ndim != 4:
            raise ValueError(f"SHAP regions need a spatial layer; {path!r} gives {tuple(activation.shape)}")
        check(cancel)
        head, fast = make_head(module, path, xb)
        cells = region_grid(*activation.shape[-2:], grid)
        n = int(cells.max()) + 1
        onehot = torch.as_tensor(cells.ravel()[None, :] == np.arange(n)[:, None]).to(activation)
        value = _masked_value(head, activation, _baseline(activation, baseline), onehot, target)
        shortcut = _affine_value(module, path, head, value, n, onehot, target) if fast else None
        if shortcut is not None:
            value = shortcut
        values = shapley_permutation(value, n, n_permutations, seed, cancel)
        ends = value(np.array([np.zeros(n, bool), np.ones(n, bool)]))
    info = {"f_none": float(ends[0]), "f_all": float(ends[1]), "fast_head": fast,
            "shortcut": shortcut is not None, "layer": path}
    return values, cells, info


def shap_map(
    model: Any, x: Any, target_layer: str | None = None, *, grid: int = DEFAULT_GRID,
    n_permutations: int = DEFAULT_PERMUTATIONS, baseline: str = "auto", seed: int = 0,
    target: int = RA_INDEX, cancel: CancelToken | None = None,
) -> np.ndarray:
    """Signed SHAP map the size of the model input (float32): > 0 toward RA, < 0 toward normal.

    Each feature-map cell carries its region's Shapley value (log-odds units), upsampled
    bilinearly to the input size like Grad-CAM. Parameters are those of :func:`shap_regions`;
    the defaults (7×7 regions, 128 permutations) take well under 2 s for VGG8 on 2 CPU cores.
    """
    values, cells, _ = shap_regions(
        model, x, target_layer, grid=grid, n_permutations=n_permutations, baseline=baseline,
        seed=seed, target=target, cancel=cancel,
    )
    size = tuple(as_batch(x, as_module(model)).shape[-2:])
    return upsample(values[cells].astype(np.float32), size).astype(np.float32)

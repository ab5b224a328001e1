"""Signed SHAP maps: Shapley values of image regions, estimated on a late feature map.

Estimator and why
-----------------
The players are the cells of the feature map Grad-CAM reads (the manifest's
``gradcam_target_layer``; VGG8: the last conv, 14×14 cells of 16×16 input pixels; DenseNet: the
attention output, 7×7), grouped to at most ``grid`` × ``grid`` regions. A coalition keeps its
regions' activations and replaces the others with a baseline (zeros for a post-ReLU map =
"feature absent"; the per-channel mean otherwise). The value of a coalition is the head's RA
log-odds, ``logit_RA - logit_normal``, so positive values push toward RA and negative toward normal.

Shapley values are estimated by **antithetic permutation sampling** (Castro et al. 2009; each
permutation is paired with its reverse, which cancels much of the variance):

* *faithful*: the estimate is unbiased for the exact Shapley values of this value function, and
  every permutation satisfies efficiency exactly — the region values sum to ``f(all) - f(none)``.
  Gradient-based estimators (GradientShap, DeepLift-SHAP) are only approximations, and DeepLift is
  wrong with reused or in-place ReLUs (torchvision DenseNet);
* *fast*: the backbone runs once; each of the ~25,000 coalition evaluations runs only the cut head
  (see :mod:`ra_desktop.explain._head`), batched, and two exact shortcuts shrink even that. When
  the head starts with affine layers (DenseNet: pool → linear; VGG8 cut after its last pool:
  flatten → fc1) those run once per region and are summed per coalition. When it starts with a
  non-overlapping max-pool and then affine layers (VGG8's last conv: 2×2 pool → flatten → fc1),
  each pooled cell depends only on which cells of its own window are kept, so the affine output is
  tabulated per window and kept-subset (49 × 16 rows) and a coalition is a table lookup and a sum.
  KernelSHAP/Occlusion on pixels cost 16–90 s on 2 CPU cores, GradientShap with 20 samples 3–5 s;
  this costs about half a second (``bench/bench_explain.py``);
* *deterministic*: permutations come from ``numpy.random.default_rng(seed)``.

Why 14×14 and not the 7×7 map after VGG8's last pool: a region's value belongs to the whole
region, so the map's peak is a region's centre. With 7×7 regions (32 px of the 224 px input, about
3 cm of a hand) the peak often fell a few millimetres outside the diseased joint that the region
held; on 200 development phantoms (seeds 300000+, not used for training or testing) the pointing
game of the demo model rose from 0.77 (7×7) to 0.84 (14×14).

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
from ra_desktop.explain._head import affine_prefix, fast_head, leading_max_pool, make_head
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
DEFAULT_GRID = 14
_BATCH_ROWS = 512  # coalitions per head call: large enough to amortise, small enough for memory
_AUTO_LAYER: weakref.WeakKeyDictionary[torch.nn.Module, str] = weakref.WeakKeyDictionary()


def shap_layer_of(model: Any, module: torch.nn.Module, xb: torch.Tensor, layer: str | None) -> str:
    """The explicit layer, else the manifest's Grad-CAM layer, else the last spatial feature map.

    Both maps then read the same feature map (VGG8: the last conv, 14×14; DenseNet: the attention
    output, 7×7). A bare module (no manifest) falls back to the last spatial map.
    """
    path = layer or manifest_field(model, "gradcam_target_layer")
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
    # the arithmetic itself (page faults on tens of MB). Grown on demand: the shortcuts need only
    # a few rows of it, and a full one is 200 MB for a 14×14 map.
    buffer = torch.empty((0, *activation.shape[1:]), dtype=activation.dtype, device=activation.device)

    def mixed(masks: torch.Tensor) -> torch.Tensor:
        nonlocal buffer
        if len(buffer) < len(masks):
            buffer = torch.empty((len(masks), *activation.shape[1:]), dtype=activation.dtype,
                                 device=activation.device)
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

    return value if _agrees(value, general, n) else None


def _agrees(shortcut: Any, general: Any, n: int) -> bool:
    """Guard: a shortcut must reproduce the head on the empty, full and a few random coalitions."""
    rng = np.random.default_rng(0)
    probe = np.concatenate([np.array([np.zeros(n, bool), np.ones(n, bool)]), rng.random((4, n)) < 0.5])
    return bool(np.allclose(shortcut(probe), general(probe), rtol=1e-3, atol=1e-4))


def _window_value(module: torch.nn.Module, path: str, general: Any, activation: torch.Tensor,
                  base: torch.Tensor, onehot: torch.Tensor, target: int) -> Any:
    """Coalition value when the head starts ``max-pool (non-overlapping k×k) → affine → rest``
    (VGG8's last conv: ``block5.pool → avgpool → flatten → fc1``), or ``None``.

    A pooled cell depends only on which cells of its own window are kept, so the affine layers'
    output is a sum over windows of one of 2^(k·k) tabulated terms per window: the table costs
    windows × 16 affine evaluations once (784 for VGG8), then a coalition is a gather and a sum,
    and only the rest of the head runs per coalition. Exact, like the affine shortcut.
    """
    lead = leading_max_pool(module, path)
    if lead is None:
        return None
    (kh, kw), pool_path = lead
    h, w = activation.shape[-2:]
    end = affine_prefix(module, pool_path)
    after_pool = fast_head(module, pool_path)
    rest = fast_head(module, end) if end else None
    if h % kh or w % kw or after_pool is None or rest is None:
        return None
    hp, wp = h // kh, w // kw
    n_win, n_sub = hp * wp, 1 << (kh * kw)
    bit = (np.arange(h)[:, None] % kh) * kw + (np.arange(w)[None, :] % kw)  # cell's bit in its window
    window = (np.arange(h)[:, None] // kh) * wp + np.arange(w)[None, :] // kw
    patterns = torch.as_tensor((np.arange(n_sub)[:, None, None] >> bit[None]) & 1).to(activation)
    pooled = get_layer(module, pool_path)(patterns[:, None] * (activation - base) + base)  # (n_sub, C, hp, wp)
    empty, change = pooled[:1], pooled - pooled[:1]
    single = torch.eye(n_win).reshape(n_win, 1, 1, hp, wp).to(activation)
    parts = []
    store: dict[str, torch.Tensor] = {}
    with hooked(get_layer(module, end), capture_leaf(store, grad=False)):
        for w0 in range(0, n_win, 8):  # 8 windows a call: ~13 MB of input instead of 80 MB
            inputs = (empty[None] + single[w0:w0 + 8] * change[None]).reshape(-1, *pooled.shape[1:])
            after_pool(inputs)
            parts.append(store["activation"])
    shape = parts[0].shape[1:]  # the affine chain's output: flat after fc1, a map after a conv
    z = torch.cat(parts).reshape(n_win, n_sub, -1)
    z0 = z[0, 0]
    table = (z - z0).reshape(n_win * n_sub, -1)  # row window * n_sub + subset: what it adds
    code_of = np.zeros((h * w, n_win), np.float32)  # kept cells -> each window's subset code
    code_of[np.arange(h * w), window.ravel()] = 1 << bit.ravel()
    code_of_t = torch.as_tensor(code_of).to(activation)
    offsets = torch.arange(n_win) * n_sub

    def value(masks: np.ndarray) -> np.ndarray:
        out = []
        for start in range(0, len(masks), _BATCH_ROWS):
            keep = torch.as_tensor(masks[start:start + _BATCH_ROWS]).to(onehot) @ onehot
            codes = (keep @ code_of_t).round().long()
            za = z0 + torch.nn.functional.embedding_bag(codes + offsets.to(codes.device), table, mode="sum")
            out.append(log_odds(rest(za.reshape(-1, *shape)), target).double().cpu().numpy())
        return np.concatenate(out)

    return value if _agrees(value, general, len(onehot)) else None


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
        Feature map whose regions are the players; default: the manifest's Grad-CAM layer, else
        the last spatial feature map.
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
        base = _baseline(activation, baseline)
        value = _masked_value(head, activation, base, onehot, target)
        shortcut = _affine_value(module, path, head, value, n, onehot, target) if fast else None
        if shortcut is None and fast:
            shortcut = _window_value(module, path, value, activation, base, onehot, target)
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
    the defaults (VGG8: 14×14 regions, 128 permutations) take about 0.5 s on 2 CPU cores.
    """
    values, cells, _ = shap_regions(
        model, x, target_layer, grid=grid, n_permutations=n_permutations, baseline=baseline,
        seed=seed, target=target, cancel=cancel,
    )
    size = tuple(as_batch(x, as_module(model)).shape[-2:])
    return upsample(values[cells].astype(np.float32), size).astype(np.float32)

"""Faithfulness metrics for explanation maps (pure numpy/scipy except the randomisation check).

* :func:`pointing_hit` — pointing game (Zhang et al. 2016): is the map's maximum inside the lesion?
* :func:`positive_share` — share of positive attribution inside the lesion vs its share of area.
* :func:`deletion_insertion` — Petsiuk et al. 2018: P(RA) as the most important pixels are
  removed (replaced by a blurred image) or added to a blurred image; :func:`random_order_auc`
  is the same with a random map, the reference any useful map must beat.
* :func:`randomisation_check` — Adebayo et al. 2018: a map that barely changes when the weights
  are randomised explains the image, not the model.
* :func:`agreement` — rank correlation and top-region overlap of two maps.
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ra_desktop.results import RegionScore

BLUR_SIGMA = 12.0  # model pixels; removes joint-scale detail but keeps the hand's silhouette


def _finite(a: np.ndarray) -> np.ndarray:
    return np.isfinite(np.asarray(a, dtype=np.float64))


def pointing_hit(image_map: np.ndarray, region: np.ndarray) -> bool:
    """True when the map's maximum lies inside ``region`` (both image space, NaN ignored).

    Ties count by majority: a map whose maximum is shared by many pixels (a constant map) hits
    only if most of them are inside — so a map without a peak cannot score by luck of indexing.
    """
    m = np.asarray(image_map, dtype=np.float64)
    region = np.asarray(region, bool)
    ok = _finite(m)
    if not ok.any():
        return False
    peak = np.nanmax(np.where(ok, m, -np.inf))
    at_peak = ok & (m >= peak)
    return bool(region[at_peak].mean() > 0.5)


def positive_share(image_map: np.ndarray, region: np.ndarray) -> tuple[float, float]:
    """(share of positive attribution inside ``region``, share of seen area inside ``region``).

    The second number is what a map spread evenly would score; a useful map exceeds it.
    """
    m = np.asarray(image_map, dtype=np.float64)
    ok = _finite(m)
    region = np.asarray(region, bool)
    pos = np.where(ok & (m > 0), m, 0.0)
    total = pos.sum()
    area = float(region[ok].mean()) if ok.any() else 0.0
    return (float(pos[region].sum() / total) if total > 0 else 0.0), area


def blurred(x: np.ndarray, sigma: float = BLUR_SIGMA) -> np.ndarray:
    """Gaussian-blurred copy of a (C, H, W) input: the "removed" state of a pixel."""
    from scipy.ndimage import gaussian_filter

    return np.stack([gaussian_filter(c, sigma) for c in np.asarray(x, dtype=np.float32)])


def order_of(model_map: np.ndarray, seed: int = 0) -> np.ndarray:
    """Pixel indices from most to least important; ties are broken at random (seeded)."""
    m = np.nan_to_num(np.asarray(model_map, dtype=np.float64).ravel(), nan=-np.inf)
    tiebreak = np.random.default_rng(seed).random(m.size)
    return np.lexsort((tiebreak, -m))


def deletion_insertion(predict: Callable[[np.ndarray], np.ndarray], x: np.ndarray, model_map: np.ndarray,
                       *, steps: int = 20, baseline: np.ndarray | None = None, seed: int = 0,
                       insertion: bool = True) -> dict[str, Any]:
    """Deletion and insertion curves and their areas, in model space.

    Parameters
    ----------
    predict : callable
        ``predict(batch (N, C, H, W)) -> P(RA) (N,)``, e.g. ``LoadedModel.predict_proba``.
    x : np.ndarray, (C, H, W)
    model_map : np.ndarray, (H, W)
        Importance (larger = more important for RA).
    steps : int
        The curve has ``steps + 1`` points, fraction 0 .. 1 of pixels changed.
    baseline : np.ndarray, optional
        The "removed" image; default: :func:`blurred` ``x``.
    seed : int
        Tie-breaking.
    insertion : bool
        Also compute the insertion curve.

    Returns
    -------
    dict
        ``deletion_auc`` (lower = more faithful), ``insertion_auc`` (higher = more faithful),
        ``fractions``, ``deletion``, ``insertion`` curves.
    """
    x = np.asarray(x, dtype=np.float32)
    base = blurred(x) if baseline is None else np.asarray(baseline, dtype=np.float32)
    C, H, W = x.shape
    order = order_of(model_map, seed)
    counts = np.round(np.linspace(0, 1, steps + 1) * H * W).astype(int)
    rank = np.empty(H * W, np.int64)
    rank[order] = np.arange(H * W)
    fractions = counts / (H * W)
    out: dict[str, Any] = {"fractions": fractions.tolist()}
    for kind, start, end in (("deletion", x, base), ("insertion", base, x)):
        if kind == "insertion" and not insertion:
            continue
        changed = rank[None, :] < counts[:, None]  # (steps+1, H*W): pixel already switched
        batch = np.where(changed.reshape(-1, 1, H, W), end[None], start[None]).astype(np.float32)
        curve = np.asarray(predict(batch), dtype=np.float64)
        out[kind] = curve.tolist()
        out[f"{kind}_auc"] = float(np.trapezoid(curve, fractions))
    return out


def random_order_auc(predict: Callable[[np.ndarray], np.ndarray], x: np.ndarray, *, steps: int = 20,
                     seed: int = 0, insertion: bool = True, baseline: np.ndarray | None = None) -> dict[str, Any]:
    """:func:`deletion_insertion` with a uniformly random map (the reference to beat)."""
    rand = np.random.default_rng(seed).random(np.asarray(x).shape[-2:])
    return deletion_insertion(predict, x, rand, steps=steps, seed=seed, insertion=insertion, baseline=baseline)


def spearman(a: np.ndarray, b: np.ndarray, *, absolute: bool = False, max_points: int = 50_000) -> float:
    """Spearman rank correlation of two maps over pixels finite in both (NaN if either is flat)."""
    from scipy.stats import spearmanr

    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    if absolute:
        a, b = np.abs(a), np.abs(b)
    if a.size > max_points:  # a regular subsample keeps it fast on large image-space maps
        step = int(np.ceil(a.size / max_points))
        a, b = a[::step], b[::step]
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def _parameter_layers(module: Any) -> list[tuple[str, Any]]:
    """Modules owning parameters directly, in definition order (input side first)."""
    return [(n, m) for n, m in module.named_modules() if any(True for _ in m.parameters(recurse=False))]


def _randomise(layer: Any, seed: int) -> None:
    import torch

    torch.manual_seed(seed)
    if hasattr(layer, "reset_parameters"):
        layer.reset_parameters()
        return
    with torch.no_grad():
        for p in layer.parameters(recurse=False):
            p.normal_(0.0, float(p.std()) if p.numel() > 1 else 0.02)


def randomisation_check(map_fn: Callable[[Any, np.ndarray], np.ndarray], model: Any, x: np.ndarray, *,
                        checkpoints: int = 3, seed: int = 0, max_spearman: float = 0.5) -> dict[str, Any]:
    """Cascading weight randomisation, top (logits) layer first, on a deep copy of the model.

    Parameters
    ----------
    map_fn : callable
        ``map_fn(module, x) -> map`` (model space), e.g. ``lambda m, x: grad_cam(m, x, layer)``.
    model : LoadedModel or torch.nn.Module
        Copied; the caller's weights are never touched.
    x : np.ndarray
    checkpoints : int
        Maps are compared after randomising the top 1 layer, evenly spaced depths, and all layers.
    seed : int
    max_spearman : float
        The check passes when |Spearman| (of absolute map values) after full randomisation is below.

    Returns
    -------
    dict
        ``steps`` (list of {"layers_randomised", "from_layer", "spearman"}), ``full_spearman``,
        ``passed``.
    """
    module = copy.deepcopy(getattr(model, "module", model))
    original = map_fn(module, x)
    layers = _parameter_layers(module)[::-1]
    if not layers:
        raise ValueError("the model has no parameters to randomise")
    marks = sorted({1, len(layers), *np.linspace(1, len(layers), checkpoints + 2).round().astype(int).tolist()})
    steps, done = [], 0
    for mark in marks:
        for i in range(done, mark):
            _randomise(layers[i][1], seed + i)
        done = mark
        rho = spearman(original, map_fn(module, x), absolute=True)
        steps.append({"layers_randomised": mark, "from_layer": layers[mark - 1][0], "spearman": rho})
    full = steps[-1]["spearman"]
    # A map that turns flat (NaN correlation) has certainly changed.
    passed = bool(np.isnan(full) or abs(full) < max_spearman)
    return {"steps": steps, "full_spearman": full, "passed": passed, "threshold": max_spearman}


def top_overlap(a: Sequence[RegionScore], b: Sequence[RegionScore], k: int = 3) -> float:
    """Share of the top-``k`` (positive) regions of ``a`` that are also in the top-``k`` of ``b``."""
    ta = [r.name for r in sorted(a, key=lambda r: -r.score) if r.score > 0][:k]
    tb = {r.name for r in [r for r in sorted(b, key=lambda r: -r.score) if r.score > 0][:k]}
    return float(len([n for n in ta if n in tb]) / k) if ta else 0.0


def agreement(map_a: np.ndarray, map_b: np.ndarray, regions_a: Sequence[RegionScore],
              regions_b: Sequence[RegionScore], k: int = 3) -> dict[str, float]:
    """Spearman of two maps (same space) and the overlap of their top-``k`` regions."""
    return {"spearman": spearman(map_a, map_b), "top_region_overlap": top_overlap(regions_a, regions_b, k)}


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion (n and CI go beside every metric)."""
    if n == 0:
        return float("nan"), float("nan")
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


def mean_ci(values: Sequence[float], seed: int = 0, n_boot: int = 2000) -> tuple[float, float, float]:
    """Mean and 95 % percentile-bootstrap interval (NaNs dropped)."""
    v = np.asarray([x for x in values if np.isfinite(x)], dtype=np.float64)
    if v.size == 0:
        return float("nan"), float("nan"), float("nan")
    boots = v[np.random.default_rng(seed).integers(0, v.size, (n_boot, v.size))].mean(axis=1)
    return float(v.mean()), float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))

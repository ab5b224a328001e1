"""Fitting the out-of-distribution statistics of a model folder (training, not the runtime).

The runtime scores an image against these statistics (:mod:`ra_desktop.explain.ood`: the
class-conditional Mahalanobis distance over several layers, with one Ledoit–Wolf shrunk covariance
shared by the classes); this module computes them from training and validation images, writes
``ood_stats.npz`` into the model folder and the manifest's ``ood`` section, and re-validates both.
"""
from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ra_desktop.errors import DataError
from ra_desktop.explain.ood import OOD_FILE, layer_features, load_stats, mahalanobis, ood_layers
from ra_desktop.io import load_radiograph
from ra_desktop.io.dataset import discover, split_by_patient
from ra_desktop.model import load_manifest, load_model, write_manifest
from ra_desktop.model.manifest import atomic_write_bytes
from ra_desktop.preprocess import prepare

METHOD = "mahalanobis-class-conditional-ledoit-wolf-multilayer"
DEFAULT_PERCENTILE = 99.5  # per layer; a flag from any of the layers counts
MIN_SHRINKAGE = 1e-3


# -- statistics ----------------------------------------------------------------------------------
def ledoit_wolf(features: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Mean, Ledoit–Wolf shrunk covariance and the shrinkage (0–1) of (n, d) features.

    The shrinkage toward ``mu * I`` is the closed form of Ledoit & Wolf (2004), as in
    scikit-learn's ``ledoit_wolf_shrinkage`` (not a dependency here).
    """
    X = np.asarray(features, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 2:
        raise DataError(f"OOD statistics need at least 2 feature vectors, got shape {X.shape}")
    n, d = X.shape
    mean = X.mean(axis=0)
    Xc = X - mean
    cov = Xc.T @ Xc / n
    mu = float(np.trace(cov)) / d
    X2 = Xc**2
    beta_ = float(np.sum(X2.T @ X2))
    delta_ = float(np.sum(cov**2))
    beta = (beta_ / n - delta_) / (d * n)
    delta = (delta_ - 2.0 * mu * float(np.trace(cov)) + d * mu**2) / d
    beta = min(beta, delta)
    shrink = 0.0 if delta <= 0 else float(beta / delta)
    # A floor keeps the matrix invertible when n is tiny; a pseudo-inverse instead would ignore
    # exactly the directions in which a foreign image differs from the training set.
    shrink = min(1.0, max(shrink, MIN_SHRINKAGE))
    shrunk = (1.0 - shrink) * cov + shrink * mu * np.eye(d)
    if mu <= 0:  # all features identical: keep the covariance invertible
        shrunk += np.eye(d) * 1e-6
    return mean, shrunk, shrink



def _collect(loaded_model: Any, inputs: Iterable[Any]) -> tuple[list[np.ndarray], np.ndarray]:
    """Per-layer features and the model's predicted class (0/1) for every input."""
    per_layer: list[list[np.ndarray]] = []
    preds = []
    threshold = float(loaded_model.threshold)
    for x in inputs:
        arr = np.asarray(x, dtype=np.float32)
        feats, p = layer_features(loaded_model, arr[None] if arr.ndim == 3 else arr)
        per_layer = per_layer or [[] for _ in feats]
        for store, f in zip(per_layer, feats):
            store.append(f)
        preds.append((p >= threshold).astype(int))
    if not preds:
        raise DataError("no images to compute OOD statistics from")
    return [np.concatenate(f) for f in per_layer], np.concatenate(preds)


def class_means(features: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """(k, d) means of the classes present (a class with no member is left out)."""
    return np.stack([features[classes == c].mean(axis=0) for c in np.unique(classes)])


# -- model folder --------------------------------------------------------------------------------
def _npz_bytes(stats: list[tuple[np.ndarray, np.ndarray]]) -> bytes:
    buf = io.BytesIO()
    arrays = {}
    for i, (mean, precision) in enumerate(stats):
        # float32 on disk (half the installer bytes); distances are computed in float64.
        arrays[f"mean_{i}"], arrays[f"precision_{i}"] = mean.astype(np.float32), precision.astype(np.float32)
    np.savez(buf, **arrays)
    return buf.getvalue()


def fit_ood(loaded_model: Any, train_inputs_iter: Iterable[Any], val_inputs_iter: Iterable[Any],
            out_dir: str | Path, *, percentile: float = DEFAULT_PERCENTILE) -> dict[str, Any]:
    """Fit OOD statistics, write them into the model folder and update its manifest.

    Parameters
    ----------
    loaded_model : LoadedModel
        Provides ``features(x)``; the statistics belong to its weights.
    train_inputs_iter, val_inputs_iter : iterable of np.ndarray
        Preprocessed inputs, each (3, 224, 224) or a batch (N, 3, 224, 224).
    out_dir : path
        The model folder (holding ``manifest.json``).
    percentile : float
        Threshold = this percentile of the validation distances.

    Returns
    -------
    dict
        The manifest's new ``ood`` section.
    """
    out_dir = Path(out_dir)
    train_layers, train_cls = _collect(loaded_model, train_inputs_iter)
    val_layers, _ = _collect(loaded_model, val_inputs_iter)
    stats, thresholds, shrinks = [], [], []
    for train, val in zip(train_layers, val_layers):
        mean = class_means(train, train_cls)
        # One covariance shared by the classes: that of the class-centred features.
        centred = train - mean[np.searchsorted(np.unique(train_cls), train_cls)]
        _, cov, shrink = ledoit_wolf(centred)
        precision = np.linalg.inv(cov)
        stats.append((mean, precision))
        shrinks.append(shrink)
        thresholds.append(float(np.percentile(mahalanobis(val, mean, precision), percentile)))
    data = _npz_bytes(stats)
    atomic_write_bytes(out_dir / OOD_FILE, data)
    section = {
        "method": METHOD,
        "file": OOD_FILE,
        "sha256": hashlib.sha256(data).hexdigest(),
        "threshold": 1.0,  # distances are reported as distance / layer threshold
        "layers": list(ood_layers(loaded_model)),
        "layer_thresholds": thresholds,
        "percentile": float(percentile),
        "shrinkage": shrinks,
        "n_train": int(train_layers[0].shape[0]),
        "n_classes": int(stats[0][0].shape[0]),
        "n_val": int(val_layers[0].shape[0]),
        "feature_dims": [int(t.shape[1]) for t in train_layers],
    }
    write_manifest(out_dir, load_manifest(out_dir).replace(ood=section))
    manifest = load_manifest(out_dir)  # re-validate what is now on disk
    load_stats(out_dir, manifest.ood)
    return section


def add_ood_to_model_folder(model_dir: str | Path, data_dir: str | Path, *, val_fraction: float = 0.2,
                            seed: int = 0, max_images: int | None = None,
                            percentile: float = DEFAULT_PERCENTILE) -> dict[str, Any]:
    """Give an already trained model folder OOD statistics from a labelled data set.

    The data set is split by patient (as in training) into a fitting and a threshold part; both
    classes are in distribution. Returns the new ``ood`` section.
    """
    loaded = load_model(model_dir, "cpu")
    samples = list(discover(data_dir).samples)
    if max_images is not None:
        samples = [samples[i] for i in np.random.default_rng(seed).permutation(len(samples))[:max_images]]
    fit, val = split_by_patient(samples, val_fraction, seed)
    config = loaded.preprocess_config

    def inputs(part):
        for s in part:
            yield prepare(load_radiograph(s.path), config)[0]

    return fit_ood(loaded, inputs(fit), inputs(val), model_dir, percentile=percentile)

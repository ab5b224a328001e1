"""Out-of-distribution warning: is this image like the ones the model was trained on?

Main mechanism: the class-conditional Mahalanobis distance (Lee et al. 2018) of the image's
penultimate features (the manifest's ``feature_layer``, via ``LoadedModel.features``): the distance
to the nearest class mean (normal, RA), with one Ledoit–Wolf shrunk covariance shared by the
classes. One Gaussian over both classes is too wide: a trained model pulls the classes apart, and a
real CR or an MR slice then lay inside it. Classes are assigned by the model's own prediction
(training labels are not needed, and the model is near-perfect on its training data). Ledoit–Wolf (the feature dimension, 512–1664, is comparable to the number of
training images, where the plain sample covariance is singular). The threshold is a high
percentile (99th by default) of the distances of held-out validation images.

A cheap image-statistics guard backs it up: a near-constant input (blank, or a single grey level
after windowing) is out of distribution whatever its features say; its distance is reported as
``inf``.

Files: ``ood_stats.npz`` (class means (k, d), precision) in the model folder, its sha256 and the threshold in the
manifest's ``ood`` section, which :func:`fit_ood` writes and re-validates.
"""
from __future__ import annotations

import hashlib
import io
import logging
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ra_desktop.errors import DataError, ModelUnavailable, RADesktopError
from ra_desktop.results import OODResult

log = logging.getLogger(__name__)

OOD_FILE = "ood_stats.npz"
METHOD = "mahalanobis-class-conditional-ledoit-wolf"
DEFAULT_PERCENTILE = 99.0
#: Below this standard deviation (model-input units, ImageNet-normalised) an image is blank.
MIN_INPUT_STD = 0.05
MIN_SHRINKAGE = 1e-3

_STATS_CACHE: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}


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


def mahalanobis(features: np.ndarray, mean: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """Mahalanobis distance of each row of (n, d) ``features`` to the nearest mean ((d,) or (k, d))."""
    X = np.atleast_2d(np.asarray(features, dtype=np.float64))
    out = np.full(X.shape[0], np.inf)
    for mu in np.atleast_2d(mean):
        D = X - mu
        out = np.minimum(out, np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", D, precision, D), 0.0)))
    return out


def _collect(loaded_model: Any, inputs: Iterable[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Penultimate features and the model's predicted class (0/1) for every input."""
    feats, preds = [], []
    threshold = float(getattr(loaded_model, "threshold", 0.5))
    for x in inputs:
        arr = np.asarray(x, dtype=np.float32)
        batch = arr[None] if arr.ndim == 3 else arr
        feats.append(loaded_model.features(batch))
        preds.append((np.asarray(loaded_model.predict_proba(batch)) >= threshold).astype(int))
    if not feats:
        raise DataError("no images to compute OOD statistics from")
    return np.concatenate(feats).astype(np.float64), np.concatenate(preds)


def class_means(features: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """(k, d) means of the classes present (a class with no member is left out)."""
    return np.stack([features[classes == c].mean(axis=0) for c in np.unique(classes)])


def input_is_blank(x: Any) -> bool:
    """True for a near-constant model input (blank image): nothing for the model to read."""
    arr = np.asarray(x, dtype=np.float64)
    # Per channel: normalisation gives each channel its own constant, so a blank image's overall
    # standard deviation is not zero.
    per_channel = arr.reshape(arr.shape[-3], -1) if arr.ndim >= 3 else arr.reshape(1, -1)
    return float(per_channel.std(axis=1).max()) < MIN_INPUT_STD


# -- model folder --------------------------------------------------------------------------------
def _npz_bytes(mean: np.ndarray, precision: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, mean=mean.astype(np.float64), precision=precision.astype(np.float64))
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
    from ra_desktop.model import load_manifest, write_manifest
    from ra_desktop.model.manifest import atomic_write_bytes

    out_dir = Path(out_dir)
    train, train_cls = _collect(loaded_model, train_inputs_iter)
    val, _ = _collect(loaded_model, val_inputs_iter)
    mean = class_means(train, train_cls)
    # One covariance shared by the classes: that of the class-centred features.
    centred = train - mean[np.searchsorted(np.unique(train_cls), train_cls)]
    _, cov, shrink = ledoit_wolf(centred)
    precision = np.linalg.inv(cov)
    threshold = float(np.percentile(mahalanobis(val, mean, precision), percentile))
    data = _npz_bytes(mean, precision)
    atomic_write_bytes(out_dir / OOD_FILE, data)
    section = {
        "method": METHOD,
        "file": OOD_FILE,
        "sha256": hashlib.sha256(data).hexdigest(),
        "threshold": threshold,
        "percentile": float(percentile),
        "shrinkage": shrink,
        "n_train": int(train.shape[0]),
        "n_classes": int(mean.shape[0]),
        "n_val": int(val.shape[0]),
        "feature_dim": int(train.shape[1]),
        "feature_layer": getattr(getattr(loaded_model, "manifest", None), "feature_layer", None),
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
    from ra_desktop.io import load_radiograph
    from ra_desktop.model import load_model
    from ra_desktop.preprocess import prepare
    from ra_desktop.train.data import discover, split_by_patient

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


def load_stats(model_dir: str | Path, section: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(mean, precision) from the folder, verified against the manifest's sha256 (cached)."""
    path = Path(model_dir) / str(section.get("file", OOD_FILE))
    key = (str(path.resolve()), str(section.get("sha256")))
    if key in _STATS_CACHE:
        return _STATS_CACHE[key]
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelUnavailable(model_dir, f"OOD statistics {path.name} cannot be read: {exc}") from exc
    if hashlib.sha256(data).hexdigest() != section.get("sha256"):
        raise ModelUnavailable(model_dir, f"sha256 of {path.name} does not match the manifest")
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        stats = (npz["mean"], npz["precision"])
    _STATS_CACHE[key] = stats
    return stats


def ood_score(loaded_model: Any, x: Any) -> OODResult:
    """Distance of one input from the training distribution, with the manifest's threshold.

    Raises
    ------
    ModelUnavailable
        The model folder has no (valid) OOD statistics.
    """
    section = getattr(loaded_model.manifest, "ood", None)
    if not section:
        raise ModelUnavailable(loaded_model.directory, "no OOD statistics (manifest has no 'ood' section)")
    mean, precision = load_stats(loaded_model.directory, section)
    threshold = float(section["threshold"])
    if input_is_blank(x):
        return OODResult(distance=math.inf, threshold=threshold, in_distribution=False)
    arr = np.asarray(x, dtype=np.float32)
    distance = float(mahalanobis(loaded_model.features(arr[None] if arr.ndim == 3 else arr[:1]), mean, precision)[0])
    return OODResult(distance=distance, threshold=threshold, in_distribution=distance <= threshold)


def ood_check(loaded_model: Any, x: Any) -> OODResult | None:
    """:func:`ood_score`, or ``None`` ("not available") when the model has no usable statistics.

    This is what the pipeline's prediction stage calls: a missing or damaged statistics file must
    not cost the user the prediction, so it is logged and reported as not available.
    """
    if not getattr(getattr(loaded_model, "manifest", None), "ood", None):
        return None
    try:
        return ood_score(loaded_model, x)
    except RADesktopError as exc:
        log.warning("OOD check not available: %s", exc)
        return None

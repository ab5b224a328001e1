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

Several layers (Lee et al.'s feature ensemble): besides the penultimate features, the pooled
activations of intermediate blocks (texture and intensity statistics), each with its own
class-conditional Gaussian and threshold. The penultimate features of an RA-vs-normal classifier
say little about *what* the image is: a real tibia CR sat inside their distribution, but not inside
the intermediate layers'. The reported distance is the largest of distance / threshold over the
layers, so the threshold is 1.0.

Files: ``ood_stats.npz`` (per layer: class means (k, d) and precision) in the model folder, its sha256 and the threshold in the
manifest's ``ood`` section, which :func:`ra_desktop.train.ood_fit.fit_ood` writes and re-validates.
The runtime only scores; fitting the statistics is training (:mod:`ra_desktop.train.ood_fit`).
"""
from __future__ import annotations

import hashlib
import io
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from ra_desktop.errors import ModelUnavailable, RADesktopError
from ra_desktop.model.manifest import ood_problems
from ra_desktop.model.predictor import predict_with_features
from ra_desktop.results import OODResult

log = logging.getLogger(__name__)

OOD_FILE = "ood_stats.npz"
MAX_OOD_BYTES = 256 << 20  # class means and precisions of a few layers: tens of MB at most
#: Intermediate layers whose spatially pooled activations join the penultimate features.
INTERMEDIATE_LAYERS = {
    "vgg8": ("features.block3", "features.block4"),
    "densenet121": ("features.denseblock2", "features.denseblock3"),
    "densenet169": ("features.denseblock2", "features.denseblock3"),
    "densenet121-no-attention": ("features.denseblock2", "features.denseblock3"),
    "densenet169-no-attention": ("features.denseblock2", "features.denseblock3"),
}
#: Below this standard deviation (model-input units, ImageNet-normalised) an image is blank.
MIN_INPUT_STD = 0.05

_STATS_CACHE: dict[tuple[str, str], list[tuple[np.ndarray, np.ndarray]]] = {}


# -- statistics ----------------------------------------------------------------------------------
def mahalanobis(features: np.ndarray, mean: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """Mahalanobis distance of each row of (n, d) ``features`` to the nearest mean ((d,) or (k, d))."""
    X = np.atleast_2d(np.asarray(features, dtype=np.float64))
    out = np.full(X.shape[0], np.inf)
    for mu in np.atleast_2d(mean):
        D = X - mu
        out = np.minimum(out, np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", D, precision, D), 0.0)))
    return out


def ood_layers(loaded_model: Any) -> tuple[str, ...]:
    """The layers whose features the detector uses: intermediate blocks, then the penultimate."""
    manifest = loaded_model.manifest
    return (*INTERMEDIATE_LAYERS.get(manifest.architecture, ()), manifest.feature_layer)


def layer_features(loaded_model: Any, batch: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Per-layer features (spatially pooled) and P(RA) for a batch, from one forward pass.

    P(RA) is :func:`ra_desktop.model.predictor.p_ra`, as in ``LoadedModel.predict_proba``, so the pipeline can take the
    prediction from this pass instead of running the network twice.

    Hooks live only inside this call; the caller's model is not changed.
    """
    return predict_with_features(loaded_model, batch, ood_layers(loaded_model))


def input_is_blank(x: Any) -> bool:
    """True for a near-constant model input (blank image): nothing for the model to read."""
    arr = np.asarray(x, dtype=np.float64)
    # Per channel: normalisation gives each channel its own constant, so a blank image's overall
    # standard deviation is not zero.
    per_channel = arr.reshape(arr.shape[-3], -1) if arr.ndim >= 3 else arr.reshape(1, -1)
    return float(per_channel.std(axis=1).max()) < MIN_INPUT_STD


# -- model folder --------------------------------------------------------------------------------
def load_stats(model_dir: str | Path, section: dict[str, Any]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per layer (class means, precision) from the folder, verified against the manifest (cached)."""
    problems = ood_problems(section)
    if problems:  # the manifest checks this too; callers may pass a section of their own
        raise ModelUnavailable(model_dir, "; ".join(problems))
    path = Path(model_dir) / section["file"]
    key = (str(path.resolve()), str(section.get("sha256")))
    if key in _STATS_CACHE:
        return _STATS_CACHE[key]
    if not path.is_file() or path.resolve().parent != Path(model_dir).resolve():
        raise ModelUnavailable(model_dir, f"OOD statistics {path.name} is not a file in the model folder")
    if path.stat().st_size > MAX_OOD_BYTES:
        raise ModelUnavailable(model_dir, f"OOD statistics {path.name} is {path.stat().st_size:,} bytes: "
                                          f"more than {MAX_OOD_BYTES >> 20} MB, not ours")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelUnavailable(model_dir, f"OOD statistics {path.name} cannot be read: {exc}") from exc
    if hashlib.sha256(data).hexdigest() != section.get("sha256"):
        raise ModelUnavailable(model_dir, f"sha256 of {path.name} does not match the manifest")
    n_layers = len(section.get("layers") or [])
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            stats = [(npz[f"mean_{i}"].astype(np.float64), npz[f"precision_{i}"].astype(np.float64))
                     for i in range(n_layers)]
    except (KeyError, ValueError, OSError) as exc:
        raise ModelUnavailable(model_dir, f"OOD statistics {path.name} do not match the manifest: {exc}") from exc
    if not stats or len(section.get("layer_thresholds") or []) != n_layers:
        raise ModelUnavailable(model_dir, f"OOD statistics {path.name}: no layers in the manifest's 'ood' section")
    _STATS_CACHE[key] = stats
    return stats


def _section(loaded_model: Any) -> dict[str, Any]:
    section = getattr(loaded_model.manifest, "ood", None)
    if not section:
        raise ModelUnavailable(loaded_model.directory, "no OOD statistics (manifest has no 'ood' section)")
    return section


def _score(loaded_model: Any, x: Any, section: dict[str, Any]) -> tuple[float, OODResult]:
    """P(RA) and the OOD result of one input, from one forward pass."""
    stats = load_stats(loaded_model.directory, section)
    threshold = float(section["threshold"])
    arr = np.asarray(x, dtype=np.float32)
    feats, probs = layer_features(loaded_model, arr[None] if arr.ndim == 3 else arr[:1])
    if input_is_blank(x):
        return float(probs[0]), OODResult(distance=math.inf, threshold=threshold, in_distribution=False)
    distance = max(float(mahalanobis(f, mean, precision)[0]) / t
                   for f, (mean, precision), t in zip(feats, stats, section["layer_thresholds"]))
    return float(probs[0]), OODResult(distance=distance, threshold=threshold, in_distribution=distance <= threshold)


def ood_score(loaded_model: Any, x: Any) -> OODResult:
    """Distance of one input from the training distribution, with the manifest's threshold.

    Raises
    ------
    ModelUnavailable
        The model folder has no (valid) OOD statistics.
    """
    return _score(loaded_model, x, _section(loaded_model))[1]


def predict_with_ood(loaded_model: Any, x: Any) -> tuple[float, OODResult | None]:
    """P(RA) and the OOD result (``None``: "not available") of one input, in one forward pass.

    This is what the pipeline's prediction stage calls: a missing or damaged statistics file must
    not cost the user the prediction, so it is logged, reported as not available, and the
    probability comes from a plain forward pass.
    """
    if getattr(getattr(loaded_model, "manifest", None), "ood", None):
        try:
            return _score(loaded_model, x, _section(loaded_model))
        except RADesktopError as exc:
            log.warning("OOD check not available: %s", exc)
    return float(loaded_model.predict_proba(x)[0]), None


def ood_check(loaded_model: Any, x: Any) -> OODResult | None:
    """:func:`ood_score`, or ``None`` ("not available") when the model has no usable statistics."""
    return predict_with_ood(loaded_model, x)[1]

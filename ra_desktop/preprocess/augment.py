"""Training augmentation as published (rotation within ±45°, brightness ×0.6–1.4), plus an
optional window jitter that is not in the published recipe (see :func:`window_jitter`)."""
from __future__ import annotations

import numpy as np
from PIL import Image

from ra_desktop.errors import DataError

AUGMENT_KINDS = ("rotate", "brightness", "both")
MAX_ROTATION_DEG = 45.0
BRIGHTNESS_RANGE = (0.6, 1.4)
# Window jitter: where the black and white points of the intensity window fall, and a gamma.
WINDOW_LOW_RANGE = (0.0, 0.12)
WINDOW_HIGH_RANGE = (0.8, 1.0)
GAMMA_RANGE = (0.75, 1.33)


def rotate(unit: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rotate a [0, 1] image about its centre (counter-clockwise), bilinear, filling with 0."""
    img = Image.fromarray(np.ascontiguousarray(unit, dtype=np.float32))  # mode "F"
    out = img.rotate(float(angle_deg), resample=Image.Resampling.BILINEAR, expand=False, fillcolor=0.0)
    return np.asarray(out, dtype=np.float32)


def augment(unit: np.ndarray, rng: np.random.Generator, kind: str = "both") -> np.ndarray:
    """Randomly rotate and/or brighten a [0, 1] image (training only; never on displayed pixels).

    Parameters
    ----------
    unit : numpy.ndarray
        2-D float image in [0, 1].
    rng : numpy.random.Generator
        Source of randomness; the same seed gives the same result.
    kind : {"rotate", "brightness", "both"}
        ``"rotate"``: angle uniform in [-45°, 45°], fill 0. ``"brightness"``: multiply by a
        factor uniform in [0.6, 1.4], then clip to [0, 1]. ``"both"``: rotate, then brighten
        (angle drawn first, then factor).

    Returns
    -------
    numpy.ndarray
        float32 image of the same shape, in [0, 1].
    """
    return augment_with_mask(unit, None, rng, kind)[0]


def augment_with_mask(unit: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator,
                      kind: str = "both") -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`augment`, and the same rotation applied to ``mask`` (a lesion mask at the image's
    size; brightness leaves it alone). The draws are :func:`augment`'s, so the image is the same."""
    if kind not in AUGMENT_KINDS:
        raise DataError(f"unknown augmentation kind {kind!r}; use one of {AUGMENT_KINDS}")
    arr = np.asarray(unit, dtype=np.float32)
    if arr.ndim != 2:
        raise DataError(f"augment expects a 2-D image, got shape {arr.shape}")
    if kind in ("rotate", "both"):
        angle = rng.uniform(-MAX_ROTATION_DEG, MAX_ROTATION_DEG)
        arr = rotate(arr, angle)
        mask = None if mask is None else rotate(mask, angle)
    if kind in ("brightness", "both"):
        arr = arr * np.float32(rng.uniform(*BRIGHTNESS_RANGE))
    return np.clip(arr, 0.0, 1.0).astype(np.float32, copy=False), mask


def window_jitter(unit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Re-window a [0, 1] image at random black/white points and gamma (training only).

    Why: the percentile window is set by the whole image, so diffuse changes (periarticular
    osteopenia at many joints) shift the levels of every pixel, background included. A model can
    read the disease off that global shift and its maps then point at empty background. Random
    windows make global levels uninformative; only local contrast (bone against its neighbours)
    stays. Brightness ×0.6–1.4 alone does not do this: it keeps every ratio.
    """
    arr = np.asarray(unit, dtype=np.float32)
    lo = np.float32(rng.uniform(*WINDOW_LOW_RANGE))
    hi = np.float32(rng.uniform(*WINDOW_HIGH_RANGE))
    gamma = np.float32(np.exp(rng.uniform(np.log(GAMMA_RANGE[0]), np.log(GAMMA_RANGE[1]))))
    out = np.clip((arr - lo) / (hi - lo), 0.0, 1.0) ** gamma
    return out.astype(np.float32, copy=False)

"""Decode each training image once: intensity step at full resolution, then a downsampled copy.

Epochs then augment and crop the small cached image instead of re-decoding 2000 px files. The
cached image is the image ``prepare_unit`` resizes, already at the size it resizes to, so for an
unaugmented image ``prepare_unit(cached) == prepare(radiograph)`` exactly (PIL returns a copy when
asked to resize to the current size; tests/test_train_data.py checks the equality).
"""
from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ra_desktop.errors import RADesktopError
from ra_desktop.io import load_radiograph
from ra_desktop.io.dataset import Sample
from ra_desktop.preprocess import (AUGMENT_KINDS, PreprocessConfig, augment_with_mask, intensity_unit, prepare_unit,
                                   spatial_unit, window_jitter)
from ra_desktop.preprocess.geometry import letterbox_size


def cached_size(image_shape: tuple[int, int], config: PreprocessConfig) -> tuple[int, int]:
    """(height, width) the preprocessing resizes an image of this shape to."""
    if config.mode == "resize_crop":
        return int(config.resize), int(config.resize)
    return letterbox_size(image_shape, int(config.crop))


def downsample_unit(unit: np.ndarray, config: PreprocessConfig) -> np.ndarray:
    """The [0, 1] image at the size ``prepare_unit`` would resize it to (same PIL call)."""
    h, w = cached_size(unit.shape, config)
    img = Image.fromarray(np.ascontiguousarray(unit, dtype=np.float32))
    return np.asarray(img.resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32)


def load_unit(path: Path, config: PreprocessConfig) -> np.ndarray:
    """Decode one file into its cached training image; raises a RADesktopError if unreadable."""
    return downsample_unit(intensity_unit(load_radiograph(path), config), config)


def model_input(unit: np.ndarray, config: PreprocessConfig, rng: np.random.Generator | None = None,
                augment_p: float = 1.0, window_jitter_p: float = 0.0) -> np.ndarray:
    """(3, crop, crop) input from a cached image; with ``rng``, the published augmentation first
    with probability ``augment_p`` (kind drawn uniformly among rotate / brightness / both).

    The published work expands the training set with rotated, brightened and combined copies
    beside the originals; ``augment_p`` < 1 keeps originals in the mix the same way. Then, with
    probability ``window_jitter_p``, a random intensity window (not published; off by default)."""
    return model_input_with_mask(unit, None, config, rng, augment_p, window_jitter_p)[0]


def model_input_with_mask(unit: np.ndarray, mask: np.ndarray | None, config: PreprocessConfig,
                          rng: np.random.Generator | None = None, augment_p: float = 1.0,
                          window_jitter_p: float = 0.0) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`model_input`, and ``mask`` (the cached image's size) moved with it: rotated by the
    same augmentation and resized/cropped to (crop, crop) like the image. Same draws, same input."""
    if rng is not None and rng.random() < augment_p:
        unit, mask = augment_with_mask(unit, mask, rng, kind=AUGMENT_KINDS[int(rng.integers(len(AUGMENT_KINDS)))])
    if rng is not None and window_jitter_p > 0 and rng.random() < window_jitter_p:
        unit = window_jitter(unit, rng)
    x = prepare_unit(unit, config)[0]
    return x, None if mask is None else spatial_unit(np.clip(mask, 0.0, 1.0), config)[0]


def _load_one(args: tuple[Path, PreprocessConfig]) -> tuple[np.ndarray | None, str | None]:
    path, config = args
    try:
        return load_unit(path, config), None
    except RADesktopError as exc:
        return None, str(getattr(exc, "reason", exc))
    except Exception as exc:  # noqa: BLE001 - a broken file must not stop a long run; it is listed
        return None, f"{type(exc).__name__}: {exc}"


@dataclass
class UnitCache:
    """Cached images for the readable samples, and the files that were skipped with reasons."""

    samples: list[Sample]
    units: list[np.ndarray]
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def labels(self) -> np.ndarray:
        return np.array([s.label for s in self.samples], dtype=np.int64)

    @property
    def nbytes(self) -> int:
        return sum(u.nbytes for u in self.units)


def build_cache(samples: list[Sample], config: PreprocessConfig, workers: int = 0,
                progress: bool = False, desc: str = "decode") -> UnitCache:
    """Decode every sample once (in ``workers`` processes when > 1); unreadable files are skipped."""
    jobs = [(s.path, config) for s in samples]
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = pool.map(_load_one, jobs, chunksize=max(1, len(jobs) // (workers * 8)))
            results = _progress(results, len(jobs), progress, desc)
            results = list(results)
    else:
        results = [_load_one(j) for j in _progress(jobs, len(jobs), progress, desc)]
    kept, units, skipped = [], [], []
    for s, (unit, reason) in zip(samples, results):
        if unit is None:
            skipped.append((s.path, reason or "unreadable"))
        else:
            kept.append(s)
            units.append(unit)
    return UnitCache(kept, units, skipped)


def _progress(it, total: int, enabled: bool, desc: str):
    if not enabled:
        return it
    from tqdm import tqdm

    return tqdm(it, total=total, desc=desc, unit="img", leave=False)

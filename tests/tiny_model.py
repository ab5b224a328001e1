"""Shared test helper: a real, randomly initialised model folder, marked synthetic and test-only.

    from tests.tiny_model import make_tiny_model_folder
    model_dir = make_tiny_model_folder(tmp_path)            # VGG8, float16 weights (~45 MB)
    loaded = ra_desktop.model.load_model(model_dir, "cpu")

The weights are random (seeded): predictions are meaningless but deterministic. Never ship them.
The first call per (arch, seed, dtype) builds and saves; later calls copy that folder (fast).
"""
from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

TINY_MODEL_NAME = "tiny-test-model"
_CACHE: dict[tuple[str, int, str, float, str], Path] = {}
_CACHE_ROOT: Path | None = None


def _cache_root() -> Path:
    global _CACHE_ROOT
    if _CACHE_ROOT is None:
        _CACHE_ROOT = Path(tempfile.mkdtemp(prefix="ra-tiny-model-"))
        atexit.register(shutil.rmtree, _CACHE_ROOT, True)
    return _CACHE_ROOT


def _build(out_dir: Path, arch: str, seed: int, weights_dtype: str, threshold: float, mode: str) -> None:
    import torch

    from ra_desktop.model import build_model, save_model_folder
    from ra_desktop.preprocess import PreprocessConfig

    torch.manual_seed(seed)
    module = build_model(arch)
    save_model_folder(
        module,
        out_dir,
        name=TINY_MODEL_NAME,
        version="0.0.0-test",
        arch=arch,
        preprocessing=PreprocessConfig(mode=mode),
        threshold=threshold,
        training_data="none: random weights for tests",
        synthetic_training_data=True,
        intended_use="Automated tests only. Random weights; predictions are meaningless.",
        training={"command": "tests/tiny_model.py", "seed": seed, "epochs": 0},
        validation_metrics=None,
        weights_dtype=weights_dtype,
        extra={"test_only": True},
    )


def make_tiny_model_folder(
    tmp_path: str | Path,
    arch: str = "vgg8",
    *,
    seed: int = 0,
    weights_dtype: str = "float16",
    threshold: float = 0.5,
    mode: str = "resize_crop",
    name: str = "tiny-model",
) -> Path:
    """Create ``tmp_path/name`` holding a complete model folder and return its path.

    Parameters
    ----------
    tmp_path : path
        Parent folder (usually pytest's ``tmp_path``).
    arch : {"vgg8", "densenet121", "densenet169"}
    seed : int
        torch seed for the random weights.
    weights_dtype : {"float16", "float32"}
        float16 by default: half the bytes to write and hash.
    threshold : float
        Decision threshold written to the manifest.
    mode : {"resize_crop", "letterbox"}
        Preprocessing mode written to the manifest.
    name : str
        Folder name under ``tmp_path``.
    """
    key = (arch, seed, weights_dtype, float(threshold), mode)
    cached = _CACHE.get(key)
    if cached is None or not (cached / "manifest.json").is_file():
        cached = _cache_root() / "-".join(str(k) for k in key)
        _build(cached, arch, seed, weights_dtype, threshold, mode)
        _CACHE[key] = cached
    out = Path(tmp_path) / name
    shutil.copytree(cached, out)
    return out

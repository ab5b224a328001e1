"""Saving and loading model folders (``weights.safetensors`` + ``manifest.json``), verified."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ra_desktop import __version__
from ra_desktop.errors import ModelUnavailable, RADesktopError
from ra_desktop.model import predictor
from ra_desktop.model.manifest import (
    CLASS_NAMES,
    SCHEMA_VERSION,
    WEIGHTS_DTYPES,
    WEIGHTS_FILE,
    Manifest,
    atomic_write_bytes,
    load_manifest,
    notice_for,
    write_manifest,
)
from ra_desktop.model.registry import architecture_info, build_model
from ra_desktop.preprocess.config import PreprocessConfig

_BATCH = 16  # inference chunk: bounds memory for large batches on CPU


def pick_device(preference: str = "auto") -> torch.device:
    """``"auto"``: CUDA when available, else CPU; ``"cpu"``; ``"cuda"`` (error if unavailable)."""
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if preference == "cpu":
        return torch.device("cpu")
    if preference == "cuda":
        if not torch.cuda.is_available():
            raise RADesktopError("device 'cuda' requested but no CUDA GPU is available; use --device cpu or auto")
        return torch.device("cuda")
    raise RADesktopError(f"unknown device {preference!r}; use auto, cpu or cuda")


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_model_folder(
    module: nn.Module,
    out_dir: str | Path,
    *,
    name: str,
    version: str,
    arch: str,
    preprocessing: PreprocessConfig,
    threshold: float,
    training_data: str,
    synthetic_training_data: bool,
    intended_use: str,
    training: dict[str, Any],
    validation_metrics: dict[str, Any] | None,
    weights_dtype: str = "float32",
    extra: dict[str, Any] | None = None,
    ood: dict[str, Any] | None = None,
) -> Manifest:
    """Write ``weights.safetensors`` and ``manifest.json`` into ``out_dir`` (created if needed).

    Each file is written to a temp name and renamed into place; the manifest goes last, so a
    reader never sees a manifest whose hash names weights that are not there yet.

    Parameters
    ----------
    module : torch.nn.Module
        A network built by :func:`build_model` for ``arch``.
    weights_dtype : {"float32", "float16"}
        Storage precision; float16 halves the file, loading always casts back to float32.
    Other parameters are recorded verbatim in the manifest (see docs/ARCHITECTURE.md).

    Returns
    -------
    Manifest
        What was written.
    """
    from safetensors.torch import save

    info = architecture_info(arch)
    if weights_dtype not in WEIGHTS_DTYPES:
        raise RADesktopError(f"weights_dtype {weights_dtype!r} is not one of {WEIGHTS_DTYPES}")
    out_dir = Path(out_dir)
    dtype = torch.float16 if weights_dtype == "float16" else torch.float32
    tensors = {
        k: (v.detach().to("cpu", dtype) if v.is_floating_point() else v.detach().cpu()).contiguous()
        for k, v in module.state_dict().items()
    }
    # Validate every manifest field before touching the disk.
    manifest = Manifest(
        schema_version=SCHEMA_VERSION,
        name=name,
        version=version,
        architecture=arch,
        weights_file=WEIGHTS_FILE,
        weights_sha256="0" * 64,  # placeholder: validate before writing anything
        weights_dtype=weights_dtype,
        preprocessing=preprocessing.to_dict(),
        class_names=CLASS_NAMES,
        positive_index=1,
        threshold=float(threshold),
        gradcam_target_layer=info.gradcam_target_layer,
        feature_layer=info.feature_layer,
        training_data=training_data,
        synthetic_training_data=bool(synthetic_training_data),
        intended_use=intended_use,
        training=dict(training),
        validation_metrics=None if validation_metrics is None else dict(validation_metrics),
        notice=notice_for(bool(synthetic_training_data)),
        ood=ood,
        created_utc=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        app_version=__version__,
        extra=extra,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    data = save(tensors, metadata={"architecture": arch, "name": name, "version": version})
    atomic_write_bytes(out_dir / WEIGHTS_FILE, data)
    manifest = manifest.replace(weights_sha256=hashlib.sha256(data).hexdigest())
    write_manifest(out_dir, manifest)
    return manifest


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A verified model in eval mode on its device, with its manifest."""

    module: nn.Module
    manifest: Manifest
    device: torch.device
    directory: Path

    @property
    def display_name(self) -> str:
        """``"name version"`` as shown on screen and in reports."""
        return self.manifest.display_name

    @property
    def threshold(self) -> float:
        return float(self.manifest.threshold)

    @property
    def preprocess_config(self) -> PreprocessConfig:
        return self.manifest.preprocess_config

    def label_for(self, probability: float) -> str:
        """Class name at the manifest threshold (``p >= threshold`` is positive)."""
        names = self.manifest.class_names
        pos = self.manifest.positive_index
        return names[pos] if probability >= self.threshold else names[1 - pos]

    def _batches(self, x: np.ndarray):
        arr = np.asarray(x, dtype=np.float32)
        if arr.ndim == 3:
            arr = arr[None]
        if arr.ndim != 4 or arr.shape[1] != 3:
            raise RADesktopError(f"model input must be (N, 3, H, W) or (3, H, W), got {arr.shape}")
        for i in range(0, arr.shape[0], _BATCH):
            yield torch.from_numpy(np.ascontiguousarray(arr[i : i + _BATCH])).to(self.device)

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Raw logits (N, 2) for a numpy batch."""
        with torch.inference_mode():
            return np.concatenate([self.module(b).float().cpu().numpy() for b in self._batches(x)])

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """P(RA) for each input: softmax over (normal, RA). Always 1-D (N,), float64.

        Parameters
        ----------
        x : numpy.ndarray
            (N, 3, 224, 224) or a single (3, 224, 224) preprocessed input.
        """
        return predictor.predict_proba(self, x)

    def features(self, x: np.ndarray) -> np.ndarray:
        """Penultimate features (N, D) — the manifest's ``feature_layer`` — for OOD checks."""
        with torch.inference_mode():
            return np.concatenate([self.module.embed(b).float().cpu().numpy() for b in self._batches(x)])


def _state_mismatch(expected: dict[str, torch.Tensor], got: dict[str, torch.Tensor]) -> str | None:
    missing = sorted(set(expected) - set(got))
    unexpected = sorted(set(got) - set(expected))
    shapes = [
        f"{k} {tuple(got[k].shape)} != {tuple(v.shape)}"
        for k, v in expected.items()
        if k in got and tuple(got[k].shape) != tuple(v.shape)
    ]
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing keys (e.g. {', '.join(missing[:3])})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected keys (e.g. {', '.join(unexpected[:3])})")
    if shapes:
        parts.append(f"{len(shapes)} shape mismatches (e.g. {'; '.join(shapes[:3])})")
    return "; ".join(parts) or None


def _saved_architecture(weights_path: Path) -> str | None:
    """The architecture save_model_folder wrote into the safetensors header, if readable."""
    from safetensors import safe_open

    try:
        with safe_open(str(weights_path), framework="pt") as fh:
            return (fh.metadata() or {}).get("architecture")
    except Exception:  # not safetensors at all: load_file below says so
        return None


def load_model(model_dir: str | Path, device: str = "auto") -> LoadedModel:
    """Load a model folder, verifying the weights hash and loading strictly.

    Parameters
    ----------
    model_dir : path
        Folder with ``manifest.json`` and the weights file it names.
    device : {"auto", "cpu", "cuda"}
        See :func:`pick_device`.

    Returns
    -------
    LoadedModel
        Never None.

    Raises
    ------
    ModelUnavailable
        Missing folder/file, bad JSON or manifest, unknown architecture, sha256 mismatch,
        unreadable weights, missing/unexpected keys or shape mismatch.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    model_dir = Path(model_dir)
    manifest = load_manifest(model_dir)
    weights_path = model_dir / manifest.weights_file
    if not weights_path.is_file():
        raise ModelUnavailable(model_dir, f"weights file {manifest.weights_file} is missing")
    actual = sha256_file(weights_path)
    if actual != manifest.weights_sha256:
        raise ModelUnavailable(
            model_dir,
            f"sha256 of {manifest.weights_file} is {actual[:12]}…, the manifest says "
            f"{manifest.weights_sha256[:12]}… (corrupt or replaced weights)",
        )
    try:
        architecture_info(manifest.architecture)  # cheap: an unknown name is said as such
    except RADesktopError as exc:
        raise ModelUnavailable(model_dir, str(exc)) from exc
    saved_for = _saved_architecture(weights_path)
    if saved_for is not None and saved_for != manifest.architecture:
        raise ModelUnavailable(
            model_dir,
            f"{manifest.weights_file} holds {saved_for} weights but the manifest is for "
            f"{manifest.architecture} (manifest from another model?)",
        )
    try:
        # empty: the file's tensors replace the weights below (assign=True, strict: none left unset)
        module = build_model(manifest.architecture, empty=True)
    except RADesktopError as exc:
        raise ModelUnavailable(model_dir, str(exc)) from exc
    try:
        # safetensors only: raw tensors and a JSON header, nothing that can run code.
        state = load_file(str(weights_path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelUnavailable(
            model_dir, f"cannot read {manifest.weights_file} as safetensors: {exc}"
        ) from exc
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    problem = _state_mismatch(module.state_dict(), state)
    if problem:
        raise ModelUnavailable(
            model_dir, f"weights do not match architecture {manifest.architecture}: {problem}"
        )
    module.load_state_dict(state, strict=True, assign=True)
    try:
        dev = pick_device(device)
    except RADesktopError as exc:
        raise ModelUnavailable(model_dir, str(exc)) from exc
    # Channels-last weights: the batched path feeds channels-last input, and oneDNN would
    # otherwise reorder every convolution's weights on every call (same results, bit for bit).
    module.to(dev, memory_format=torch.channels_last).eval()
    return LoadedModel(module=module, manifest=manifest, device=dev, directory=model_dir)

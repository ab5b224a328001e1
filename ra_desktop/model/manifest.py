"""``manifest.json``: what a model folder is, what it was trained on and how to feed it."""
from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from ra_desktop.errors import DataError, ModelUnavailable
from ra_desktop.preprocess.config import PreprocessConfig

SCHEMA_VERSION = 1
MANIFEST_FILE = "manifest.json"
WEIGHTS_FILE = "weights.safetensors"
CLASS_NAMES = ("normal", "RA")
SYNTHETIC_NOTICE = "Trained on synthetic phantoms — not for clinical use."
REAL_NOTICE = "Decision support for research and education — not for clinical diagnosis."
WEIGHTS_DTYPES = ("float32", "float16")
MAX_MANIFEST_BYTES = 16 << 20  # a manifest is a few kB; a bigger one is not ours
OOD_SUFFIX = ".npz"
_MAX_LAYERS = 16


def notice_for(synthetic_training_data: bool) -> str:
    """The notice every output of a model carries."""
    return SYNTHETIC_NOTICE if synthetic_training_data else REAL_NOTICE


@dataclass(frozen=True)
class Manifest:
    """Contents of ``manifest.json`` (docs/ARCHITECTURE.md, "Models").

    ``preprocessing`` is the :class:`PreprocessConfig` dict; ``training`` records how the weights
    were made (command, seeds, epochs...); ``ood`` is optional (stats file + threshold);
    ``extra`` is free-form, for fields that are not part of the schema yet.
    """

    schema_version: int
    name: str
    version: str
    architecture: str
    weights_file: str
    weights_sha256: str
    weights_dtype: str
    preprocessing: dict[str, Any]
    class_names: tuple[str, ...]
    positive_index: int
    threshold: float
    gradcam_target_layer: str
    feature_layer: str
    training_data: str
    synthetic_training_data: bool
    intended_use: str
    training: dict[str, Any]
    validation_metrics: dict[str, Any] | None
    notice: str
    ood: dict[str, Any] | None = None
    created_utc: str | None = None
    app_version: str | None = None
    extra: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "class_names", tuple(self.class_names))
        problems = self.problems()
        if problems:
            raise DataError("; ".join(problems))

    def problems(self) -> list[str]:
        """Human-readable reasons this manifest is unusable (empty when fine)."""
        out = []
        if self.schema_version != SCHEMA_VERSION:
            out.append(f"schema_version {self.schema_version} is not supported (expected {SCHEMA_VERSION})")
        for key in ("name", "version", "architecture", "weights_file", "weights_sha256"):
            if not isinstance(getattr(self, key), str) or not getattr(self, key):
                out.append(f"{key} must be a non-empty string")
        if isinstance(self.weights_sha256, str) and len(self.weights_sha256) != 64:
            out.append("weights_sha256 must be 64 hex digits")
        if os.path.basename(str(self.weights_file)) != self.weights_file:
            out.append(f"weights_file {self.weights_file!r} must be a plain file name in the folder")
        elif not str(self.weights_file).endswith(".safetensors"):
            # .pt/.pth/.bin/.pkl are pickles: reading one can run any code it carries.
            out.append(f"weights_file {self.weights_file!r} is not a .safetensors file; only "
                       "safetensors weights are loaded (pickle-based .pt/.pth files can run code)")
        if self.weights_dtype not in WEIGHTS_DTYPES:
            out.append(f"weights_dtype {self.weights_dtype!r} is not one of {WEIGHTS_DTYPES}")
        if len(self.class_names) != 2 or not 0 <= int(self.positive_index) < len(self.class_names):
            out.append("need two class_names and a positive_index of 0 or 1")
        if not isinstance(self.threshold, (int, float)) or not 0.0 <= float(self.threshold) <= 1.0:
            out.append(f"threshold must be a number in [0, 1], got {self.threshold!r}")
        if not isinstance(self.synthetic_training_data, bool):
            out.append("synthetic_training_data must be true or false")
        try:
            PreprocessConfig.from_dict(self.preprocessing)
        except Exception as exc:  # DataError, TypeError from a malformed dict
            out.append(f"preprocessing: {exc}")
        out += ood_problems(self.ood)
        return out

    @property
    def preprocess_config(self) -> PreprocessConfig:
        """The preprocessing recipe the model was trained with."""
        return PreprocessConfig.from_dict(self.preprocessing)

    @property
    def display_name(self) -> str:
        return f"{self.name} {self.version}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        out = asdict(self)
        out["class_names"] = list(self.class_names)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """Validate and build; missing, unknown or invalid fields raise :class:`DataError`."""
        if not isinstance(data, dict):
            raise DataError(f"manifest must be a JSON object, got {type(data).__name__}")
        all_fields = {f.name for f in fields(cls)}
        required = _REQUIRED
        missing = sorted(required - set(data))
        unknown = sorted(set(data) - all_fields)
        if missing or unknown:
            parts = []
            if missing:
                parts.append(f"missing fields {missing}")
            if unknown:
                parts.append(f"unknown fields {unknown} (put free-form data under 'extra')")
            raise DataError("; ".join(parts))
        return cls(**data)

    def replace(self, **changes: Any) -> Manifest:
        """A copy with some fields changed (e.g. ``ood=...`` after fitting OOD statistics)."""
        return replace(self, **changes)


def ood_problems(section: Any) -> list[str]:
    """Why an ``ood`` section is unusable: its file must be a plain name in the model folder
    (the same rule as the weights) and every number within bounds, before anything is read."""
    if section is None:
        return []
    if not isinstance(section, dict):
        return ["ood must be a JSON object"]
    out = []
    name = section.get("file")
    if not isinstance(name, str) or os.path.basename(name) != name or not name.endswith(OOD_SUFFIX):
        out.append(f"ood.file {name!r} must be a plain {OOD_SUFFIX} file name in the model folder")
    if not isinstance(section.get("sha256"), str) or len(section["sha256"]) != 64:
        out.append("ood.sha256 must be 64 hex digits")
    if not _number_in(section.get("threshold"), 0.0, 1e6, low_open=True):
        out.append(f"ood.threshold must be a number in (0, 1e6], got {section.get('threshold')!r}")
    if "percentile" in section and not _number_in(section["percentile"], 0.0, 100.0, low_open=True):
        out.append(f"ood.percentile must be in (0, 100], got {section['percentile']!r}")
    layers, limits = section.get("layers"), section.get("layer_thresholds")
    if not (isinstance(layers, list) and 0 < len(layers) <= _MAX_LAYERS
            and all(isinstance(x, str) and len(x) <= 200 for x in layers)):
        out.append(f"ood.layers must be a list of 1 to {_MAX_LAYERS} layer names")
    if not (isinstance(limits, list) and isinstance(layers, list) and len(limits) == len(layers)
            and all(_number_in(v, 0.0, 1e6, low_open=True) for v in limits)):
        out.append("ood.layer_thresholds must hold one number in (0, 1e6] per layer")
    for key in ("n_train", "n_val", "n_classes"):
        if key in section and not (isinstance(section[key], int) and 0 <= section[key] <= 10**9):
            out.append(f"ood.{key} must be an integer in [0, 1e9]")
    return out


def _number_in(value: Any, low: float, high: float, *, low_open: bool = False) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return False
    return (low < value if low_open else low <= value) and value <= high


_REQUIRED = {
    f.name for f in fields(Manifest) if f.name not in ("ood", "created_utc", "app_version", "extra")
}


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temp file in the same folder, fsync, then rename over ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp files are private (0600); a model folder is installed for every user to read.
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_manifest(model_dir: str | Path, manifest: Manifest) -> Path:
    """Atomically write ``manifest.json`` into ``model_dir``; returns its path."""
    path = Path(model_dir) / MANIFEST_FILE
    text = json.dumps(manifest.to_dict(), indent=2, ensure_ascii=False) + "\n"
    atomic_write_bytes(path, text.encode("utf-8"))
    return path


def load_manifest(model_dir: str | Path) -> Manifest:
    """Read and validate ``model_dir/manifest.json``.

    Raises
    ------
    ModelUnavailable
        Folder or file missing, not JSON, or fields missing/unknown/invalid.
    """
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ModelUnavailable(model_dir, "model folder does not exist")
    path = model_dir / MANIFEST_FILE
    if not path.is_file():
        raise ModelUnavailable(model_dir, f"{MANIFEST_FILE} is missing")
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise ModelUnavailable(model_dir, f"{MANIFEST_FILE} is {path.stat().st_size:,} bytes: not a manifest")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelUnavailable(model_dir, f"{MANIFEST_FILE} is not valid JSON: {exc}") from exc
    try:
        return Manifest.from_dict(data)
    except (DataError, TypeError) as exc:  # TypeError: a field of the wrong JSON type
        raise ModelUnavailable(model_dir, f"{MANIFEST_FILE} is invalid: {exc}") from exc

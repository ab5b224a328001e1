"""The model folders this installation can offer: read from their manifests, without torch.

Settings lists them so that a reader picks a model by name, not by path. Reading a manifest is
cheap; the folder is verified (weights hashed, architecture built) only when it is chosen.
"""
from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

from ra_desktop import paths

MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 1 << 20


@dataclass(frozen=True)
class ModelEntry:
    """One model folder: what it is, and why it cannot be used here (``problem``; empty if it can)."""

    path: Path
    name: str
    version: str
    architecture: str
    synthetic: bool
    problem: str = ""

    @property
    def label(self) -> str:
        text = f"{self.name} {self.version} · {self.architecture}" + (" · synthetic" if self.synthetic else "")
        return f"{text} · unavailable: {self.problem.split(' (')[0]}" if self.problem else text


def user_models_dir() -> Path:
    """Where a clinic puts model folders of its own (listed beside the bundled ones)."""
    return paths.user_data_dir() / "models"


def has_torchvision() -> bool:
    return importlib.util.find_spec("torchvision") is not None


def read_entry(folder: Path, torchvision: bool | None = None) -> ModelEntry | None:
    """The entry for ``folder``; None if it holds no manifest. A bad manifest is an entry with a problem."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return None
    try:
        if manifest.stat().st_size > MAX_MANIFEST_BYTES:
            raise ValueError("manifest.json is larger than 1 MiB")
        data = json.loads(manifest.read_text(encoding="utf-8"))
        name, version, arch = (str(data[k]) for k in ("name", "version", "architecture"))
        synthetic = bool(data.get("synthetic_training_data", False))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return ModelEntry(folder, folder.name, "?", "?", False, f"unreadable manifest ({exc})")
    problem = ""
    if arch.startswith("densenet") and not (has_torchvision() if torchvision is None else torchvision):
        problem = "needs the full build (DenseNet models need torchvision, which this installation lacks)"
    return ModelEntry(folder, name, version, arch, synthetic, problem)


def find_models(*extra: str | Path, torchvision: bool | None = None) -> list[ModelEntry]:
    """Model folders in the bundled models folder, the user's models folder and ``extra`` paths.

    Bundled first, then the user's, each sorted by name; a folder listed twice appears once.
    """
    folders: list[Path] = []
    for root in (paths.models_dir(), user_models_dir()):
        if root.is_dir():
            folders += sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name)
    folders += [Path(p) for p in extra if str(p).strip()]
    seen: set[Path] = set()
    entries = []
    for folder in folders:
        key = folder.resolve()
        if key in seen:
            continue
        seen.add(key)
        entry = read_entry(folder, torchvision)
        if entry is not None:
            entries.append(entry)
    return entries

"""Models: architectures, verified model folders and inference.

Public API: :func:`build_model`, :data:`ARCHITECTURES`, :func:`save_model_folder`,
:func:`load_model`, :class:`LoadedModel`, :class:`Manifest`, :func:`load_manifest`,
:func:`write_manifest`, :func:`pick_device`.
"""
from ra_desktop.model.folder import LoadedModel, load_model, pick_device, save_model_folder, sha256_file
from ra_desktop.model.manifest import (
    CLASS_NAMES,
    MANIFEST_FILE,
    SYNTHETIC_NOTICE,
    WEIGHTS_FILE,
    Manifest,
    load_manifest,
    notice_for,
    write_manifest,
)
from ra_desktop.model.registry import (
    ARCHITECTURES,
    ArchitectureInfo,
    UnknownArchitecture,
    architecture_info,
    build_model,
)

__all__ = [
    "ARCHITECTURES",
    "CLASS_NAMES",
    "MANIFEST_FILE",
    "SYNTHETIC_NOTICE",
    "WEIGHTS_FILE",
    "ArchitectureInfo",
    "LoadedModel",
    "Manifest",
    "UnknownArchitecture",
    "architecture_info",
    "build_model",
    "load_manifest",
    "load_model",
    "notice_for",
    "pick_device",
    "save_model_folder",
    "sha256_file",
    "write_manifest",
]

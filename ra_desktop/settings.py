"""Typed user preferences, stored as JSON in ``paths.user_config_dir()/settings.json``. No Qt.

Clinical parameters (threshold, normalisation) belong to the model manifest, never here; the
window layout is Qt's, in its own file (``ra_desktop/ui/layout.py``). Unknown keys are dropped and
wrong types fall back to the default, with a logged warning, so a hand-edited or old file never
stops the app from starting.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ra_desktop import paths

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
DEVICES = ("auto", "cpu", "cuda")
OVERLAYS = ("gradcam", "shap", "none")
THEMES = ("dark", "light")


@dataclass(frozen=True)
class Settings:
    schema_version: int = SCHEMA_VERSION
    device: str = "auto"
    model_dir: str = ""  # "" means the bundled default model
    reader_name: str = ""
    institution: str = ""
    default_overlay: str = "gradcam"
    overlay_opacity: float = 0.45
    theme: str = "dark"
    explanations: tuple[str, ...] = ("gradcam", "shap")  # computed when a case is opened
    batch_explanations: tuple[str, ...] = ("gradcam",)  # computed by "Analyse all"
    recent_folders: tuple[str, ...] = field(default_factory=tuple)
    deidentify_reports: bool = False  # GUI exports: no name/ID/dates/paths, case id as pseudonym
    # Smallest detectable change of the Sharp/van der Heijde total, from this site's repeated
    # readings (`ra-desktop scores agreement`); 0 = not configured, no change is called real.
    svdh_sdc: float = 0.0
    # DICOM node (ra_desktop/dicomnet). The listener never opens unless the user enables it.
    dicom_listener_enabled: bool = False
    dicom_ae_title: str = "RADESKTOP"
    dicom_port: int = 11112
    dicom_allowed_callers: tuple[str, ...] = ()  # calling AE titles; empty = any caller
    dicom_auto_analyse: bool = False  # analyse new studies as they arrive
    # Remote nodes the user configured, each "AETITLE@host:port"; nothing else is ever contacted.
    dicom_nodes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, not {self.device!r}")
        if self.default_overlay not in OVERLAYS:
            raise ValueError(f"default_overlay must be one of {OVERLAYS}")
        if self.theme not in THEMES:
            raise ValueError(f"theme must be one of {THEMES}")
        if not 0.0 <= float(self.overlay_opacity) <= 1.0:
            raise ValueError("overlay_opacity must be between 0 and 1")
        if not 0.0 <= float(self.svdh_sdc) <= 280.0:
            raise ValueError("svdh_sdc must be between 0 and 280 (the largest possible total)")
        if not 1 <= int(self.dicom_port) <= 65535:
            raise ValueError("dicom_port must be between 1 and 65535")
        for aet in (self.dicom_ae_title, *self.dicom_allowed_callers):
            check_ae_title(aet)
        for node in self.dicom_nodes:
            parse_node(node)
        for name in (*self.explanations, *self.batch_explanations):
            if name not in ("gradcam", "shap"):
                raise ValueError(f"unknown explanation {name!r}")

    def model_path(self) -> Path:
        return Path(self.model_dir) if self.model_dir else paths.default_model_dir()

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def check_ae_title(aet: str) -> str:
    """An AE title: 1-16 printable ASCII characters, no backslash, not only spaces (PS3.5 AE VR)."""
    if not isinstance(aet, str) or not aet.strip() or len(aet) > 16:
        raise ValueError(f"AE title must be 1 to 16 characters: {aet!r}")
    if any(not (32 <= ord(ch) < 127) or ch == "\\" for ch in aet):
        raise ValueError(f"AE title may hold printable ASCII only, no backslash: {aet!r}")
    return aet.strip()


def parse_node(text: str) -> tuple[str, str, int]:
    """'AETITLE@host:port' -> (ae_title, host, port); ValueError naming what is wrong."""
    aet, sep, address = text.rpartition("@")
    host, colon, port = address.rpartition(":")
    if not sep or not colon or not host or not port.isdigit():
        raise ValueError(f"DICOM node must be AETITLE@host:port, not {text!r}")
    if not 1 <= int(port) <= 65535:
        raise ValueError(f"DICOM node port must be between 1 and 65535: {text!r}")
    return check_ae_title(aet), host, int(port)


def settings_path() -> Path:
    return paths.user_config_dir() / "settings.json"


def _migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Bring older files up to SCHEMA_VERSION (version 0 = files without a version field)."""
    version = int(data.get("schema_version", 0) or 0)
    if version < 1:
        if "opacity" in data and "overlay_opacity" not in data:
            data["overlay_opacity"] = data.pop("opacity")
    data["schema_version"] = SCHEMA_VERSION
    return data


def from_dict(data: dict[str, Any]) -> Settings:
    """Build settings from a (possibly old or hand-edited) dict, keeping every valid value."""
    data = _migrate(dict(data))
    defaults = Settings()
    kept: dict[str, Any] = {}
    for f in dataclasses.fields(Settings):
        if f.name not in data:
            continue
        value, default = data[f.name], getattr(defaults, f.name)
        if isinstance(default, tuple) and isinstance(value, list):
            value = tuple(value)
        if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not type(default):
            log.warning("settings: %s has type %s, expected %s; using the default",
                        f.name, type(value).__name__, type(default).__name__)
            continue
        try:  # validate one field at a time so one bad value does not reset the others
            dataclasses.replace(defaults, **{f.name: value})
        except ValueError as exc:
            log.warning("settings: %s ignored (%s)", f.name, exc)
            continue
        kept[f.name] = value
    unknown = set(data) - {f.name for f in dataclasses.fields(Settings)}
    if unknown:
        log.warning("settings: unknown keys ignored: %s", ", ".join(sorted(unknown)))
    return dataclasses.replace(defaults, **kept)


def load_settings(path: Path | None = None) -> Settings:
    path = path or settings_path()
    if not path.exists():
        return Settings()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        log.warning("settings: %s unreadable (%s); using defaults", path, exc)
        return Settings()
    return from_dict(data)


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write atomically (temp file, fsync, replace) so a crash or power cut never leaves half a
    file: the old settings or the new ones, nothing in between."""
    path = path or settings_path()
    data = json.dumps(settings.to_dict(), indent=2).encode("utf-8")
    fd, tmp_name = tempfile.mkstemp(prefix=".settings.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, path)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    _fsync_dir(path.parent)
    return path


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); not possible or needed on Windows."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

"""The one place that finds bundled files and user folders, from source, a wheel or a frozen app.

Nothing is ever written next to the code or inside an install folder; user data goes to the
platformdirs folders. ``RA_DESKTOP_HOME`` overrides the user folders (tests, portable installs).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

_APP = "ra-desktop"
_AUTHOR = "RA Desktop"


def install_root() -> Path:
    """Folder holding ``resources/`` and ``models/``: the repo root, or the frozen bundle."""
    if getattr(sys, "frozen", False):
        return Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent))
    return Path(__file__).resolve().parent.parent


def resource(*parts: str) -> Path:
    """Path of a bundled resource, e.g. ``resource("demo")`` or ``resource("styles", "dark.qss")``."""
    return install_root().joinpath("resources", *parts)


def demo_dir() -> Path:
    return resource("demo")


def models_dir() -> Path:
    return install_root() / "models"


def default_model_dir() -> Path:
    """The bundled demo model folder."""
    return models_dir() / "ra-vgg8-phantom"


def _user_dir(kind: str) -> Path:
    home = os.environ.get("RA_DESKTOP_HOME")
    if home:
        path = Path(home) / kind
    else:
        getter = {
            "data": platformdirs.user_data_dir,
            "config": platformdirs.user_config_dir,
            "log": platformdirs.user_log_dir,
            "cache": platformdirs.user_cache_dir,
        }[kind]
        path = Path(getter(_APP, _AUTHOR))
    return private_dir(path)


def private_dir(path: Path) -> Path:
    """``path`` as a folder only its owner can enter (0700): it holds patient data.

    A folder made by an older version (0755) is tightened on start.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    _chmod(path, 0o700)
    return path


def private_file(path: Path) -> Path:
    """``path`` as a file only its owner can read (0600), created empty when missing."""
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY | getattr(os, "O_BINARY", 0), 0o600))
    _chmod(path, 0o600)
    return path


def private_opener(path: str, flags: int) -> int:
    """``open(..., opener=private_opener)``: a file the call creates is 0600 from its first byte."""
    return os.open(path, flags, 0o600)


def _chmod(path: Path, mode: int) -> None:
    try:
        if os.name == "posix" and (path.stat().st_mode & 0o777) != mode:
            path.chmod(mode)
    except OSError:  # not ours (a shared RA_DESKTOP_HOME): the owner decides
        pass


def user_data_dir() -> Path:
    return _user_dir("data")


def user_config_dir() -> Path:
    return _user_dir("config")


def user_log_dir() -> Path:
    return _user_dir("log")


def user_cache_dir() -> Path:
    return _user_dir("cache")

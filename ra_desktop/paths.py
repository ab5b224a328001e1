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
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_data_dir() -> Path:
    return _user_dir("data")


def user_config_dir() -> Path:
    return _user_dir("config")


def user_log_dir() -> Path:
    return _user_dir("log")


def user_cache_dir() -> Path:
    return _user_dir("cache")

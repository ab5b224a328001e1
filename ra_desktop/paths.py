"""The one place that finds bundled files and user folders, from source, a wheel or a frozen app.

Nothing is ever written next to the code or inside an install folder. Every file the app or the
CLI writes for a user goes under four user folders (data, config, log, cache): the platformdirs
folders, or ``RA_DESKTOP_HOME/{data,config,log,cache}`` when that variable is set (tests,
benchmarks, portable installs). That includes Qt's settings (window layout: an explicit INI file,
never Qt's default location) and the caches matplotlib and fontconfig keep
(:func:`redirect_library_caches`).
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


# Set with XDG_CACHE_HOME by redirect_library_caches(): that XDG_CACHE_HOME is the app's own cache
# folder (for fontconfig), not the user's, and platformdirs must not nest the cache folder in it.
_OWN_XDG_CACHE = "RA_DESKTOP_OWN_XDG_CACHE_HOME"


def _user_dir(kind: str) -> Path:
    home = os.environ.get("RA_DESKTOP_HOME")
    own_xdg_cache = os.environ.get(_OWN_XDG_CACHE)
    if home:
        path = Path(home) / kind
    elif kind == "cache" and own_xdg_cache and own_xdg_cache == os.environ.get("XDG_CACHE_HOME"):
        path = Path(own_xdg_cache)
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


def layout_settings_file() -> Path:
    """Qt's settings for the window layout (geometry, splitter, toolbars): an explicit INI file in
    the user config folder, read with ``QSettings(path, QSettings.IniFormat)``."""
    return user_config_dir() / "layout.ini"


def qt_settings_dir() -> Path:
    """Where Qt's own ``QSettings`` go (the file dialogs' history, ``QtProject.conf``) instead of
    ``~/.config``: set with ``QSettings.setPath`` before the QApplication exists."""
    return user_config_dir() / "qt"


def redirect_library_caches() -> dict[str, str]:
    """Point the caches libraries keep in the user's home into the user cache folder.

    matplotlib (``MPLCONFIGDIR``: its config and font cache, else ``~/.config/matplotlib`` and
    ``~/.cache/matplotlib``), torch's compiler cache (``TORCHINDUCTOR_CACHE_DIR``, which importing
    torchvision makes in the temp folder) and, where fonts come from fontconfig (Linux and other
    XDG systems), ``XDG_CACHE_HOME``: fontconfig's cache, and Qt's and Mesa's if they keep one,
    land in the cache folder. A variable the user has set is left alone. Call before matplotlib is imported or Qt
    loads fonts (the CLI's ``main`` and ``app.main`` do). Returns the variables it set.
    """
    cache = user_cache_dir()
    changed: dict[str, str] = {}
    if not os.environ.get("MPLCONFIGDIR"):
        changed["MPLCONFIGDIR"] = str(private_dir(cache / "matplotlib"))
    if not os.environ.get("TORCHINDUCTOR_CACHE_DIR"):  # made (empty) in the temp folder by torchvision
        changed["TORCHINDUCTOR_CACHE_DIR"] = str(cache / "torchinductor")
    if sys.platform not in ("win32", "darwin") and not os.environ.get("XDG_CACHE_HOME"):
        changed["XDG_CACHE_HOME"] = changed[_OWN_XDG_CACHE] = str(cache)
    os.environ.update(changed)
    return changed

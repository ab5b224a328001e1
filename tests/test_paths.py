"""ra_desktop.paths finds bundled files from source and frozen, and keeps user data elsewhere."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ra_desktop import paths

REPO = Path(__file__).resolve().parent.parent


def test_source_tree_root_holds_resources():
    assert paths.install_root() == REPO
    assert paths.resource("demo") == REPO / "resources" / "demo" == paths.demo_dir()
    assert paths.resource("styles").is_dir()
    assert paths.models_dir() == REPO / "models"
    assert paths.default_model_dir() == REPO / "models" / "ra-vgg8-phantom"


@pytest.fixture
def frozen(monkeypatch, tmp_path):
    """What PyInstaller's bootloader sets: sys.frozen and sys._MEIPASS (onedir: <app>/_internal)."""
    bundle = tmp_path / "ra-desktop" / "_internal"
    (bundle / "resources" / "demo").mkdir(parents=True)
    (bundle / "models" / "ra-vgg8-phantom").mkdir(parents=True)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    monkeypatch.setattr(sys, "executable", str(bundle.parent / "ra-desktop"))
    return bundle


def test_frozen_bundle_is_the_root(frozen):
    assert paths.install_root() == frozen
    assert paths.demo_dir() == frozen / "resources" / "demo"
    assert paths.resource("styles", "dark.qss") == frozen / "resources" / "styles" / "dark.qss"
    assert paths.default_model_dir() == frozen / "models" / "ra-vgg8-phantom"
    assert paths.default_model_dir().is_dir()


def test_frozen_without_meipass_uses_the_executable_folder(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.delattr(sys, "_MEIPASS", raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "app" / "ra-desktop"))
    assert paths.install_root() == tmp_path / "app"


@pytest.mark.parametrize("getter", ["user_data_dir", "user_config_dir", "user_log_dir", "user_cache_dir"])
def test_user_dirs_honour_ra_desktop_home(getter, _isolated_user_dirs):
    d = getattr(paths, getter)()
    assert d.is_dir() and d.parent == _isolated_user_dirs


@pytest.mark.parametrize("getter", ["user_data_dir", "user_config_dir", "user_log_dir", "user_cache_dir"])
def test_user_dirs_never_inside_the_install_folder(getter, frozen, monkeypatch, tmp_path):
    # Without RA_DESKTOP_HOME the platformdirs folders are used: never the bundle.
    monkeypatch.delenv("RA_DESKTOP_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home" / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "home" / ".local" / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home" / ".cache"))
    d = getattr(paths, getter)()
    assert d.is_dir()
    assert frozen.parent not in d.parents
    assert (tmp_path / "home") in d.parents


def test_qt_settings_live_in_the_user_config_folder(_isolated_user_dirs):
    assert paths.layout_settings_file() == _isolated_user_dirs / "config" / "layout.ini"
    assert paths.qt_settings_dir() == _isolated_user_dirs / "config" / "qt"


def test_qt_own_settings_are_redirected_into_the_user_folder(_isolated_user_dirs):
    from PySide6.QtCore import QSettings

    from ra_desktop.app import keep_qt_settings_in_user_folder

    def qt_file(fmt) -> Path:
        return Path(QSettings(fmt, QSettings.Scope.UserScope, "QtProject").fileName())

    formats = (QSettings.Format.NativeFormat, QSettings.Format.IniFormat)
    before = {fmt: qt_file(fmt).parent for fmt in formats}  # process-wide: put back afterwards
    try:
        keep_qt_settings_in_user_folder()
        for fmt in formats:
            assert paths.qt_settings_dir() in qt_file(fmt).parents, fmt
    finally:
        for fmt, folder in before.items():
            QSettings.setPath(fmt, QSettings.Scope.UserScope, str(folder))


@pytest.fixture
def no_cache_vars(monkeypatch):
    for var in ("MPLCONFIGDIR", "XDG_CACHE_HOME", "RA_DESKTOP_OWN_XDG_CACHE_HOME", "TORCHINDUCTOR_CACHE_DIR"):
        monkeypatch.setenv(var, "")  # recorded, so that what redirect_library_caches sets is undone
        monkeypatch.delenv(var)
    monkeypatch.setattr(sys, "platform", "linux")
    return monkeypatch


def test_library_caches_go_to_the_user_cache_folder(no_cache_vars, _isolated_user_dirs):
    import os

    cache = _isolated_user_dirs / "cache"
    changed = paths.redirect_library_caches()
    assert os.environ["MPLCONFIGDIR"] == str(cache / "matplotlib") and (cache / "matplotlib").is_dir()
    assert os.environ["XDG_CACHE_HOME"] == str(cache)  # fontconfig: cache/fontconfig
    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == str(cache / "torchinductor")
    assert {"MPLCONFIGDIR", "XDG_CACHE_HOME", "TORCHINDUCTOR_CACHE_DIR"} <= set(changed)
    assert paths.redirect_library_caches() == {}  # once set, left alone
    assert paths.user_cache_dir() == cache


def test_library_caches_the_user_set_are_left_alone(no_cache_vars, tmp_path):
    import os

    no_cache_vars.setenv("MPLCONFIGDIR", str(tmp_path / "mine"))
    no_cache_vars.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    no_cache_vars.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))
    assert paths.redirect_library_caches() == {}
    assert os.environ["MPLCONFIGDIR"] == str(tmp_path / "mine")
    assert os.environ["XDG_CACHE_HOME"] == str(tmp_path / "xdg")


def test_platformdirs_cache_is_not_nested_in_its_own_xdg_cache(no_cache_vars, tmp_path):
    # Without RA_DESKTOP_HOME: XDG_CACHE_HOME now points at the app's cache folder, and platformdirs
    # would put the cache folder inside it; the app (and any process it starts) still finds the same one.
    import os

    no_cache_vars.delenv("RA_DESKTOP_HOME")
    no_cache_vars.setenv("HOME", str(tmp_path / "home"))
    cache = paths.user_cache_dir()
    assert cache == tmp_path / "home" / ".cache" / "ra-desktop"
    paths.redirect_library_caches()
    assert os.environ["XDG_CACHE_HOME"] == str(cache)
    assert paths.user_cache_dir() == cache
    assert os.environ["MPLCONFIGDIR"] == str(cache / "matplotlib")

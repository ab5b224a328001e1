"""The window layout: kept in the user config folder, restored only when it fits the screens now,
never saved by offscreen runs, and View > Reset layout.

The tests run on the offscreen platform; a "real" display is simulated by patching the platform
name and the screens' available areas that ``ra_desktop.ui.layout`` sees.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, QSettings
from PySide6.QtWidgets import QToolBar

from ra_desktop import paths
from ra_desktop.ui import layout

pytestmark = pytest.mark.gui

SCREEN = QRect(0, 0, 1920, 1040)  # a 1920x1080 screen less a task bar


@pytest.fixture
def screens(monkeypatch):
    """A real display with the given screens (default: one 1920x1080)."""
    areas = [QRect(SCREEN)]
    monkeypatch.setattr(layout, "platform_name", lambda: "xcb")
    monkeypatch.setattr(layout, "screen_areas", lambda: [QRect(a) for a in areas])
    return areas


def _stored() -> QSettings:
    return QSettings(str(paths.layout_settings_file()), QSettings.Format.IniFormat)


def _save(platform: str, rect: QRect, maximized: bool = False) -> None:
    """A layout file as an earlier run (on ``platform``) left it."""
    s = _stored()
    s.setValue("window/version", layout.VERSION)
    s.setValue("window/platform", platform)
    s.setValue("window/geometry", rect)
    s.setValue("window/maximized", maximized)
    s.sync()


def _default(window, area: QRect = SCREEN) -> QRect:
    return layout.default_geometry(area, window.minimumSizeHint())


def test_offscreen_runs_never_save_a_layout(make_window):
    w = make_window(None, wait_model=False)
    assert w.size().width() == 1600 and w.size().height() == 950  # the fixed headless default
    w.close()
    assert "window/geometry" not in _stored().allKeys()


def test_layout_is_saved_in_the_user_config_folder_and_restored(make_window, screens):
    w = make_window(None, wait_model=False)
    assert w.geometry() == _default(w)  # nothing saved yet: the default for the screen
    w.setGeometry(QRect(200, 120, 1300, 800))
    w.splitter.setSizes([300, 700, 300])
    sizes = w.splitter.sizes()
    w.close()
    assert paths.layout_settings_file().parent == paths.user_config_dir()
    assert _stored().value("window/platform") == "xcb"
    w2 = make_window(None, wait_model=False)
    assert w2.geometry() == QRect(200, 120, 1300, 800)
    assert w2.splitter.sizes() == sizes


def test_oversized_geometry_opens_within_the_screen(make_window, screens):
    _save("xcb", QRect(-300, -200, 3840, 2160))  # e.g. from a 4K screen
    w = make_window(None, wait_model=False)
    assert layout.fits(w.geometry(), screens)
    assert w.geometry() == _default(w)


def test_offscreen_geometry_is_not_restored(make_window, screens):
    # What an offscreen test run used to leave behind: 893x800 in the corner of a 1920x1080 screen
    _save("offscreen", QRect(0, 0, 893, 800))
    w = make_window(None, wait_model=False)
    assert w.geometry() == _default(w) and w.width() == int(SCREEN.width() * layout.SCREEN_SHARE)
    assert layout.fits(w.geometry(), screens)


def test_geometry_on_a_screen_no_longer_there(make_window, screens):
    _save("xcb", QRect(2100, 100, 1200, 800))  # on a second screen, since unplugged
    w = make_window(None, wait_model=False)
    assert w.geometry() == _default(w)
    screens.append(QRect(1920, 0, 1920, 1040))  # plugged in again: restored
    w.close()  # (saves the default; write the old layout again)
    _save("xcb", QRect(2100, 100, 1200, 800))
    assert make_window(None, wait_model=False).geometry() == QRect(2100, 100, 1200, 800)


def test_default_fits_a_small_screen(make_window, screens):
    small = QRect(0, 0, 1366, 728)
    screens[:] = [small]
    w = make_window(None, wait_model=False)
    assert layout.fits(w.geometry(), [small]) and w.width() < 1366


def test_maximised_state_restored(make_window, screens):
    _save("xcb", QRect(100, 100, 1200, 800), maximized=True)
    w = make_window(None, wait_model=False)
    assert w.isMaximized()


def test_reset_layout(make_window, screens, qtbot):
    fresh = make_window(None, wait_model=False)
    default_sizes = fresh.splitter.sizes()
    fresh.close()
    w = make_window(None, wait_model=False)
    toolbar = w.findChild(QToolBar, "mainToolbar")
    w.setGeometry(QRect(10, 10, 1000, 700))
    w.splitter.setSizes([100, 800, 100])
    toolbar.hide()
    view = next(a.menu() for a in w.menuBar().actions() if a.text() == "&View")
    reset = next(a for a in view.actions() if a.text() == "Reset layout")
    reset.trigger()
    assert w.geometry() == _default(w)
    assert w.splitter.sizes() == default_sizes
    assert toolbar.isVisible()


def test_reset_layout_on_the_second_screen(make_window, screens):
    second = QRect(1920, 0, 2560, 1400)
    screens.append(second)
    w = make_window(None, wait_model=False)
    w.setGeometry(QRect(2000, 50, 900, 700))
    w.reset_layout()
    assert w.geometry() == _default(w, second)


_APP = """
import json, sys
from PySide6.QtWidgets import QApplication
from ra_desktop.app import create_window
from ra_desktop.settings import Settings
app = QApplication(sys.argv[:1])
w = create_window(Settings(model_dir="/nonexistent/model"))
w.show(); app.processEvents()
g = w.geometry()
print(json.dumps([g.x(), g.y(), g.width(), g.height()]))
if sys.argv[1] == "shrink":
    w.setGeometry(0, 0, 893, 800); app.processEvents()
w.close(); app.processEvents()
"""


def test_an_offscreen_run_leaves_no_geometry_for_the_next_start(tmp_path):
    """End to end, as the report had it: an offscreen run (on a 1920x1080 offscreen screen) ends
    with a 893x800 window; the next start still opens at the default size."""
    config = tmp_path / "screens.json"
    config.write_text(json.dumps({"screens": [{"name": "big", "x": 0, "y": 0, "width": 1920, "height": 1080,
                                               "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.update(HOME=str(home), QT_QPA_PLATFORM=f"offscreen:configfile={config}",
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))

    def start(mode: str) -> list[int]:
        out = subprocess.run([sys.executable, "-c", _APP, mode], env=env, capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        return json.loads(out.stdout.strip().splitlines()[-1])

    start("shrink")
    x, y, w, h = start("look")
    assert (w, h) == (1600, 950) and QRect(0, 0, 1920, 1080).contains(QRect(x, y, w, h))


@pytest.mark.parametrize("rect, ok", [
    (QRect(0, 0, 1920, 1040), True), (QRect(100, 100, 800, 600), True), (QRect(-1, 0, 800, 600), False),
    (QRect(1500, 100, 800, 600), False), (QRect(0, 0, 0, 0), False)])
def test_fits(rect, ok):
    assert layout.fits(rect, [SCREEN]) is ok
    assert layout.fits(QRect(1800, 100, 400, 300), [SCREEN, QRect(1920, 0, 1280, 1024)])  # across two


def test_default_geometry_is_centred_and_nearly_the_whole_screen():
    g = layout.default_geometry(QRect(1920, 0, 2560, 1400))
    assert (g.width(), g.height()) == (int(2560 * layout.SCREEN_SHARE), int(1400 * layout.SCREEN_SHARE))
    assert g.center() == QRect(1920, 0, 2560, 1400).center()
    small = layout.default_geometry(QRect(0, 0, 1024, 700))
    assert QRect(0, 0, 1024, 700).contains(small)

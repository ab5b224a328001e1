"""The main window's layout: where it is kept, when it is restored, and the default for the screen.

Kept in ``paths.layout_settings_file()`` (``QSettings(path, IniFormat)``, never Qt's default
location): the window's normal geometry and maximised state, the panel splitter, the toolbar state,
and the Qt platform it was saved on. A saved geometry is used only if it lies within the screens
available now and came from a real display; otherwise the window opens at the default for the
screen. Runs without a display (the offscreen and minimal platforms: tests, benchmarks, headless
checks) never save a layout, and keep the fixed default size they have always had.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QByteArray, QPoint, QRect, QSettings, QSize, Qt
from PySide6.QtGui import QGuiApplication, QRegion
from PySide6.QtWidgets import QMainWindow, QSplitter

from ra_desktop import paths

log = logging.getLogger(__name__)

VERSION = 1
HEADLESS_PLATFORMS = frozenset({"offscreen", "minimal"})
DEFAULT_SIZE = QSize(1600, 950)  # without a display (offscreen tests and checks)
DEFAULT_SPLIT = (460, 820, 360)  # worklist | viewer | findings and score sheet, at DEFAULT_SIZE
SIDE_WIDTH = 360  # the findings' widest state (no verdict) whole beside its scroll bar
WORKLIST_MIN, WORKLIST_MAX = 300, 520  # a narrower table shows too little: it starts collapsed
IMAGE_SHARE = 0.6  # the image is the largest thing on screen: at least this share of the width
SCREEN_SHARE = 0.96  # the default window leaves a small margin of the screen's available area


def platform_name() -> str:
    return QGuiApplication.platformName()


def headless() -> bool:
    """True on a platform without a real display, whose geometry means nothing on a screen."""
    return platform_name() in HEADLESS_PLATFORMS


def screen_areas() -> list[QRect]:
    """Available geometry (without task bars) of each screen now, the primary one first."""
    primary = QGuiApplication.primaryScreen()
    screens = [primary] if primary is not None else []
    screens += [s for s in QGuiApplication.screens() if s is not primary]
    return [s.availableGeometry() for s in screens]


def fits(rect: QRect, areas: list[QRect]) -> bool:
    """``rect`` is non-empty and lies wholly within the screens' available areas."""
    if not rect.isValid() or not areas:
        return False
    outside = QRegion(rect)
    for area in areas:
        outside = outside.subtracted(QRegion(area))
    return outside.isEmpty()


def default_geometry(area: QRect, minimum: QSize | None = None) -> QRect:
    """The default window for a screen's available ``area``: nearly all of it (a reading room
    gives the image the screen), never below ``minimum``, centred."""
    w = int(area.width() * SCREEN_SHARE)
    h = int(area.height() * SCREEN_SHARE)
    if minimum is not None:
        w, h = max(w, minimum.width()), max(h, minimum.height())
    rect = QRect(0, 0, w, h)
    rect.moveCenter(area.center())
    return rect


def default_split(width: int) -> tuple[int, int, int]:
    """worklist | image | side panel for a window ``width`` px wide. The image keeps at least
    IMAGE_SHARE of the width; the worklist takes what is left up to WORKLIST_MAX and starts
    collapsed (View > Worklist, F2) when that is less than a useful table."""
    room = int(width * (1 - IMAGE_SHARE)) - SIDE_WIDTH - 24  # splitter handles, frames, margins
    worklist = min(WORKLIST_MAX, room) if room >= WORKLIST_MIN else 0
    return worklist, max(1, width - worklist - SIDE_WIDTH), SIDE_WIDTH


def apply_default_split(window: QMainWindow, splitter: QSplitter) -> None:
    splitter.setSizes(list(default_split(window.width())))


def _settings() -> QSettings:
    return QSettings(str(paths.layout_settings_file()), QSettings.Format.IniFormat)


def apply_default(window: QMainWindow, splitter: QSplitter, state: QByteArray | None = None) -> None:
    """The default window and panel layout (also View > Reset layout); ``state`` is the window's
    toolbar state as built, from ``saveState(VERSION)``."""
    if state is not None:
        window.restoreState(state, VERSION)
    if headless():
        window.resize(DEFAULT_SIZE)
        apply_default_split(window, splitter)
        return
    if window.windowState() & (Qt.WindowState.WindowMaximized | Qt.WindowState.WindowFullScreen):
        window.setWindowState(Qt.WindowState.WindowNoState)
    areas = screen_areas()
    # the screen the window is on (View > Reset layout), else the primary one
    here = [a for a in areas if a.contains(window.geometry().center())] if window.isVisible() else []
    area = (here or areas or [QRect(QPoint(0, 0), DEFAULT_SIZE)])[0]
    window.setGeometry(default_geometry(area, window.minimumSizeHint()))
    apply_default_split(window, splitter)


def restore(window: QMainWindow, splitter: QSplitter) -> bool:
    """Restore the saved layout if it fits the screens now; else the default. True if restored."""
    if headless():
        apply_default(window, splitter)
        return False
    s = _settings()
    rect = s.value("window/geometry")
    saved_on = s.value("window/platform", "")
    ok = (int(s.value("window/version", 0) or 0) == VERSION and isinstance(rect, QRect)
          and saved_on not in HEADLESS_PLATFORMS and fits(rect, screen_areas()))
    if not ok:
        if rect is not None:
            log.info("saved window layout not used (saved on %r, %s; screens now %s): default layout",
                     saved_on, rect, screen_areas())
        apply_default(window, splitter)
        return False
    window.setGeometry(rect)
    state = s.value("window/state")
    if state is not None:
        window.restoreState(state, VERSION)
    split = s.value("window/splitter")
    if split is None or not splitter.restoreState(split):
        apply_default_split(window, splitter)
    if s.value("window/maximized", False, type=bool):
        window.setWindowState(window.windowState() | Qt.WindowState.WindowMaximized)
    return True


def save(window: QMainWindow, splitter: QSplitter) -> bool:
    """Save the layout; never on a platform without a display. True if saved."""
    if headless():
        return False
    s = _settings()
    s.setValue("window/version", VERSION)
    s.setValue("window/platform", platform_name())
    s.setValue("window/geometry", window.normalGeometry() if window.isMaximized() else window.geometry())
    s.setValue("window/maximized", window.isMaximized())
    s.setValue("window/state", window.saveState(VERSION))
    s.setValue("window/splitter", splitter.saveState())
    s.sync()
    return s.status() == QSettings.Status.NoError

"""The app's stylesheets (resources/styles/<theme>.qss), applied at start and when the theme changes."""
from __future__ import annotations

import logging

from ra_desktop import paths

log = logging.getLogger(__name__)


def load_stylesheet(theme: str) -> str:
    qss = paths.resource("styles", f"{theme}.qss")
    try:
        return qss.read_text(encoding="utf-8")
    except OSError:
        log.warning("stylesheet %s missing", qss)
        return ""


def apply_theme(theme: str) -> None:
    """Switch the stylesheet of the running app (no restart)."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is not None:
        app.setStyleSheet(load_stylesheet(theme))

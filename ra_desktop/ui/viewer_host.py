"""The viewer the main window and the comparison window embed: ``ra_desktop.ui.viewer``'s
``ViewerWidget``."""
from __future__ import annotations

from ra_desktop.ui.viewer import ViewerWidget


def make_viewer(parent=None) -> ViewerWidget:
    return ViewerWidget(parent)

"""The radiograph viewer: ``ViewerWidget`` is the one public name."""
from ra_desktop.ui.viewer.widget import ViewerWidget

__all__ = ["ViewerWidget"]

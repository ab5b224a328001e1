"""Embeds the viewer engineer's ``ViewerWidget``; a minimal stand-in keeps the app usable
(and testable) while ``ra_desktop.ui.viewer`` is missing or fails to import."""
from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QSizePolicy

from ra_desktop.render import apply_window, auto_window, blend, colorize, to_uint8

log = logging.getLogger(__name__)


class PlaceholderViewer(QLabel):
    """Same API as ViewerWidget: fit-to-window image with one blended heat-map layer."""

    pixel_info = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("viewer")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.setMinimumSize(200, 200)
        self.radiograph = None
        self.window: tuple[float, float] | None = None
        self.layers: dict[str, tuple[np.ndarray | None, bool]] = {}
        self.visible = {"gradcam": True, "shap": False}
        self.opacity = {"gradcam": 0.45, "shap": 0.45}
        self.colormap = {"gradcam": "jet", "shap": "coolwarm"}
        self.clear()

    def set_radiograph(self, radiograph) -> None:
        self.radiograph = radiograph
        self.layers.clear()
        self.window = auto_window(radiograph.pixels)
        self._render()

    def set_window(self, center: float, width: float) -> None:
        self.window = (float(center), float(width))
        self._render()

    def clear(self) -> None:
        self.radiograph = None
        self.layers.clear()
        self.setPixmap(self.grab().__class__())  # empty pixmap
        self.setText("Open a case from the worklist")

    def set_layer(self, name: str, heatmap_values, signed: bool) -> None:
        self.layers[name] = (heatmap_values, signed)
        self._render()

    def set_seen_mask(self, mask) -> None:
        pass

    def set_ground_truth(self, gt) -> None:
        pass

    def set_layer_visible(self, name: str, visible: bool) -> None:
        self.visible[name] = bool(visible)
        self._render()

    def set_layer_opacity(self, name: str, opacity: float) -> None:
        self.opacity[name] = float(opacity)
        self._render()

    def set_layer_colormap(self, name: str, cmap: str) -> None:
        self.colormap[name] = cmap
        self._render()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._render()

    def _render(self) -> None:
        from ra_desktop.ui.qt_image import to_pixmap

        r = self.radiograph
        if r is None:
            return
        step = max(1, int(np.ceil(max(r.pixels.shape) / max(256, max(self.width(), self.height())))))
        grey = to_uint8(apply_window(r.pixels[::step, ::step], *self.window, r.inverted))
        out: np.ndarray = grey
        for name in ("gradcam", "shap"):
            values, signed = self.layers.get(name, (None, False))
            if values is not None and self.visible.get(name):
                rgba = colorize(values[::step, ::step], self.colormap[name], opacity=self.opacity[name], signed=signed)
                out = blend(out if out.ndim == 2 else out.mean(axis=2).astype(np.uint8), rgba)
        pm = to_pixmap(np.ascontiguousarray(out))
        self.setPixmap(pm.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation))


def make_viewer(parent=None):
    try:
        from ra_desktop.ui.viewer import ViewerWidget
    except ImportError as exc:
        log.info("viewer not available (%s); using the placeholder", exc)
        return PlaceholderViewer(parent)
    return ViewerWidget(parent)

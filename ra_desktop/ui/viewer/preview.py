"""A JPEG 2000 study's reduced-resolution preview in the viewer (ra_desktop.io.preview).

Only a picture: painted scaled up to the full image's geometry, so the fit, zoom and pan the reader
sets carry over when the full image replaces it. The viewer holds no radiograph meanwhile, so no
readout, window/level, measurement, marker or annotation reads or is placed on the preview's pixels.
"""
from __future__ import annotations

from PySide6 import QtCore, QtGui

from ra_desktop.render.window import WindowLut, display_ahead, opening_window
from ra_desktop.ui import qt_image
from ra_desktop.ui.viewer.view import ZoomMode

NOTE = "Preview at reduced resolution: decoding full resolution…"


def show(viewer, preview) -> None:
    """Paint ``preview`` (an io.preview.Preview) in ``viewer`` now, at the full image's geometry."""
    viewer.clear()
    r = preview.radiograph
    # The full image's opening window: the file's VOI LUT or window where it has one, else the
    # automatic window, here from the preview's pixels (approximate, for the preview only).
    c, w, lut = opening_window(r)
    invert = r.display_inverted
    grey = display_ahead(r.pixels, c, w, invert, r.voi_function, lut)  # rendered on the lane
    if grey is None:
        grey = WindowLut(r.pixels).render(c, w, invert, r.voi_function, lut)
    rows, cols = preview.full_shape
    item = viewer.image_item
    item.setPixmap(qt_image.to_pixmap(grey))
    item.setTransform(QtGui.QTransform.fromScale(cols / grey.shape[1], rows / grey.shape[0]))
    item.setTransformationMode(QtCore.Qt.TransformationMode.SmoothTransformation)  # scaled up: no blocks
    item.setVisible(True)
    viewer.view.tools_enabled = False  # pan and zoom only, until the full image
    viewer.view.set_image_rect(QtCore.QRectF(0, 0, cols, rows))
    viewer.view.reset_orientation()
    viewer.preview_shape = (rows, cols)
    viewer.readout.setText(NOTE)
    viewer.view.viewport().repaint()  # on screen before the lane's full decode takes the GIL


def hand_over(viewer, shape: tuple[int, int]):
    """Before the full image of ``shape`` replaces the preview: the view to keep (relative zoom and
    centre, None while it fits), or False when no preview of this image shows (a fresh open)."""
    if viewer.preview_shape != tuple(shape):
        return False
    return None if viewer.view.zoom_mode is ZoomMode.FIT else viewer.view.view_state()

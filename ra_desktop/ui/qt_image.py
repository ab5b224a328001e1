"""The single numpy ↔ QImage/QPixmap conversion point of the Qt layer.

Every QImage made here owns a copy of its bytes: a QImage built on a numpy buffer does not keep
the array alive, and a garbage-collected buffer under a live QImage is a crash that only shows
up later. The copy of a 5 MP grey image costs well under a millisecond.
"""
from __future__ import annotations

import numpy as np
from PySide6 import QtGui


def grey_to_qimage(grey: np.ndarray) -> QtGui.QImage:
    """H×W uint8 → Format_Grayscale8 QImage (deep copy)."""
    if grey.ndim != 2 or grey.dtype != np.uint8:
        raise ValueError(f"expected H×W uint8, got {grey.shape} {grey.dtype}")
    grey = np.ascontiguousarray(grey)
    h, w = grey.shape
    return QtGui.QImage(grey.data, w, h, grey.strides[0], QtGui.QImage.Format.Format_Grayscale8).copy()


def rgb_to_qimage(rgb: np.ndarray) -> QtGui.QImage:
    """H×W×3 uint8 → Format_RGB888 QImage (deep copy)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected H×W×3 uint8, got {rgb.shape} {rgb.dtype}")
    rgb = np.ascontiguousarray(rgb)
    h, w, _ = rgb.shape
    return QtGui.QImage(rgb.data, w, h, rgb.strides[0], QtGui.QImage.Format.Format_RGB888).copy()


def rgba_to_qimage(rgba: np.ndarray) -> QtGui.QImage:
    """H×W×4 uint8 (straight, not premultiplied alpha) → Format_RGBA8888 QImage (deep copy)."""
    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8:
        raise ValueError(f"expected H×W×4 uint8, got {rgba.shape} {rgba.dtype}")
    rgba = np.ascontiguousarray(rgba)
    h, w, _ = rgba.shape
    return QtGui.QImage(rgba.data, w, h, rgba.strides[0], QtGui.QImage.Format.Format_RGBA8888).copy()


def to_pixmap(array: np.ndarray) -> QtGui.QPixmap:
    """Grey (H×W), RGB (H×W×3) or RGBA (H×W×4) uint8 → QPixmap."""
    if array.ndim == 2:
        image = grey_to_qimage(array)
    elif array.shape[2] == 3:
        image = rgb_to_qimage(array)
    else:
        image = rgba_to_qimage(array)
    return QtGui.QPixmap.fromImage(image)


def qimage_to_array(image: QtGui.QImage) -> np.ndarray:
    """QImage → H×W×4 uint8 RGBA copy (for tests and screenshots)."""
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGBA8888)
    h, w = image.height(), image.width()
    buf = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes())
    return buf.reshape(h, image.bytesPerLine())[:, : w * 4].reshape(h, w, 4).copy()

"""Scene items: overlay layers, ground-truth outlines and distance measurements.

Every image-sized item sits at scene (0, 0) with no transform of its own, so image pixel (x, y)
is scene point (x, y) for all of them and zoom/rotate/flip come only from the view transform.
Text labels ignore transformations so they stay upright and readable when the view is rotated
or flipped.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from ra_desktop.render import overlay
from ra_desktop.ui import qt_image
from ra_desktop.ui.viewer import _display

_IGNORE = QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations

GT_COLOUR = QtGui.QColor(80, 255, 120)
MEASURE_COLOUR = QtGui.QColor(255, 230, 60)


class _Label(QtWidgets.QGraphicsSimpleTextItem):
    """Upright text on a dark box: legible over bright bone and over any heat map."""

    def paint(self, painter, option, widget=None) -> None:
        painter.fillRect(self.boundingRect().adjusted(-3, -1, 3, 1), QtGui.QColor(0, 0, 0, 170))
        super().paint(painter, option, widget)


def _label(text: str, colour: QtGui.QColor, parent: QtWidgets.QGraphicsItem) -> _Label:
    item = _Label(text, parent)
    item.setFlag(_IGNORE, True)
    font = item.font()
    font.setPointSizeF(9)
    item.setFont(font)
    item.setBrush(colour)
    return item


def _cosmetic_pen(colour: QtGui.QColor, width: float = 2.0, dashed: bool = False) -> QtGui.QPen:
    pen = QtGui.QPen(colour, width)
    pen.setCosmetic(True)  # constant on-screen width at any zoom
    if dashed:
        pen.setStyle(QtCore.Qt.PenStyle.DashLine)
    return pen


class OverlayLayer:
    """One heat-map layer: values kept as given, rendered to RGBA at full opacity by the shared
    renderer; the user's single layer opacity is the item's opacity (cheap to change)."""

    def __init__(self, name: str, values: np.ndarray, signed: bool, cmap: str, z: float) -> None:
        self.name = name
        self.values = values
        self.signed = signed
        self.cmap = cmap
        # Coloured on the inference lane when it knew this colour map (overlay.colour_ahead).
        self._ahead = pre = overlay.ahead(values)
        if pre is not None and pre.signed != signed:
            self._ahead = pre = None
        self.vmin, self.vmax = (pre.vmin, pre.vmax) if pre is not None else overlay.value_range(values, signed)
        self.item = QtWidgets.QGraphicsPixmapItem()
        self.item.setZValue(z)
        self.item.setTransformationMode(QtCore.Qt.TransformationMode.SmoothTransformation)
        self.render()

    def render(self) -> None:
        pre, self._ahead = self._ahead, None  # used once: the pixmap holds the picture from now on
        rgba = (pre.rgba if pre is not None and pre.cmap == self.cmap else
                overlay.colorize(self.values, self.cmap, self.vmin, self.vmax, opacity=1.0, signed=self.signed))
        self.item.setPixmap(qt_image.to_pixmap(rgba))


def lesion_mask_from(gt: dict) -> np.ndarray | None:
    """The optional lesion mask of a ground-truth dict, given as an array or a file path."""
    for key in ("lesion_mask", "lesion_mask_path", "mask", "mask_path"):
        value = gt.get(key)
        if value is None:
            continue
        if isinstance(value, np.ndarray):
            return value.astype(bool)
        path = Path(value)
        if path.suffix == ".npy":
            return np.load(path).astype(bool)
        from PIL import Image  # lazy: only educator cases carry a mask file

        with Image.open(path) as im:
            return np.asarray(im.convert("L")) > 0
    return None


def mask_contour(mask: np.ndarray, thickness: int = 1) -> np.ndarray:
    """The inner boundary band of a boolean mask, ``thickness`` pixels wide (4-neighbour erosion)."""
    inner = mask.copy()
    for _ in range(max(int(thickness), 1)):
        padded = np.pad(inner, 1, constant_values=False)
        inner = (padded[1:-1, 1:-1] & padded[:-2, 1:-1] & padded[2:, 1:-1]
                 & padded[1:-1, :-2] & padded[1:-1, 2:])
    return mask & ~inner


HATCH_COLOUR, HATCH_ALPHA, HATCH_PERIOD = (255, 200, 0), 70, 24


def _hatch_tile() -> QtGui.QImage:
    # One period of the stripes of overlay.unseen_mask_rgba: ((x + y) // 12) % 2 == 0 is tinted.
    tile = np.zeros((HATCH_PERIOD, HATCH_PERIOD, 4), np.uint8)
    yy, xx = np.mgrid[:HATCH_PERIOD, :HATCH_PERIOD]
    tile[((xx + yy) // (HATCH_PERIOD // 2)) % 2 == 0] = (*HATCH_COLOUR, HATCH_ALPHA)
    return qt_image.rgba_to_qimage(tile)


class UnseenHatchItem(QtWidgets.QGraphicsPathItem):
    """The image outside the box the model saw, hatched: a path and a tiled brush, not a full-size
    picture, so showing it costs the GUI thread nothing however large the image (a 5 MP RGBA
    hatch took ~30 ms to build and convert)."""

    def __init__(self, shape: tuple[int, int], box: tuple[int, int, int, int]) -> None:
        super().__init__()
        h, w = shape
        x0, y0, x1, y1 = box
        path = QtGui.QPainterPath()
        path.addRect(QtCore.QRectF(0, 0, w, h))
        if x1 > x0 and y1 > y0:
            inner = QtGui.QPainterPath()
            inner.addRect(QtCore.QRectF(x0, y0, x1 - x0, y1 - y0))
            path = path.subtracted(inner)
        self.setPath(path)
        self.setPen(QtGui.QPen(QtCore.Qt.PenStyle.NoPen))
        self.setBrush(QtGui.QBrush(_hatch_tile()))  # a texture brush scales with the view, as pixels did
        self.box = box


class GroundTruthItem(QtWidgets.QGraphicsItemGroup):
    """Educator mode: dashed circles around joints with severity ≥ 1, labelled "MCP2 · S2", plus
    lesion-mask contours when the ground truth has a mask."""

    def __init__(self, gt: dict, image_shape: tuple[int, int]) -> None:
        super().__init__()
        self.setZValue(30)
        self.circles: list[QtWidgets.QGraphicsEllipseItem] = []
        self.labels: list[QtWidgets.QGraphicsSimpleTextItem] = []
        for name, joint in sorted((gt.get("joints") or {}).items()):
            severity = joint.get("severity", 0) or 0
            if severity < 1:
                continue
            (cx, cy), r = joint["center"], float(joint["radius_px"])
            circle = QtWidgets.QGraphicsEllipseItem(cx - r, cy - r, 2 * r, 2 * r, self)
            circle.setPen(_cosmetic_pen(GT_COLOUR, 2.0, dashed=True))
            self.circles.append(circle)
            label = _label(f"{name} · S{severity:g}", GT_COLOUR, self)
            label.setPos(cx + r * 0.72, cy - r * 0.72)
            self.labels.append(label)
        self.contour: QtWidgets.QGraphicsPixmapItem | None = None
        mask = lesion_mask_from(gt)
        if mask is not None:
            if mask.shape != tuple(image_shape):
                raise ValueError(f"lesion mask shape {mask.shape} does not match the image {image_shape}")
            # ~1 screen pixel at "fit" zoom: a 1-pixel line would break up when scaled down.
            edge = mask_contour(mask, thickness=max(1, round(max(mask.shape) / 800)))
            rgba = np.zeros(mask.shape + (4,), dtype=np.uint8)
            rgba[edge] = (GT_COLOUR.red(), GT_COLOUR.green(), GT_COLOUR.blue(), 255)
            self.contour = QtWidgets.QGraphicsPixmapItem(qt_image.to_pixmap(rgba), self)
            self.contour.setTransformationMode(QtCore.Qt.TransformationMode.SmoothTransformation)
        for label in self.labels:
            label.setZValue(1)  # text above the outlines


class MeasurementItem(QtWidgets.QGraphicsLineItem):
    """A distance line in image coordinates with an upright label (mm with spacing, else px)."""

    def __init__(self, p0: QtCore.QPointF, spacing_mm: tuple[float, float] | None) -> None:
        super().__init__(QtCore.QLineF(p0, p0))
        self.spacing_mm = spacing_mm
        self.setZValue(40)
        self.setPen(_cosmetic_pen(MEASURE_COLOUR, 2.0))
        self.label = _label("", MEASURE_COLOUR, self)
        self.update_end(p0)

    def update_end(self, p1: QtCore.QPointF) -> None:
        line = QtCore.QLineF(self.line().p1(), p1)
        self.setLine(line)
        self.label.setText(self.text())
        self.label.setPos(line.center())

    def text(self) -> str:
        line = self.line()
        return _display.distance_text((line.x1(), line.y1()), (line.x2(), line.y2()), self.spacing_mm)

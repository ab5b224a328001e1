"""The viewer toolbar's icons, drawn with QPainter (no image files): light strokes for its dark bar.

Each icon is a few lines and arcs on a 32×32 canvas, scaled by Qt to the toolbar's icon size.
"""
from __future__ import annotations

import math

from PySide6 import QtCore, QtGui

INK = QtGui.QColor("#d8dade")
_SIZE = 32


def _arrow_head(p: QtGui.QPainter, tip: QtCore.QPointF, angle_deg: float, size: float = 6.0) -> None:
    """A filled arrow head at ``tip`` pointing along ``angle_deg`` (0 = right, 90 = down)."""
    a = math.radians(angle_deg)
    back = QtCore.QPointF(tip.x() - size * math.cos(a), tip.y() - size * math.sin(a))
    side = QtCore.QPointF(-math.sin(a) * size * 0.6, math.cos(a) * size * 0.6)
    p.setBrush(p.pen().color())
    p.drawPolygon(QtGui.QPolygonF([tip, back + side, back - side]))
    p.setBrush(QtCore.Qt.BrushStyle.NoBrush)


def _window_level(p):  # a grey ramp: contrast
    grad = QtGui.QLinearGradient(4, 0, 28, 0)
    grad.setColorAt(0, QtGui.QColor(20, 20, 20))
    grad.setColorAt(1, QtGui.QColor(240, 240, 240))
    p.setBrush(grad)
    p.drawRoundedRect(QtCore.QRectF(4, 8, 24, 16), 3, 3)


def _pan(p):  # four-way arrow
    p.drawLine(QtCore.QLineF(16, 5, 16, 27))
    p.drawLine(QtCore.QLineF(5, 16, 27, 16))
    for tip, ang in (((16, 3), -90), ((16, 29), 90), ((3, 16), 180), ((29, 16), 0)):
        _arrow_head(p, QtCore.QPointF(*tip), ang)


def _measure(p):  # a line with end ticks
    p.drawLine(QtCore.QLineF(6, 26, 26, 6))
    p.drawLine(QtCore.QLineF(2, 22, 10, 30))
    p.drawLine(QtCore.QLineF(22, 2, 30, 10))


def _markers(p):  # a target: ring and dot
    p.drawEllipse(QtCore.QPointF(16, 16), 10, 10)
    p.setBrush(p.pen().color())
    p.drawEllipse(QtCore.QPointF(16, 16), 3, 3)


def _clear(p):  # an X
    p.drawLine(QtCore.QLineF(8, 8, 24, 24))
    p.drawLine(QtCore.QLineF(24, 8, 8, 24))


def _invert(p):  # a circle, half filled
    p.drawEllipse(QtCore.QPointF(16, 16), 11, 11)
    p.setBrush(p.pen().color())
    p.drawPie(QtCore.QRectF(5, 5, 22, 22), 90 * 16, 180 * 16)


def _fit(p):  # four corner brackets
    for x, y, dx, dy in ((4, 4, 1, 1), (28, 4, -1, 1), (4, 28, 1, -1), (28, 28, -1, -1)):
        p.drawLine(QtCore.QLineF(x, y, x + 8 * dx, y))
        p.drawLine(QtCore.QLineF(x, y, x, y + 8 * dy))


def _one_to_one(p):
    font = QtGui.QFont()
    font.setPixelSize(15)
    font.setBold(True)
    p.setFont(font)
    p.drawText(QtCore.QRectF(0, 0, _SIZE, _SIZE), QtCore.Qt.AlignmentFlag.AlignCenter, "1:1")


def _rotate(clockwise: bool):
    def draw(p):
        rect = QtCore.QRectF(6, 6, 20, 20)
        # An open circle from the top, round to the left (ccw) or right (cw), arrow at the start.
        p.drawArc(rect, 90 * 16 + (20 * 16 if not clockwise else -20 * 16), (270 * 16) * (1 if not clockwise else -1))
        tip = QtCore.QPointF(16 + (4 if clockwise else -4), 6)
        _arrow_head(p, tip, 0 if clockwise else 180, 7)
    return draw


def _flip(p):  # two mirrored triangles about a dashed axis
    p.setBrush(p.pen().color())
    p.drawPolygon(QtGui.QPolygonF([QtCore.QPointF(13, 7), QtCore.QPointF(13, 25), QtCore.QPointF(3, 25)]))
    p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
    p.drawPolygon(QtGui.QPolygonF([QtCore.QPointF(19, 7), QtCore.QPointF(19, 25), QtCore.QPointF(29, 25)]))
    pen = QtGui.QPen(p.pen())
    pen.setStyle(QtCore.Qt.PenStyle.DashLine)
    pen.setWidthF(1.5)
    p.setPen(pen)
    p.drawLine(QtCore.QLineF(16, 2, 16, 30))


def _flip_v(p):
    p.translate(16, 16)
    p.rotate(90)
    p.translate(-16, -16)
    _flip(p)


def _loupe(p):
    p.drawEllipse(QtCore.QPointF(13, 13), 9, 9)
    pen = QtGui.QPen(p.pen())
    pen.setWidthF(4)
    p.setPen(pen)
    p.drawLine(QtCore.QLineF(20, 20, 28, 28))


def _reset(p):  # a counter-clockwise arrow round a dot
    p.drawArc(QtCore.QRectF(6, 6, 20, 20), 60 * 16, 300 * 16)
    _arrow_head(p, QtCore.QPointF(22, 6.5), 20, 7)
    p.setBrush(p.pen().color())
    p.drawEllipse(QtCore.QPointF(16, 16), 2, 2)


def _overlays(p):  # text lines in the four corners of a frame
    pen = QtGui.QPen(p.pen())
    pen.setWidthF(1.5)
    p.setPen(pen)
    p.drawRect(QtCore.QRectF(3, 3, 26, 26))
    pen.setWidthF(2.2)
    p.setPen(pen)
    for x in (6, 19):
        for y in (7, 11, 21, 25):
            p.drawLine(QtCore.QLineF(x, y, x + 7, y))


def _copy(p):  # two overlapping sheets
    p.drawRect(QtCore.QRectF(4, 4, 16, 18))
    p.setBrush(QtGui.QColor("#232529"))
    p.drawRect(QtCore.QRectF(12, 10, 16, 18))


def _export(p):  # a picture with an arrow out of it
    p.drawRect(QtCore.QRectF(3, 9, 20, 19))
    p.drawLine(QtCore.QLineF(6, 25, 11, 18))
    p.drawLine(QtCore.QLineF(11, 18, 15, 22))
    p.drawLine(QtCore.QLineF(15, 22, 20, 16))
    p.drawLine(QtCore.QLineF(17, 14, 28, 3))
    _arrow_head(p, QtCore.QPointF(29, 2), -45, 8)


def _layers(p):  # stacked sheets
    for dy in (0, 7, 14):
        poly = QtGui.QPolygonF([QtCore.QPointF(16, 4 + dy), QtCore.QPointF(29, 10 + dy),
                                QtCore.QPointF(16, 16 + dy), QtCore.QPointF(3, 10 + dy)])
        p.setBrush(QtGui.QColor("#232529"))
        p.drawPolygon(poly)


_DRAW = {"window": _window_level, "pan": _pan, "measure": _measure, "mark": _markers, "clear": _clear,
         "invert": _invert, "fit": _fit, "1:1": _one_to_one, "rot_ccw": _rotate(False), "rot_cw": _rotate(True),
         "flip": _flip, "flip_h": _flip, "flip_v": _flip_v, "loupe": _loupe, "reset": _reset,
         "overlays": _overlays, "copy": _copy, "copy_plain": _copy, "export": _export, "layers": _layers}
_cache: dict[str, QtGui.QIcon] = {}


def names() -> list[str]:
    return list(_DRAW)


def icon(name: str) -> QtGui.QIcon:
    """The icon called ``name`` in the ink colour (a checked button shows by its background)."""
    if name not in _cache:
        ico = QtGui.QIcon()
        for colour in (INK,):
            for size in (16, 32):
                pix = QtGui.QPixmap(_SIZE, _SIZE)
                pix.fill(QtCore.Qt.GlobalColor.transparent)
                p = QtGui.QPainter(pix)
                p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
                pen = QtGui.QPen(colour, 2.2)
                pen.setCapStyle(QtCore.Qt.PenCapStyle.RoundCap)
                pen.setJoinStyle(QtCore.Qt.PenJoinStyle.RoundJoin)
                p.setPen(pen)
                _DRAW[name](p)
                p.end()
                ico.addPixmap(pix.scaled(size, size, QtCore.Qt.AspectRatioMode.KeepAspectRatio,
                                         QtCore.Qt.TransformationMode.SmoothTransformation),
                              QtGui.QIcon.Mode.Normal)
        _cache[name] = ico
    return _cache[name]

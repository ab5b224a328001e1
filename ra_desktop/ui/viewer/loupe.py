"""A round magnifier that follows the cursor.

It re-renders the scene (not the screen pixels) through the view transform at ``factor`` times
the zoom, so it shows real image detail, honours rotate/flip, and includes the visible overlays.
"""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

SIZE = 180
OFFSET = 24  # keep the loupe beside the cursor, never under it


class Loupe(QtWidgets.QWidget):
    def __init__(self, view: QtWidgets.QGraphicsView) -> None:
        super().__init__(view.viewport())
        self._view = view
        self.factor = 3.0
        self.enabled_by_user = False
        self._center = QtCore.QPoint()
        self.setFixedSize(SIZE, SIZE)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.hide()

    def set_enabled(self, on: bool) -> None:
        self.enabled_by_user = on
        if not on:
            self.hide()

    def follow(self, pos: QtCore.QPoint) -> None:
        if not self.enabled_by_user:
            return
        self._center = QtCore.QPoint(pos)
        vp = self._view.viewport().rect()
        x = pos.x() + OFFSET if pos.x() + OFFSET + SIZE <= vp.right() else pos.x() - OFFSET - SIZE
        y = pos.y() + OFFSET if pos.y() + OFFSET + SIZE <= vp.bottom() else pos.y() - OFFSET - SIZE
        self.move(x, y)
        self.show()
        self.raise_()
        self.update()

    def refresh(self) -> None:
        if self.isVisible():
            self.update()

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        side = SIZE / self.factor
        source = QtCore.QRectF(self._center.x() - side / 2, self._center.y() - side / 2, side, side)
        # Render the scene into a pixmap first: QGraphicsView.render() resets the painter's clip,
        # so drawing it straight into the widget would fill the whole square, not the circle.
        lens = QtGui.QPixmap(SIZE, SIZE)
        lens.fill(QtGui.QColor(0, 0, 0))
        lens_painter = QtGui.QPainter(lens)
        self._view.render(lens_painter, QtCore.QRectF(0, 0, SIZE, SIZE), source.toRect(),
                          QtCore.Qt.AspectRatioMode.IgnoreAspectRatio)
        lens_painter.end()
        painter = QtGui.QPainter(self)
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        painter.setPen(QtCore.Qt.PenStyle.NoPen)
        painter.setBrush(QtGui.QBrush(lens))
        painter.drawEllipse(QtCore.QRectF(1, 1, SIZE - 2, SIZE - 2))
        painter.setPen(QtGui.QPen(QtGui.QColor(0, 180, 255, 160), 1))
        c = SIZE / 2
        painter.drawLine(QtCore.QPointF(c - 8, c), QtCore.QPointF(c + 8, c))
        painter.drawLine(QtCore.QPointF(c, c - 8), QtCore.QPointF(c, c + 8))
        painter.setPen(QtGui.QPen(QtGui.QColor(200, 200, 200), 2))
        painter.drawEllipse(QtCore.QRectF(1, 1, SIZE - 2, SIZE - 2))
        painter.drawText(QtCore.QRectF(0, SIZE - 22, SIZE, 16), QtCore.Qt.AlignmentFlag.AlignCenter,
                         f"{self.factor:g}×")
        painter.end()

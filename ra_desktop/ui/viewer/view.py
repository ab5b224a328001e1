"""The QGraphicsView: zoom/pan/rotate/flip in the view transform only, and mouse tools.

The view never touches pixels. Its transform is rebuilt from (zoom, rotation, flips) so the state
is explicit and the transform can always be explained to the reader (badge, corner text).
"""
from __future__ import annotations

import enum

from PySide6 import QtCore, QtGui, QtWidgets

from ra_desktop.ui.viewer.loupe import Loupe


class ZoomMode(enum.Enum):
    FIT = "fit"  # follows the viewport size
    MANUAL = "manual"


class Tool(enum.Enum):
    WINDOW = "window"  # left-drag: horizontal = width, vertical = level (Weasis/RadiAnt)
    PAN = "pan"
    MEASURE = "measure"
    MARK = "mark"  # joint markers of the scoring worksheet: click to place, drag to correct
    ANNOTATE = "annotate"  # the reader's annotations (viewer/annotations.py): draw, pick, drag


MIN_ZOOM, MAX_ZOOM = 0.02, 32.0
WHEEL_STEP = 1.25


class ImageView(QtWidgets.QGraphicsView):
    cursor_moved = QtCore.Signal(float, float)  # scene (= image) coordinates
    cursor_left = QtCore.Signal()
    window_drag = QtCore.Signal(int, int, bool)  # dx, dy since press (device px), started
    measure_point = QtCore.Signal(QtCore.QPointF, str)  # scene point, "start" | "move" | "end"
    mark_point = QtCore.Signal(QtCore.QPointF, str)  # the same, for the marker tool
    annotate_point = QtCore.Signal(QtCore.QPointF, str)  # the same, for the annotation tools
    tool_changed = QtCore.Signal()
    view_changed = QtCore.Signal()
    context_requested = QtCore.Signal(QtCore.QPoint)  # right click (or the menu key), viewport px

    def __init__(self, scene: QtWidgets.QGraphicsScene, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self.setBackgroundBrush(QtGui.QColor(0, 0, 0))
        self.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # We position the scene ourselves (zoom about cursor, fit); Qt's anchors would fight that.
        self.setTransformationAnchor(QtWidgets.QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QtWidgets.QGraphicsView.ViewportAnchor.NoAnchor)
        self.setViewportUpdateMode(QtWidgets.QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.setMouseTracking(True)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self.image_rect = QtCore.QRectF()
        self.zoom = 1.0
        self.rotation = 0
        self.flip_h = False
        self.flip_v = False
        self.zoom_mode = ZoomMode.FIT
        self.tool = Tool.WINDOW
        self.tools_enabled = True  # False while a preview shows: pan and zoom only
        self._space_down = False
        self._drag: tuple[str, QtCore.QPoint] | None = None
        self.loupe = Loupe(self)

    # ---- geometry -------------------------------------------------------------------------
    def set_image_rect(self, rect: QtCore.QRectF) -> None:
        self.image_rect = QtCore.QRectF(rect)
        # A generous scene margin lets the reader pan an edge to the centre and keeps the
        # scroll range non-empty, so zoom about the cursor is exact at any zoom.
        m = max(rect.width(), rect.height(), 1.0) * 4
        self.setSceneRect(rect.adjusted(-m, -m, m, m))

    def _apply(self) -> None:
        t = QtGui.QTransform()
        t.rotate(self.rotation)
        t.scale(-self.zoom if self.flip_h else self.zoom, -self.zoom if self.flip_v else self.zoom)
        self.setTransform(t)
        self.loupe.refresh()
        self.view_changed.emit()

    def _viewport_center_scene(self) -> QtCore.QPointF:
        return self.mapToScene(self.viewport().rect().center())

    def _keep(self, scene_pt: QtCore.QPointF, viewport_pt: QtCore.QPoint | QtCore.QPointF) -> None:
        """Scroll so that ``scene_pt`` lies under ``viewport_pt``."""
        delta = self.mapFromScene(scene_pt) - QtCore.QPointF(viewport_pt).toPoint()
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + delta.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + delta.y())

    def set_zoom(self, zoom: float, anchor: QtCore.QPoint | None = None) -> None:
        """Zoom keeping the scene point under ``anchor`` (viewport px; default the centre) fixed."""
        anchor = anchor if anchor is not None else self.viewport().rect().center()
        # mapToScene rounds to integers in Qt; use the exact inverse transform instead.
        inv, _ = self.viewportTransform().inverted()
        scene_pt = inv.map(QtCore.QPointF(anchor))
        self.zoom = min(max(zoom, MIN_ZOOM), MAX_ZOOM)
        self._apply()
        self._keep(scene_pt, anchor)
        self.view_changed.emit()

    def fit(self) -> None:
        self.zoom_mode = ZoomMode.FIT
        if self.image_rect.isEmpty():
            return
        vp = self.viewport().rect()
        w, h = self.image_rect.width(), self.image_rect.height()
        if self.rotation % 180:
            w, h = h, w
        self.zoom = max(min(vp.width() / w, vp.height() / h) * 0.98, MIN_ZOOM)
        self._apply()
        self._keep(self.image_rect.center(), vp.center())
        self.view_changed.emit()

    def _fit_zoom(self) -> float:
        vp = self.viewport().rect()
        w, h = max(self.image_rect.width(), 1.0), max(self.image_rect.height(), 1.0)
        if self.rotation % 180:
            w, h = h, w
        return max(min(vp.width() / w, vp.height() / h) * 0.98, MIN_ZOOM)

    def view_state(self) -> tuple[float, float, float]:
        """(zoom relative to fit, centre as fractions of the image width and height): what a linked
        view of another image copies, so the same part of the hand shows at the same size."""
        c, r = self._viewport_center_scene(), self.image_rect
        if r.isEmpty():
            return 1.0, 0.5, 0.5
        return self.zoom / self._fit_zoom(), (c.x() - r.left()) / r.width(), (c.y() - r.top()) / r.height()

    def set_view_state(self, relative_zoom: float, fx: float, fy: float) -> None:
        if self.image_rect.isEmpty():
            return
        self.zoom_mode = ZoomMode.MANUAL
        self.zoom = min(max(relative_zoom * self._fit_zoom(), MIN_ZOOM), MAX_ZOOM)
        self._apply()
        r = self.image_rect
        self.center_on(QtCore.QPointF(r.left() + fx * r.width(), r.top() + fy * r.height()))

    def center_on(self, scene_pt: QtCore.QPointF) -> None:
        self._keep(scene_pt, self.viewport().rect().center())
        self.view_changed.emit()

    def one_to_one(self) -> None:
        self.zoom_mode = ZoomMode.MANUAL
        center = self._viewport_center_scene()
        self.zoom = 1.0
        self._apply()
        self._keep(center, self.viewport().rect().center())

    def rotate_by(self, degrees: int) -> None:
        center = self._viewport_center_scene()
        self.rotation = (self.rotation + degrees) % 360
        self._reorient(center)

    def set_flip(self, horizontal: bool | None = None, vertical: bool | None = None) -> None:
        center = self._viewport_center_scene()
        if horizontal is not None:
            self.flip_h = horizontal
        if vertical is not None:
            self.flip_v = vertical
        self._reorient(center)

    def _reorient(self, center: QtCore.QPointF) -> None:
        if self.zoom_mode is ZoomMode.FIT:
            self.fit()
        else:
            self._apply()
            self._keep(center, self.viewport().rect().center())

    def reset_orientation(self) -> None:
        self.rotation, self.flip_h, self.flip_v = 0, False, False
        self.fit()

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.zoom_mode is ZoomMode.FIT:
            self.fit()

    # ---- input ----------------------------------------------------------------------------
    def wheelEvent(self, event: QtGui.QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if not steps:
            return
        self.zoom_mode = ZoomMode.MANUAL
        self.set_zoom(self.zoom * WHEEL_STEP ** steps, event.position().toPoint())
        event.accept()

    def _pan_requested(self, event: QtGui.QMouseEvent) -> bool:
        button = event.button()
        return (button == QtCore.Qt.MouseButton.MiddleButton
                or (button == QtCore.Qt.MouseButton.LeftButton and (self._space_down or self.tool is Tool.PAN)))

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:
        pos = event.position().toPoint()
        if self._pan_requested(event):
            self._drag = ("pan", pos)
            self.viewport().setCursor(QtCore.Qt.CursorShape.ClosedHandCursor)
        elif (event.button() == QtCore.Qt.MouseButton.LeftButton and not self.image_rect.isEmpty()
              and self.tools_enabled):
            if self.tool in (Tool.MEASURE, Tool.MARK, Tool.ANNOTATE):
                kind = self.tool.value
                self._drag = (kind, pos)
                self._point_signal(kind).emit(self._scene_f(pos), "start")
            else:
                self._drag = ("window", pos)
                self.window_drag.emit(0, 0, True)
        else:
            super().mousePressEvent(event)
            return
        event.accept()

    def _point_signal(self, kind: str) -> QtCore.SignalInstance:
        return {"measure": self.measure_point, "mark": self.mark_point, "annotate": self.annotate_point}[kind]

    def _scene_f(self, pos: QtCore.QPoint | QtCore.QPointF) -> QtCore.QPointF:
        inv, _ = self.viewportTransform().inverted()
        return inv.map(QtCore.QPointF(pos))

    def mouseMoveEvent(self, event: QtGui.QMouseEvent) -> None:
        pos = event.position().toPoint()
        scene = self._scene_f(event.position())
        self.cursor_moved.emit(scene.x(), scene.y())
        self.loupe.follow(pos)
        if self._drag is not None:
            kind, start = self._drag
            if kind == "pan":
                delta = pos - start
                self._drag = ("pan", pos)
                self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
                self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
                self.view_changed.emit()
            elif kind == "window":
                self.window_drag.emit(pos.x() - start.x(), pos.y() - start.y(), False)
            else:
                self._point_signal(kind).emit(scene, "move")
        event.accept()

    def mouseReleaseEvent(self, event: QtGui.QMouseEvent) -> None:
        if self._drag is not None:
            kind, _ = self._drag
            if kind in ("measure", "mark", "annotate"):
                self._point_signal(kind).emit(self._scene_f(event.position()), "end")
            self._drag = None
            self._update_cursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def contextMenuEvent(self, event: QtGui.QContextMenuEvent) -> None:
        self.context_requested.emit(event.pos())
        event.accept()

    def leaveEvent(self, event: QtCore.QEvent) -> None:
        self.loupe.hide()
        self.cursor_left.emit()
        super().leaveEvent(event)

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        if event.key() == QtCore.Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = True
            self._update_cursor()
            event.accept()
            return
        # Plain arrow keys belong to worklist navigation in the main window: let them bubble up
        # instead of scrolling the view (QAbstractScrollArea would eat them).
        if event.key() in (QtCore.Qt.Key.Key_Up, QtCore.Qt.Key.Key_Down,
                           QtCore.Qt.Key.Key_Left, QtCore.Qt.Key.Key_Right):
            event.ignore()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QtGui.QKeyEvent) -> None:
        if event.key() == QtCore.Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = False
            self._update_cursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def set_tool(self, tool: Tool) -> None:
        self.tool = tool
        self._update_cursor()
        self.tool_changed.emit()

    def _update_cursor(self) -> None:
        shape = {Tool.WINDOW: QtCore.Qt.CursorShape.ArrowCursor, Tool.PAN: QtCore.Qt.CursorShape.OpenHandCursor,
                 Tool.MEASURE: QtCore.Qt.CursorShape.CrossCursor,
                 Tool.MARK: QtCore.Qt.CursorShape.PointingHandCursor,
                 Tool.ANNOTATE: QtCore.Qt.CursorShape.CrossCursor}[self.tool]
        if self._space_down:
            shape = QtCore.Qt.CursorShape.OpenHandCursor
        self.viewport().setCursor(shape)

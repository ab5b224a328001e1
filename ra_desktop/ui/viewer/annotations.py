"""The reader's annotations on the image: arrow, text, angle, rectangular and elliptical ROI.

Each annotation is a scene item whose points are image pixels, so it follows zoom, pan, rotation
and flips exactly as the measurements do; pens are cosmetic, labels upright plain text, and an
arrow's head keeps its screen size and points along the arrow on screen. With an annotation tool
(the view's ANNOTATE tool) a press near a point of an annotation picks that point and a drag moves
it; a press on an annotation selects it and a drag moves it whole; a press elsewhere draws a new
one of the tool's kind: an arrow from tail to tip and a region corner to corner by dragging, an
angle by three clicks (first arm, vertex, second arm; or a drag for the first arm and a click),
a text by a click and typing it. A click on the selected text edits it. Values (angle, ROI mean/SD
/area of the modality pixels) follow every move. Nothing is stored here: ``created``, ``edited``
and ``deleted`` tell the controller.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from ra_desktop.measure.roi import annotation_value
from ra_desktop.ui.viewer.items import _cosmetic_pen, _label
from ra_desktop.ui.viewer.view import Tool

KINDS = ("arrow", "text", "angle", "roi_rect", "roi_ellipse")
ROI_KINDS = ("roi_rect", "roi_ellipse")
COLOUR = QtGui.QColor(255, 128, 230)  # apart from measurements (yellow), markers (blue), truth (green)
SELECTED_COLOUR = QtGui.QColor(255, 236, 120)
_IGNORE = QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations
_HANDLE_R = 5.0  # screen pixels
_PICK = 10.0  # screen pixels: a press this close to a point or a line picks it
_CLICK = 3.0  # screen pixels: less movement than this is a click
_HEAD = 13.0  # screen pixels: the arrow head's length
MAX_TEXT = 500  # characters, as the AnnotationBook keeps


def _one_line(text: str) -> str:
    return " ".join(text.split())[:MAX_TEXT]


def ask_text(parent: QtWidgets.QWidget, current: str) -> str | None:
    """The reader types an annotation's text; None when cancelled."""
    text, ok = QtWidgets.QInputDialog.getText(parent, "Annotation text", "Text (shown on the image and in the report):",
                                              text=current)
    return text if ok else None


class AnnotationItem(QtWidgets.QGraphicsPathItem):
    """One annotation: its outline in image pixels, an arrow head, an upright label."""

    def __init__(self, kind: str, points, text: str = "", ident: int | None = None) -> None:
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"no annotation kind {kind!r}")
        self.kind, self.text, self.ident = kind, text, ident
        self.points: list[tuple[float, float]] = [(float(x), float(y)) for x, y in points]
        self.value = ""
        self.setZValue(44)
        self.head: QtWidgets.QGraphicsPathItem | None = None
        if kind == "arrow":
            self.head = QtWidgets.QGraphicsPathItem(self)
            self.head.setFlag(_IGNORE, True)
            tri = QtGui.QPainterPath(QtCore.QPointF(0, 0))
            tri.lineTo(-_HEAD, -_HEAD * 0.4)
            tri.lineTo(-_HEAD, _HEAD * 0.4)
            tri.closeSubpath()
            self.head.setPath(tri)
        self.label = _label("", COLOUR, self)
        self.label.setZValue(1)
        self.set_selected(False)

    def set_selected(self, on: bool) -> None:
        self.selected = on
        colour = SELECTED_COLOUR if on else COLOUR
        self.setPen(_cosmetic_pen(colour, 2.5 if on else 1.8))
        if self.head is not None:
            self.head.setPen(_cosmetic_pen(colour, 1.0))
            self.head.setBrush(colour)
        self.label.setBrush(colour)

    def label_text(self) -> str:
        return self.text if self.kind == "text" else self.value

    def redraw(self, value: str) -> None:
        self.value = value
        p = [QtCore.QPointF(x, y) for x, y in self.points]
        path = QtGui.QPainterPath()
        if self.kind in ("arrow", "angle"):
            path.moveTo(p[0])
            for q in p[1:]:
                path.lineTo(q)
        elif self.kind in ROI_KINDS:
            rect = QtCore.QRectF(p[0], p[1]).normalized()
            path.addRect(rect) if self.kind == "roi_rect" else path.addEllipse(rect)
        self.setPath(path)
        self.label.setText(self.label_text())
        self.label.setVisible(bool(self.label.text()))
        if self.kind == "text":
            self.label.setPos(p[0])
        elif self.kind == "angle":
            self.label.setPos(p[1] if len(p) > 1 else p[0])
        elif self.kind in ROI_KINDS:
            self.label.setPos(max(p[0].x(), p[1].x()), max(p[0].y(), p[1].y()))


class _Handle(QtWidgets.QGraphicsRectItem):
    def __init__(self) -> None:
        super().__init__(-_HANDLE_R, -_HANDLE_R, 2 * _HANDLE_R, 2 * _HANDLE_R)
        self.setFlag(_IGNORE, True)
        self.setPen(_cosmetic_pen(SELECTED_COLOUR, 1.5))
        self.setBrush(QtGui.QColor(255, 236, 120, 80))
        self.setZValue(46)


def _segment_distance(p, a, b) -> float:
    ax, ay, bx, by, px, py = *a, *b, *p
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else min(max(((px - ax) * dx + (py - ay) * dy) / length2, 0.0), 1.0)
    return math.hypot(px - ax - t * dx, py - ay - t * dy)


def _roi_level(kind: str, pts, p) -> float:
    """Roughly the signed distance (image pixels) from ``p`` to a region's outline: < 0 inside."""
    (x0, x1), (y0, y1) = sorted((pts[0][0], pts[1][0])), sorted((pts[0][1], pts[1][1]))
    if kind == "roi_rect":
        dx, dy = max(x0 - p[0], p[0] - x1), max(y0 - p[1], p[1] - y1)
        return max(dx, dy) if dx <= 0 or dy <= 0 else math.hypot(dx, dy)
    a, b = max((x1 - x0) / 2, 1e-9), max((y1 - y0) / 2, 1e-9)
    r = math.hypot((p[0] - (x0 + a)) / a, (p[1] - (y0 + b)) / b)
    return (r - 1.0) * min(a, b)


class AnnotationLayer(QtCore.QObject):
    created = QtCore.Signal(object)  # AnnotationItem, complete
    edited = QtCore.Signal(object)  # AnnotationItem, moved or retyped (on release)
    deleted = QtCore.Signal(object)  # AnnotationItem, removed by the reader

    def __init__(self, scene: QtWidgets.QGraphicsScene, view) -> None:
        super().__init__(view)
        self.scene, self.view = scene, view
        self.items: list[AnnotationItem] = []
        self.selected: AnnotationItem | None = None
        self.kind = "arrow"  # what the annotation tool draws
        # Only where they are stored (the controller turns this on): a viewer without a case to keep
        # them with (the comparison window) never shows annotations that would silently vanish.
        self.editable = False
        self.pixels: np.ndarray | None = None
        self.spacing: tuple[float, float] | None = None
        self.ask_text: Callable[[QtWidgets.QWidget, str], str | None] = ask_text  # tests answer for the reader
        self.handles: list[_Handle] = []
        self._pending: AnnotationItem | None = None  # an angle waiting for its next click
        self._drag: tuple | None = None
        self._press = (0.0, 0.0)
        view.annotate_point.connect(self.on_point)
        view.cursor_moved.connect(self.on_hover)
        view.view_changed.connect(self._orient_heads)
        view.tool_changed.connect(self._tool_changed)

    # ---- content ---------------------------------------------------------------------------------
    def set_image(self, pixels: np.ndarray | None, spacing: tuple[float, float] | None) -> None:
        """The modality pixels the ROI statistics are taken from, and the spacing (row, col) in mm."""
        self.pixels, self.spacing = pixels, spacing

    def set_annotations(self, annotations) -> None:
        """Replace every annotation: (kind, points, text, id) each."""
        self.clear()
        for kind, points, text, ident in annotations:
            self._add(AnnotationItem(kind, points, text, ident))

    def set_kind(self, kind: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"no annotation kind {kind!r}; choose one of {', '.join(KINDS)}")
        if kind != self.kind:
            self.cancel_pending()
        self.kind = kind

    def reset(self) -> None:
        """No image: no annotations, no pixels."""
        self.clear()
        self.set_image(None, None)

    def clear(self) -> None:
        self.cancel_pending()
        self._drag = None
        self.select(None)
        for item in self.items:
            self.scene.removeItem(item)
        self.items = []

    def _add(self, item: AnnotationItem) -> AnnotationItem:
        self.scene.addItem(item)
        self.items.append(item)
        self._update(item)
        return item

    def _update(self, item: AnnotationItem) -> None:
        # ra_desktop.measure loads scipy (0.6 s): at the first annotation, not with the window

        item.redraw(annotation_value(item.kind, item.points, self.pixels, self.spacing))
        self._orient_head(item)
        if item is self.selected:
            self._place_handles()

    def _orient_head(self, item: AnnotationItem) -> None:
        if item.head is None:
            return
        (x0, y0), (x1, y1) = item.points
        t = self.view.transform()  # the direction on screen: rotation and flips included
        d = t.map(QtCore.QPointF(x1, y1)) - t.map(QtCore.QPointF(x0, y0))
        item.head.setPos(x1, y1)
        item.head.setRotation(math.degrees(math.atan2(d.y(), d.x())))
        item.head.setVisible(math.hypot(d.x(), d.y()) > 0.5)

    def _orient_heads(self) -> None:
        for item in self.items:
            self._orient_head(item)

    def select(self, item: AnnotationItem | None) -> None:
        if self.selected is not None and self.selected is not item:
            self.selected.set_selected(False)
        self.selected = item
        if item is not None:
            item.set_selected(True)
        self._place_handles()

    def _place_handles(self) -> None:
        for h in self.handles:
            self.scene.removeItem(h)
        self.handles = []
        if self.selected is None:
            return
        for x, y in self.selected.points:
            h = _Handle()
            h.setPos(x, y)
            self.scene.addItem(h)
            self.handles.append(h)

    def discard(self, item: AnnotationItem) -> None:
        """Take an annotation off the image without a ``deleted`` signal (it could not be stored)."""
        if item in self.items:
            if item is self.selected:
                self.select(None)
            self.items.remove(item)
            self.scene.removeItem(item)

    def delete_selected(self) -> bool:
        """Remove the selected annotation (the Delete key); False when none is selected."""
        item = self.selected
        if item is None:
            return False
        self.select(None)
        self.scene.removeItem(item)
        self.items.remove(item)
        self.deleted.emit(item)
        return True

    def cancel_pending(self) -> None:
        """Drop an angle still waiting for clicks (another tool, Escape, another image)."""
        if self._pending is not None:
            item, self._pending = self._pending, None
            if item in self.items:
                self.items.remove(item)
                self.scene.removeItem(item)
            if self._drag and self._drag[1] is item:
                self._drag = None

    def _tool_changed(self) -> None:
        if self.view.tool is not Tool.ANNOTATE:
            self.cancel_pending()

    # ---- the mouse ---------------------------------------------------------------------------------
    def _scale(self) -> float:
        t = self.view.transform()
        return max(math.hypot(t.m11(), t.m12()), 1e-6)  # screen pixels per image pixel

    def _screen_rect(self, label: QtWidgets.QGraphicsItem) -> QtCore.QRectF:
        return label.deviceTransform(self.view.viewportTransform()).mapRect(label.boundingRect())

    def _hit(self, pt: QtCore.QPointF) -> tuple[AnnotationItem, int | None] | None:
        """The annotation (and its point, if one) under ``pt``; the selected one first."""
        tol = _PICK / self._scale()
        p = (pt.x(), pt.y())
        order = sorted(reversed(self.items), key=lambda i: i is not self.selected)
        for item in order:
            for k, q in enumerate(item.points):
                if math.hypot(q[0] - p[0], q[1] - p[1]) <= tol:
                    return item, k
        screen = self.view.viewportTransform().map(pt)
        for item in order:  # on a line or an outline, or on the label
            pts = item.points
            if item.kind in ("arrow", "angle") and any(_segment_distance(p, a, b) <= tol for a, b in zip(pts, pts[1:])):
                return item, None
            if item.kind in ROI_KINDS and abs(_roi_level(item.kind, pts, p)) <= tol:
                return item, None
            if item.label.isVisible() and self._screen_rect(item.label).contains(screen):
                return item, None
        for item in order:  # inside a region
            if item.kind in ROI_KINDS and _roi_level(item.kind, item.points, p) < 0:
                return item, None
        return None

    def on_point(self, pt: QtCore.QPointF, phase: str) -> None:
        """The annotation tool's press ("start"), drag ("move") and release ("end"), in image pixels."""
        p = (pt.x(), pt.y())
        if not self.editable:
            return
        if phase == "start":
            self._press = p
            if self._pending is not None:
                self._pending.points[-1] = p
                self._update(self._pending)
                self._drag = ("new", self._pending)
                return
            hit = self._hit(pt)
            if hit is not None:
                item, k = hit
                was_selected = item is self.selected
                self.select(item)
                self._drag = ("point", item, k, list(item.points), was_selected) if k is not None else \
                    ("move", item, None, list(item.points), was_selected)
                return
            self.select(None)
            if self.kind == "text":
                self._drag = ("text", None)
                return
            item = self._add(AnnotationItem(self.kind, [p, p]))
            self._drag = ("new", item)
            return
        if self._drag is None:
            return
        what, item = self._drag[0], self._drag[1]
        moved = math.hypot(p[0] - self._press[0], p[1] - self._press[1]) * self._scale() >= _CLICK
        if what == "new":
            item.points[-1] = p
            self._update(item)
            if phase == "end":
                self._drag = None
                self._placed(item)
        elif what in ("point", "move"):
            _, _, k, before, was_selected = self._drag
            if moved or phase == "move":
                dx, dy = p[0] - self._press[0], p[1] - self._press[1]
                item.points = [p if i == k else q for i, q in enumerate(before)] if what == "point" else \
                    [(x + dx, y + dy) for x, y in before]
                self._update(item)
            if phase == "end":
                self._drag = None
                if item.points != before:
                    self.edited.emit(item)
                elif item.kind == "text" and was_selected and not moved:
                    self._retype(item)
        elif what == "text" and phase == "end":
            self._drag = None
            text = self.ask_text(self.view, "")
            if text and text.strip():
                item = self._add(AnnotationItem("text", [self._press], _one_line(text)))
                self.select(item)
                self.created.emit(item)

    def _placed(self, item: AnnotationItem) -> None:
        """A drawing gesture ended: finish the annotation, wait for the angle's next click, or drop
        a click that drew nothing."""
        pts, tol = item.points, _CLICK / self._scale()
        last_moved = math.hypot(pts[-1][0] - pts[-2][0], pts[-1][1] - pts[-2][1]) >= tol
        if item.kind == "angle":
            if not last_moved:  # a click: the point follows the cursor until the next click
                self._pending = item
                return
            if len(pts) == 2:
                pts.append(pts[-1])
                self._pending = item
                self._update(item)
                return
            self._pending = None
        elif not last_moved:
            self.items.remove(item)
            self.scene.removeItem(item)
            return
        self.select(item)
        self.created.emit(item)

    def on_hover(self, x: float, y: float) -> None:
        if self._pending is not None and self._drag is None:
            self._pending.points[-1] = (x, y)
            self._update(self._pending)

    def _retype(self, item: AnnotationItem) -> None:
        text = self.ask_text(self.view, item.text)
        if text is None or not text.strip() or _one_line(text) == item.text:
            return
        item.text = _one_line(text)
        self._update(item)
        self.edited.emit(item)

    def retype_selected(self) -> None:
        if self.selected is not None and self.selected.kind == "text":
            self._retype(self.selected)


TOOL_MENU = (("arrow", "Arrow", "A"), ("text", "Text", "T"), ("angle", "Angle", "G"),
             ("roi_rect", "Rectangle ROI", "B"), ("roi_ellipse", "Ellipse ROI", "E"))


def _tool_icon() -> QtGui.QIcon:
    pix = QtGui.QPixmap(18, 18)
    pix.fill(QtCore.Qt.GlobalColor.transparent)
    p = QtGui.QPainter(pix)
    p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    p.setPen(QtGui.QPen(QtGui.QColor("#d8dade"), 1.6))
    p.drawLine(QtCore.QPointF(3, 15), QtCore.QPointF(14, 4))
    p.setBrush(QtGui.QColor("#d8dade"))
    p.drawPolygon(QtGui.QPolygonF([QtCore.QPointF(15, 3), QtCore.QPointF(9, 5), QtCore.QPointF(13, 9)]))
    p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
    p.drawEllipse(QtCore.QRectF(2, 2, 6, 5))
    p.end()
    return QtGui.QIcon(pix)


def add_tool_button(viewer) -> QtGui.QAction:
    """The toolbar's "Annotate" tool (beside the marker tool) with a menu of the five kinds."""
    bar, actions = viewer.toolbar, viewer.actions
    keys = ", ".join(f"{title.lower()} ({key})" for _k, title, key in TOOL_MENU)
    act = QtGui.QAction(_tool_icon(), "Annotate", bar)
    act.setToolTip(f"Annotations: {keys}; drag a point to edit, click the selected text to retype it, "
                   "Delete removes the selected one")
    act.setCheckable(True)
    act.triggered.connect(lambda: viewer.use_annotation_tool(viewer.annotations.kind))
    actions["window"].actionGroup().addAction(act)
    bar.insertAction(actions["clear"], act)
    actions["annotate"] = act
    menu = QtWidgets.QMenu(bar)
    for kind, title, key in TOOL_MENU:
        menu.addAction(f"{title}\t{key}", lambda k=kind: viewer.use_annotation_tool(k))
    button = bar.widgetForAction(act)
    if isinstance(button, QtWidgets.QToolButton):
        button.setMenu(menu)
        button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.MenuButtonPopup)
    return act

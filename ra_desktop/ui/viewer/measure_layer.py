"""Radiogrammetry on the image: measurement regions, periosteal and endosteal edges of MC2-4,
joint space lines at the MCPs (and PIPs), and the handles the reader drags: a bone's two ends, or
a joint's two points (the first on the joint, the second on the finger beyond it).

Everything lives in the scene (image pixels), so it follows zoom, pan, rotation and flips; pens
are cosmetic and labels upright. A rejected result is drawn without its edges and labelled
"not valid", never with a number. With ``editing`` on (the viewer's marker tool), a press near a
handle picks it and a drag moves it: ``end_moved`` reports every move ("move") and the release
("end"), so the caller measures again while the reader drags. Only the site being edited
(``edit_site``: a bone or a joint) shows handles.
"""
from __future__ import annotations

import math

from PySide6 import QtCore, QtGui, QtWidgets

from ra_desktop.ui.viewer.items import _cosmetic_pen, _label

OUTER_COLOUR = QtGui.QColor(255, 170, 40)  # periosteal edges
INNER_COLOUR = QtGui.QColor(80, 220, 255)  # endosteal edges
REGION_COLOUR = QtGui.QColor(255, 255, 255, 150)
JOINT_COLOUR = QtGui.QColor(140, 255, 120)
INVALID_COLOUR = QtGui.QColor(255, 90, 90)
HANDLE_COLOUR = QtGui.QColor(255, 230, 60)
_HANDLE_R = 6.0  # screen pixels
_PICK = 16.0  # screen pixels


def _path(points) -> QtGui.QPainterPath:
    path = QtGui.QPainterPath()
    for i, (x, y) in enumerate(points):
        (path.lineTo if i else path.moveTo)(QtCore.QPointF(x, y))
    return path


def _fmt(v: float | None, unit: str) -> str:
    return "—" if v is None else (f"{v:.2f} mm" if unit == "mm" else f"{v:.1f} px")


class _Handle(QtWidgets.QGraphicsEllipseItem):
    def __init__(self, parent) -> None:
        super().__init__(-_HANDLE_R, -_HANDLE_R, 2 * _HANDLE_R, 2 * _HANDLE_R, parent)
        self.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.setPen(_cosmetic_pen(HANDLE_COLOUR, 2.0))
        self.setBrush(QtGui.QColor(255, 230, 60, 90))
        self.setZValue(2)


class MeasureLayer(QtCore.QObject):
    end_moved = QtCore.Signal(str, object, str)  # site (bone or joint), ((x, y), (x, y)), "move" | "end"

    def __init__(self, scene: QtWidgets.QGraphicsScene, view: QtWidgets.QGraphicsView) -> None:
        super().__init__(view)
        self.view = view
        self.group = QtWidgets.QGraphicsItemGroup()
        self.group.setZValue(45)
        scene.addItem(self.group)
        self.hand = None
        self.selected: str | None = None
        self.editing = False
        self.edit_site: str | None = None  # whose handles are shown while editing (else ``selected``)
        self.selected_joint: str | None = None
        self.joint_reach = 80.0  # px from a joint to its second handle when no point was given
        self.ends: dict[str, list[tuple[float, float]]] = {}  # site -> its two handles' positions
        self.handles: dict[tuple[str, int], _Handle] = {}
        self._drawn: list[QtWidgets.QGraphicsItem] = []
        self._drag: tuple[str, int] | None = None

    # ---- content ---------------------------------------------------------------------------------
    def set_result(self, hand, selected: str | None = None, joint: str | None = None) -> None:
        """Draw ``hand`` (a HandResult, or None to clear); bone ends come from each bone's result,
        a joint's points from its centre and the point given beyond it (else along its axis)."""
        self.hand = hand
        self.selected = selected
        self.selected_joint = joint
        dragged = {self._drag[0]: self.ends[self._drag[0]]} if self._drag and self._drag[0] in self.ends else {}
        placed = {k: v for k, v in self.ends.items() if hand is not None and k in hand.joints}
        self.ends = {k: [tuple(b.ends[0]), tuple(b.ends[1])] for k, b in (hand.bones.items() if hand else ())
                     if b.ends}
        for k, j in (hand.joints.items() if hand else ()):
            if j.centre is None or not all(map(math.isfinite, j.centre)):
                continue
            if j.toward is not None:
                self.ends[k] = [tuple(j.centre), tuple(j.toward)]
            elif k in placed and tuple(placed[k][0]) == tuple(j.centre):
                self.ends[k] = placed[k]  # the reader's second point, as long as the joint stays where it was
            elif j.axis is not None:
                cx, cy = j.centre
                self.ends[k] = [(cx, cy), (cx + j.axis[0] * self.joint_reach, cy + j.axis[1] * self.joint_reach)]
        self.ends.update(dragged)  # a result computed for an earlier position does not move the handle back
        self._redraw()

    def set_bone_ends(self, bone: str, ends) -> None:
        """Place a bone's handles (a bone without ends, or the reader's start)."""
        self.ends[bone] = [tuple(ends[0]), tuple(ends[1])]
        self._redraw()

    def set_visible(self, on: bool) -> None:
        self.group.setVisible(on)

    def set_editing(self, on: bool, site: str | None = None) -> None:
        """Handles on (for ``site``, else the selected bone) or off."""
        self.editing = bool(on)
        self.edit_site = site if on else None
        self._redraw()

    def clear(self) -> None:
        self.set_result(None)

    def _add(self, item: QtWidgets.QGraphicsItem) -> QtWidgets.QGraphicsItem:
        self.group.addToGroup(item)
        self._drawn.append(item)
        return item

    def _remove_all(self) -> None:
        for item in self._drawn:
            self.group.removeFromGroup(item)
            if item.scene() is not None:
                item.scene().removeItem(item)
        self._drawn, self.handles = [], {}

    def _redraw(self) -> None:
        self._remove_all()
        hand = self.hand
        if hand is None:
            return
        for name, b in hand.bones.items():
            self._draw_bone(name, b, hand.unit)
        for name, j in hand.joints.items():
            self._draw_joint(name, j)
        if self.editing:
            for name, (a, b) in self.ends.items():
                target = self.edit_site or self.selected
                if target is not None and name != target:
                    continue
                for k, p in enumerate((a, b)):
                    h = self._add(_Handle(None))
                    h.setPos(*p)
                    self.handles[(name, k)] = h
                line = self._add(QtWidgets.QGraphicsLineItem(a[0], a[1], b[0], b[1]))
                line.setPen(_cosmetic_pen(HANDLE_COLOUR, 1.0, dashed=True))

    def _draw_bone(self, name: str, b, unit: str) -> None:
        width = 2.5 if name == self.selected else 1.5
        ends = self.ends.get(name)
        if not b.valid:
            if ends:
                (ax, ay), (bx, by) = ends
                line = self._add(QtWidgets.QGraphicsLineItem(ax, ay, bx, by))
                line.setPen(_cosmetic_pen(INVALID_COLOUR, width, dashed=True))
                label = self._add(_label(f"{name}: not valid", INVALID_COLOUR, None))
                label.setPos((ax + bx) / 2, (ay + by) / 2)
            return
        if b.edges:
            for side in (0, 1):
                for attr, colour in (("outer", OUTER_COLOUR), ("inner", INNER_COLOUR)):
                    item = self._add(QtWidgets.QGraphicsPathItem(_path([getattr(e, attr)[side] for e in b.edges])))
                    item.setPen(_cosmetic_pen(colour, width))
            first, last = b.edges[0], b.edges[-1]
            box = [first.outer[0], first.outer[1], last.outer[1], last.outer[0], first.outer[0]]
            region = self._add(QtWidgets.QGraphicsPathItem(_path(box)))
            region.setPen(_cosmetic_pen(REGION_COLOUR, 1.0, dashed=True))
            x, y = max(box[:4], key=lambda p: p[0])
            label = self._add(_label(f"{name} MCI {b.MCI:.3f}", OUTER_COLOUR, None))
            label.setPos(x + 4, y)

    def _draw_joint(self, name: str, j) -> None:
        if not j.valid and j.source == "manual" or not j.valid and name == self.edit_site:
            ends = self.ends.get(name)  # the reader's rejected placement: where, and that it has no value
            if ends:
                label = self._add(_label(f"{name}: not valid", INVALID_COLOUR, None))
                label.setPos(ends[0][0] + 4, ends[0][1] - 14)
            return
        if not j.valid or not j.lines:
            return
        width = 2.5 if name in (self.selected_joint, self.edit_site) else 1.5
        for a, b in j.lines:
            item = self._add(QtWidgets.QGraphicsLineItem(a[0], a[1], b[0], b[1]))
            item.setPen(_cosmetic_pen(JOINT_COLOUR, width))
        x, y = j.lines[-1][1]
        label = self._add(_label(f"{name} {_fmt(j.minimum, j.unit)}", JOINT_COLOUR, None))
        label.setPos(x + 4, y - 14)

    # ---- dragging the handles (the viewer's marker tool) ----------------------------------------------
    def _nearest(self, pt: QtCore.QPointF) -> tuple[str, int] | None:
        t = self.view.transform()
        scale = max(abs(t.m11()) + abs(t.m12()), 1e-6)
        best, best_d = None, (_PICK / scale) ** 2
        for key, h in self.handles.items():
            d = (h.pos().x() - pt.x()) ** 2 + (h.pos().y() - pt.y()) ** 2
            if d <= best_d:
                best, best_d = key, d
        return best

    def on_mark(self, pt: QtCore.QPointF, phase: str) -> None:
        if not self.editing or not self.group.isVisible():
            return
        if phase == "start":
            self._drag = self._nearest(pt)
            return
        if self._drag is None:
            return
        bone, k = self._drag
        self.ends[bone][k] = (pt.x(), pt.y())
        self.handles[(bone, k)].setPos(pt)
        if phase == "end":
            self._drag = None
        a, b = self.ends[bone]
        if math.hypot(a[0] - b[0], a[1] - b[1]) > 0:
            self.end_moved.emit(bone, (a, b), phase)

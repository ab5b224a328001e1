"""Joint markers on the image: one labelled dot per scored site, placed and dragged by the reader.

Markers live in the scene, whose coordinates are image pixels, so they follow zoom, pan,
rotation and flips exactly; each draws at a constant screen size and stays upright. With the
marker tool, a press near a marker picks it (and a drag moves it); a press elsewhere puts the
selected site's marker there. Every change is reported on release, as image coordinates.
"""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from ra_desktop.ui.viewer.items import _cosmetic_pen, _label

MARKER_COLOUR = QtGui.QColor(60, 200, 255)
SELECTED_COLOUR = QtGui.QColor(255, 210, 40)
_RADIUS = 6.0  # screen pixels
_PICK = 14.0  # screen pixels: a press this close to a marker picks it


class _Marker(QtWidgets.QGraphicsItemGroup):
    def __init__(self, site: str, text: str) -> None:
        super().__init__()
        self.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.site = site
        self.dot = QtWidgets.QGraphicsEllipseItem(-_RADIUS, -_RADIUS, 2 * _RADIUS, 2 * _RADIUS, self)
        self.label = _label(text, MARKER_COLOUR, self)
        self.label.setPos(_RADIUS + 2, -_RADIUS - 12)
        self.set_selected(False)

    def set_selected(self, on: bool) -> None:
        colour = SELECTED_COLOUR if on else MARKER_COLOUR
        self.dot.setPen(_cosmetic_pen(colour, 2.5 if on else 1.5))
        self.dot.setBrush(QtGui.QColor(colour.red(), colour.green(), colour.blue(), 90))
        self.label.setBrush(colour)
        self.setZValue(1 if on else 0)


class MarkerLayer(QtCore.QObject):
    placed = QtCore.Signal(str, float, float)  # site, image x, image y
    picked = QtCore.Signal(str)  # a press on a marker without moving it

    def __init__(self, scene: QtWidgets.QGraphicsScene, view: QtWidgets.QGraphicsView) -> None:
        super().__init__(view)
        self.view = view
        self.group = QtWidgets.QGraphicsItemGroup()
        self.group.setZValue(40)
        self.group.setHandlesChildEvents(False)
        scene.addItem(self.group)
        self.items: dict[str, _Marker] = {}
        self.selected: str | None = None
        self.editable = True  # False: a press only picks (the comparison view)
        self._drag: tuple[str, bool] | None = None  # (site, moved)

    def set_markers(self, markers: dict[str, tuple[float, float]], texts: dict[str, str] | None = None) -> None:
        """Replace every marker: site -> (x, y) in image pixels; ``texts`` labels them."""
        for item in self.items.values():
            self.group.removeFromGroup(item)
            item.scene() and item.scene().removeItem(item)
        self.items = {}
        for site, (x, y) in markers.items():
            item = _Marker(site, (texts or {}).get(site, site))
            item.setPos(x, y)
            self.group.addToGroup(item)
            self.items[site] = item
        self.set_selected(self.selected)

    def positions(self) -> dict[str, tuple[float, float]]:
        return {s: (i.pos().x(), i.pos().y()) for s, i in self.items.items()}

    def set_selected(self, site: str | None) -> None:
        self.selected = site
        for s, item in self.items.items():
            item.set_selected(s == site)

    def set_visible(self, on: bool) -> None:
        self.group.setVisible(on)

    def _nearest(self, pt: QtCore.QPointF) -> str | None:
        scale = max(abs(self.view.transform().m11()) + abs(self.view.transform().m12()), 1e-6)
        best, best_d = None, (_PICK / scale) ** 2
        for site, item in self.items.items():
            d = (item.pos().x() - pt.x()) ** 2 + (item.pos().y() - pt.y()) ** 2
            if d <= best_d:
                best, best_d = site, d
        return best

    def on_mark(self, pt: QtCore.QPointF, phase: str) -> None:
        """The marker tool's press ("start"), drag ("move") and release ("end"), in image pixels."""
        if phase == "start":
            site = self._nearest(pt)
            if site is None and self.selected is not None and self.group.isVisible() and self.editable:
                site = self.selected  # put the selected site here (new, or moved by a click)
                if site not in self.items:
                    self.set_markers({**self.positions(), site: (pt.x(), pt.y())},
                                     {s: i.label.text() for s, i in self.items.items()})
                self.items[site].setPos(pt)
                self._drag = (site, True)
            elif site is not None:
                self._drag = (site, False)
                self.set_selected(site)
            return
        if self._drag is None:
            return
        site, moved = self._drag
        if phase == "move":
            if not self.editable:
                return
            self.items[site].setPos(pt)
            self._drag = (site, True)
            return
        self._drag = None
        if moved:
            pos = self.items[site].pos()
            self.placed.emit(site, pos.x(), pos.y())
        self.picked.emit(site)

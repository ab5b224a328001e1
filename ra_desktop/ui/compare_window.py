"""Two studies side by side: current against prior, or left hand against right.

Zoom, pan and window/level can be linked; a joint picked on one side (its marker) centres the
same joint on the other; "Swap" exchanges the sides and "Flip left image" mirrors it for display
only, so a left hand lines up with a right one (the L/R badge says it is mirrored). Below, the
progression between the two score sheets of one hand, per area and per year. Images load off the
GUI thread.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, Qt, QThread, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QHBoxLayout, QHeaderView, QLabel, QPushButton, QSplitter, QTableWidget,
    QTableWidgetItem, QVBoxLayout, QWidget,
)

from ra_desktop.errors import ImageLoadError
from ra_desktop.io import load_radiograph
from ra_desktop.scoring.progression import progression
from ra_desktop.scoring.svdh import short_label
from ra_desktop.ui.plain import plain_children
from ra_desktop.ui.viewer._toolbar import scope_shortcuts_to_viewer
from ra_desktop.ui.viewer_host import make_viewer
from ra_desktop.worklist import CaseRow
from ra_desktop.worklist.scores import ScoreBook


class _Load(QThread):
    done = Signal(object, str)  # radiograph or None, error text

    def __init__(self, path: str, parent=None) -> None:
        super().__init__(parent)
        self.path = path

    def run(self) -> None:
        try:
            self.done.emit(load_radiograph(self.path), "")
        except ImageLoadError as exc:
            self.done.emit(None, exc.reason)


def study_text(row: CaseRow) -> str:
    date = f"{row.study_date[:4]}-{row.study_date[4:6]}-{row.study_date[6:]}" if row.study_date else "no date"
    hand = {"L": "left", "R": "right"}.get(row.laterality or "", "hand ?")
    return f"{date} · {hand} · {row.file_name}"


def prior_of(row: CaseRow, rows: list[CaseRow]) -> CaseRow | None:
    """The study to compare ``row`` with: the latest earlier study of the same patient and hand,
    else another study of the patient (the other hand, or an undated one)."""
    same = [r for r in rows if r.id != row.id and r.patient_id and r.patient_id == row.patient_id]
    if not same:
        return None
    earlier = [r for r in same if r.study_date and row.study_date and r.study_date < row.study_date]
    for pool in ([r for r in earlier if r.laterality == row.laterality], earlier, same):
        if pool:
            return max(pool, key=lambda r: (r.study_date or "", r.id))
    return None


class _Side(QWidget):
    """One side: which study of the patient, which hand's sheet, and the image."""

    changed = Signal()

    def __init__(self, title: str, rows: list[CaseRow], viewer, scored_hands=lambda _row_id: set(),
                 parent=None) -> None:
        super().__init__(parent)
        self.rows = rows
        self.scored_hands = scored_hands  # row id -> the hands the reader has scored on it
        self.viewer = viewer
        self.title = QLabel(title, objectName="muted")
        self.study = QComboBox()
        for r in rows:
            self.study.addItem(study_text(r), r.id)
        self.study.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.hand = QComboBox()
        self.hand.addItem("Right hand sheet", "R")
        self.hand.addItem("Left hand sheet", "L")
        self.hand.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.status = QLabel("", wordWrap=True)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.study, 1)
        top.addWidget(self.hand)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addWidget(self.status)
        lay.addWidget(viewer, 1)
        self._loaders: set[_Load] = set()  # every load still running: all are waited for on close

    @property
    def row(self) -> CaseRow:
        return self.rows[self.study.currentIndex()]

    def show_row(self, row_id: int) -> None:
        self.study.setCurrentIndex(self.study.findData(row_id))

    def load(self) -> None:
        row = self.row
        hand = row.laterality if row.laterality in ("L", "R") else None
        if hand is None:  # no laterality in the file (a PNG crop): the hand the reader scored it as
            scored = self.scored_hands(row.id)
            hand = next(iter(scored)) if len(scored) == 1 else self.hand.currentData()
        self.hand.blockSignals(True)
        self.hand.setCurrentIndex(self.hand.findData(hand))
        self.hand.blockSignals(False)
        self.status.setText("Loading…")
        self.viewer.clear()
        loader = _Load(row.path, self)
        loader.done.connect(lambda rg, err, rid=row.id: self._loaded(rid, rg, err))
        loader.finished.connect(lambda ld=loader: self._loaders.discard(ld))
        self._loaders.add(loader)
        loader.start()

    def _loaded(self, row_id: int, radiograph, error: str) -> None:
        if row_id != self.row.id:
            return  # another study was chosen meanwhile
        if radiograph is None:
            self.status.setText(f"Cannot show this study: {error}")
            return
        self.status.setText("")
        self.viewer.set_radiograph(radiograph)
        self.changed.emit()

    def wait(self) -> None:
        for loader in list(self._loaders):
            loader.wait()


class CompareWindow(QWidget):
    def __init__(self, rows: list[CaseRow], current: CaseRow, other: CaseRow, book: ScoreBook, reader: str,
                 sdc: float = 0.0, parent=None) -> None:
        super().__init__(parent, Qt.WindowType.Window)

        self.setWindowTitle(f"Compare: {current.patient_id or current.file_name}")
        self.book, self.reader, self.sdc = book, reader, sdc
        self._syncing = False
        def scored_hands(row_id: int) -> set[str]:
            return {hand for hand, _kind, _site in book.scores(row_id, reader)}

        self.left = _Side("Prior / other", rows, make_viewer(), scored_hands, self)
        self.right = _Side("Current", rows, make_viewer(), scored_hands, self)
        for side in (self.left, self.right):  # two viewers in one window: keys go to the focused one
            scope_shortcuts_to_viewer(side.viewer)
        self.link_view = QCheckBox("Link zoom and pan", checked=True)
        self.link_window = QCheckBox("Link window/level", checked=True)
        swap = QPushButton("Swap sides")
        swap.clicked.connect(self.swap)
        self.flip = QPushButton("Flip left image to match", checkable=True)
        self.flip.setToolTip("Mirror the left image for display only, so a left hand lines up with a right one")
        self.flip.toggled.connect(lambda on: self.left.viewer.view.set_flip(horizontal=on))
        bar = QHBoxLayout()
        for w in (self.link_view, self.link_window, swap, self.flip):
            bar.addWidget(w)
        bar.addStretch(1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.left)
        split.addWidget(self.right)
        self.summary = QLabel("", wordWrap=True)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Area", "Prior", "Current", "Change"])
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setMaximumHeight(180)
        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addWidget(split, 1)
        lay.addWidget(self.summary)
        lay.addWidget(self.table)
        plain_children(self)

        for side, other_side in ((self.left, self.right), (self.right, self.left)):
            v = side.viewer
            v.controls.hide()  # no AI layers here: the image is what is compared
            v.markers.editable = False
            v.use_mark_tool()  # a click picks a joint; nothing is placed here
            v.view.view_changed.connect(lambda s=side, o=other_side: self._sync_view(s, o))
            v.window_changed.connect(lambda c, w, o=other_side: self._sync_window(o, c, w))
            v.markers.picked.connect(lambda site, s=side, o=other_side: self.centre_site(site, s, o))
            side.changed.connect(self.refresh)
            side.study.currentIndexChanged.connect(lambda _i, s=side: s.load())
        for side, row in ((self.left, other), (self.right, current)):
            side.study.blockSignals(True)
            side.show_row(row.id)
            side.study.blockSignals(False)
        self.left.load()
        self.right.load()
        self.resize(1500, 900)

    # ---- linking -----------------------------------------------------------------------------------
    def _sync_view(self, source: _Side, target: _Side) -> None:
        if self._syncing or not self.link_view.isChecked() or target.viewer.radiograph is None:
            return
        src, dst = source.viewer.view, target.viewer.view
        zoom, fx, fy = src.view_state()
        # Link what is on screen, not image fractions: where one side is mirrored ("flip to match"),
        # the same screen place is the mirrored image place, i.e. the same joint of the other hand.
        if src.flip_h != dst.flip_h:
            fx = 1.0 - fx
        if src.flip_v != dst.flip_v:
            fy = 1.0 - fy
        self._syncing = True
        try:
            dst.set_view_state(zoom, fx, fy)
        finally:
            self._syncing = False

    def _sync_window(self, target: _Side, center: float, width: float) -> None:
        if self._syncing or not self.link_window.isChecked() or target.viewer.radiograph is None:
            return
        self._syncing = True
        try:
            target.viewer.set_window(center, width)
        finally:
            self._syncing = False

    def centre_site(self, site: str, source: _Side, target: _Side) -> None:
        """A joint picked on one side: select it on both, and centre it on the other."""
        source.viewer.markers.set_selected(site)
        item = target.viewer.markers.items.get(site)
        target.viewer.markers.set_selected(site)
        if item is not None:
            self._syncing = True
            try:
                target.viewer.view.center_on(QPointF(item.pos()))
            finally:
                self._syncing = False

    def swap(self) -> None:
        left, right = self.left.row.id, self.right.row.id
        self.left.show_row(right)
        self.right.show_row(left)

    # ---- sheets and progression -------------------------------------------------------------------
    def refresh(self) -> None:
        for side in (self.left, self.right):
            hand = side.hand.currentData()
            markers = {s: (m.x, m.y) for (h, s), m in self.book.markers(side.row.id, self.reader).items() if h == hand}
            side.viewer.markers.set_markers(markers, {site: short_label(site) for site in markers})
        lrow, rrow = self.left.row, self.right.row
        lhand, rhand = self.left.hand.currentData(), self.right.hand.currentData()
        self.table.setRowCount(0)
        if lhand != rhand:
            self.summary.setText("Left against right hand: a comparison, not a progression.")
            return
        prior, current = (lrow, rrow) if (lrow.study_date or "") <= (rrow.study_date or "") else (rrow, lrow)
        p = progression(self.book.scores(prior.id, self.reader), self.book.scores(current.id, self.reader), [lhand],
                        prior.study_date, current.study_date, self.sdc or None)
        if not p.changes:
            self.summary.setText(f"Progression ({self.reader}): no area of this hand is scored in both studies yet.")
            return
        self.summary.setText(f"Progression from {study_text(prior)} to {study_text(current)} ({self.reader}): "
                             f"{p.summary()}. A measurement of change, not a diagnosis.")
        ordered = sorted(p.changes, key=lambda c: -abs(c.change))
        self.table.setRowCount(len(ordered))
        for i, c in enumerate(ordered):
            for col, text in enumerate((c.label, str(c.prior), str(c.current), f"{c.change:+d}")):
                self.table.setItem(i, col, QTableWidgetItem(text))

    def closeEvent(self, event) -> None:  # noqa: N802
        for side in (self.left, self.right):
            side.wait()
        super().closeEvent(event)

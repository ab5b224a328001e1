"""Thumbnails of the open patient's other studies in the worklist (under the findings); one click
opens it beside the current study in the comparison window. Hidden when there are none."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QGroupBox, QListView, QListWidget, QListWidgetItem, QVBoxLayout

from ra_desktop.ui.plain import tooltip
from ra_desktop.ui.qt_image import to_pixmap
from ra_desktop.worker.scan import ThumbnailThread
from ra_desktop.worklist import FAILED, CaseRow

THUMB_PX = 96


def other_studies(row: CaseRow, rows: list[CaseRow]) -> list[CaseRow]:
    """The same patient's other readable studies, newest first (none without a patient ID)."""
    if not row.patient_id:
        return []
    same = [r for r in rows if r.patient_id == row.patient_id and r.id != row.id and r.status != FAILED]
    return sorted(same, key=lambda r: (r.study_date or "", r.id), reverse=True)


class PatientStudies(QGroupBox):
    compare_requested = Signal(int, int)  # current row id, the other study's row id

    def __init__(self, parent=None) -> None:
        super().__init__("Other studies of this patient", parent)
        self.list = QListWidget()
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setFlow(QListView.Flow.LeftToRight)
        self.list.setWrapping(False)
        self.list.setIconSize(QSize(THUMB_PX, THUMB_PX))
        self.list.setGridSize(QSize(THUMB_PX + 24, THUMB_PX + 40))
        self.list.setFixedHeight(THUMB_PX + 60)
        self.list.setMovement(QListView.Movement.Static)
        self.list.itemClicked.connect(self._clicked)
        QVBoxLayout(self).addWidget(self.list)
        self._current: int | None = None
        self._items: dict[str, QListWidgetItem] = {}
        self._thumbs: ThumbnailThread | None = None
        self._retired: list[ThumbnailThread] = []  # cancelled, finishing their current image
        self.hide()

    def show_for(self, row: CaseRow | None, rows: list[CaseRow]) -> None:
        self._stop()
        self.list.clear()
        self._items = {}
        others = other_studies(row, rows) if row is not None else []
        self._current = row.id if row is not None else None
        self.setVisible(bool(others))
        if not others:
            return
        for r in others:
            date = f"{r.study_date[:4]}-{r.study_date[4:6]}-{r.study_date[6:]}" if r.study_date else "no date"
            item = QListWidgetItem(f"{date}\n{r.laterality or '?'}")  # plain text items
            item.setData(Qt.ItemDataRole.UserRole, r.id)
            item.setToolTip(tooltip(f"{r.path}\nClick: open beside the current study"))
            self.list.addItem(item)
            self._items[r.path] = item
        self._thumbs = ThumbnailThread(list(self._items), size=THUMB_PX, parent=self)
        self._thumbs.thumbnail.connect(self._on_thumb)
        self._thumbs.start()

    def _on_thumb(self, path: str, grey) -> None:
        item = self._items.get(path)
        if item is not None and grey is not None:
            item.setIcon(QIcon(to_pixmap(grey)))

    def _clicked(self, item: QListWidgetItem) -> None:
        if self._current is not None:
            self.compare_requested.emit(self._current, int(item.data(Qt.ItemDataRole.UserRole)))

    def _stop(self) -> None:
        """Cancel the previous case's thumbnails without waiting on the GUI thread."""
        t, self._thumbs = self._thumbs, None
        if t is not None:
            t.token.cancel()
            t.thumbnail.disconnect(self._on_thumb)
            self._retired.append(t)
            t.finished.connect(lambda t=t: self._retired.remove(t) if t in self._retired else None)

    def shutdown(self) -> None:
        """At window close: every thumbnail thread ended."""
        self._stop()
        for t in list(self._retired):
            t.wait(5000)

"""Sample gallery: thumbnails of the bundled demo cases; one click opens a case."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QDialog, QLabel, QListView, QListWidget, QListWidgetItem, QVBoxLayout

from ra_desktop import paths
from ra_desktop.io import iter_image_files
from ra_desktop.ui.plain import tooltip
from ra_desktop.ui.qt_image import to_pixmap
from ra_desktop.worker.scan import ThumbnailThread


def demo_cases(root: Path | None = None) -> list[tuple[str, Path]]:
    """(group, path) for each demo image: RA/ and Normal/ sub-folders of the demo folder."""

    root = root or paths.demo_dir()
    out = []
    for group in ("RA", "Normal"):
        folder = root / group
        if folder.is_dir():
            out += [(group, p) for p in iter_image_files([folder], recursive=True)]
    return out


class GalleryDialog(QDialog):
    case_chosen = Signal(str)  # path

    def __init__(self, parent=None, root: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sample gallery — bundled demo cases (synthetic phantoms)")
        self.resize(900, 620)
        self.list = QListWidget()
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setIconSize(QSize(150, 150))
        self.list.setGridSize(QSize(190, 210))
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setSpacing(6)
        self.list.itemClicked.connect(lambda item: self.case_chosen.emit(item.data(Qt.ItemDataRole.UserRole)))
        cases = demo_cases(root)
        hint = QLabel(f"{len(cases)} demo cases in {root or paths.demo_dir()}. Click one to open it."
                      if cases else "No demo cases found. Generate them with `ra-desktop phantom`.",
                      objectName="muted")
        self._items: dict[str, QListWidgetItem] = {}
        for group, p in cases:
            # the distinguishing part of a demo name is its end: show that, full path in the tooltip
            short = p.name if len(p.name) <= 22 else "…" + p.name[-21:]
            item = QListWidgetItem(f"{group}\n{short}")
            item.setData(Qt.ItemDataRole.UserRole, str(p))
            item.setToolTip(tooltip(str(p)))
            self.list.addItem(item)
            self._items[str(p)] = item
        lay = QVBoxLayout(self)
        lay.addWidget(hint)
        lay.addWidget(self.list)
        # thumbnails decode full images: off the GUI thread
        self.thumbs = ThumbnailThread([str(p) for _, p in cases], size=150, parent=self)
        self.thumbs.thumbnail.connect(self._on_thumb)
        self.thumbs.start()

    def _on_thumb(self, path: str, grey) -> None:
        item = self._items.get(path)
        if item is not None and grey is not None:
            item.setIcon(QIcon(to_pixmap(grey)))

    def done(self, result: int) -> None:
        self.thumbs.token.cancel()
        self.thumbs.wait(5000)
        super().done(result)

    def closeEvent(self, event) -> None:  # noqa: N802
        self.thumbs.token.cancel()
        self.thumbs.wait(5000)
        super().closeEvent(event)

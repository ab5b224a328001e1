"""Settings' model row: the model folders found (bundled, the user's), one chosen by name."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QStandardItemModel
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QPushButton, QStyledItemDelegate, QWidget

from ra_desktop import paths
from ra_desktop.catalogue import find_models, read_entry


class ModelChoice(QWidget):
    """A combo of model folders; ``folder()`` is the setting's value ("" = the bundled default).

    A folder this installation cannot use (a DenseNet without torchvision, an unreadable manifest)
    is listed, greyed out, with the reason, so the reader knows it exists and why it is not offered.
    """

    def __init__(self, current: str, parent=None) -> None:
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(30)
        # The default menu-style delegate paints every item in the style sheet's colour: this one
        # honours an item's own colour, so an unusable model is greyed out.
        self.combo.setItemDelegate(QStyledItemDelegate(self.combo))
        self.combo.currentIndexChanged.connect(lambda _i: self.combo.setToolTip(self.combo.currentText()))
        browse = QPushButton("Import model folder…")
        browse.clicked.connect(self._browse)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.combo, 1)
        layout.addWidget(browse)
        for entry in find_models(*([current] if current else [])):
            self._add(entry.label, entry.path, enabled=not entry.problem, detail=entry.problem)
        if not current:
            self._select(paths.default_model_dir())
        elif not self._select(Path(current)):  # no manifest there (moved, deleted): keep the setting visible
            self._add(f"{current} (not found)", Path(current), enabled=True)
            self._select(Path(current))

    def folder(self) -> str:
        path = self.combo.currentData()
        if path is None or Path(path).resolve() == paths.default_model_dir().resolve():
            return ""
        return str(path)

    def _add(self, label: str, path: Path, enabled: bool, detail: str = "") -> None:
        self.combo.addItem(label, str(path))
        index = self.combo.count() - 1
        self.combo.setItemData(index, f"{path}\n{detail}".strip(), Qt.ItemDataRole.ToolTipRole)
        if not enabled:
            item = self.combo.model().item(index) if isinstance(self.combo.model(), QStandardItemModel) else None
            if item is not None:
                item.setEnabled(False)
                item.setForeground(QColor("#7c858f"))

    def _select(self, path: Path) -> bool:
        for i in range(self.combo.count()):
            if Path(self.combo.itemData(i)).resolve() == path.resolve():
                self.combo.setCurrentIndex(i)
                return True
        return False

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a model folder (manifest.json + weights)")
        if folder:
            self.choose(folder)

    def choose(self, folder: str) -> None:
        """Select ``folder``, adding it to the list first if it is not there."""
        if not self._select(Path(folder)):
            entry = read_entry(Path(folder))
            label = entry.label if entry else f"{folder} (no manifest.json)"
            self._add(label, Path(folder), enabled=entry is None or not entry.problem,
                      detail=entry.problem if entry else "")
            self._select(Path(folder))

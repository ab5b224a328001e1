"""What an empty worklist shows in place of the image: how to begin (first run, or all removed)."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget


class Welcome(QWidget):
    open_folder = Signal()
    open_samples = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        title = QLabel("No radiographs yet", objectName="caseHeader", alignment=Qt.AlignmentFlag.AlignCenter)
        hint = QLabel("Open a folder of hand radiographs (DICOM, PNG, JPEG, TIFF), try the sample cases, "
                      "or drop files and folders anywhere on this window.", wordWrap=True,
                      alignment=Qt.AlignmentFlag.AlignCenter, objectName="muted")
        folder = QPushButton("Open folder…  (Ctrl+Shift+O)")
        folder.clicked.connect(self.open_folder)
        samples = QPushButton("Open the sample cases")
        samples.clicked.connect(self.open_samples)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(folder)
        buttons.addWidget(samples)
        buttons.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addStretch(1)
        lay.addWidget(title)
        lay.addWidget(hint)
        lay.addLayout(buttons)
        lay.addStretch(2)
        self.folder_button, self.samples_button = folder, samples

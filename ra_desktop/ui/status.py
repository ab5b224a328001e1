"""Status-bar pieces: batch progress with time left and a cancel button; the model banner."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from ra_desktop.ui.plain import escape
from ra_desktop.worker.jobs import BatchProgress


def _duration(s: float) -> str:
    s = int(round(s))
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"


class BatchStatus(QWidget):
    cancel_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.bar = QProgressBar()
        self.bar.setFixedWidth(180)
        self.bar.setFormat("%v / %m")
        self.eta = QLabel("")
        self.cancel = QPushButton("Cancel batch")
        self.cancel.clicked.connect(self.cancel_requested)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(QLabel("Analysing:"))
        lay.addWidget(self.bar)
        lay.addWidget(self.eta)
        lay.addWidget(self.cancel)
        self.hide()

    def update_progress(self, p: BatchProgress) -> None:
        self.bar.setMaximum(max(p.total, 1))
        self.bar.setValue(p.finished)
        eta = p.eta_s()
        failed = f" · {p.failed} failed" if p.failed else ""
        self.eta.setText(("estimating time left…" if eta is None else f"about {_duration(eta)} left") + failed)
        self.show()


class ModelBanner(QWidget):
    """A strip above the viewer when no model can be used: what is wrong and how to fix it."""

    open_settings = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("modelBanner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.text = QLabel("", wordWrap=True, objectName="bannerText", textFormat=Qt.TextFormat.RichText)
        button = QPushButton("Open Settings…")
        button.clicked.connect(self.open_settings)
        lay = QHBoxLayout(self)
        lay.addWidget(self.text, 1)
        lay.addWidget(button)
        self.hide()

    def show_missing(self, model_dir: str, reason: str) -> None:
        self.text.setText(
            f"<b>No model installed</b> — images can be viewed but not analysed. "
            f"Model folder {escape(model_dir)}: {escape(reason)}.<br>To import one, open <b>Settings → Model folder</b> "
            "and choose a folder with <code>manifest.json</code> and <code>weights.safetensors</code>.")
        self.show()

"""Parts of the marker explorer's window: the per-marker chart and presentation mode's keys.

The chart (how each marker moves the demo model's RA logit) is a plain QPainter widget, not
pyqtgraph: the CPU installer excludes pyqtgraph (installer/README.md), as the radiogrammetry
profile plot does; a few horizontal bars need no plotting library.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QCheckBox, QLayout, QSizePolicy, QSlider, QVBoxLayout, QWidget

_UP, _DOWN, _TOTAL = QColor(235, 120, 60), QColor(80, 160, 230), QColor(170, 170, 170)
_INK, _AXIS = QColor(225, 225, 225), QColor(120, 120, 120)
TOTAL_LABEL = "All (vs twin)"
P_STYLE = "font-size: %dpt; font-weight: bold;"  # P(RA): 22 pt, 40 pt when presenting
PRESENTATION_STYLE = "QWidget { font-size: 20pt; } QSlider { min-height: 36px; } QPushButton { padding: 10px; }"
NEXT_KEYS = (Qt.Key.Key_PageDown, Qt.Key.Key_Space, Qt.Key.Key_Right)
PREV_KEYS = (Qt.Key.Key_PageUp, Qt.Key.Key_Backspace, Qt.Key.Key_Left)


def column(*parts) -> QWidget:
    """A widget stacking ``parts`` without margins: widgets, layouts, (widget, stretch), or an int (a stretch)."""
    box = QWidget()
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    for part in parts:
        if isinstance(part, int):
            lay.addStretch(part)
        elif isinstance(part, QLayout):
            lay.addLayout(part)
        elif isinstance(part, tuple):
            lay.addWidget(*part)
        else:
            lay.addWidget(part)
    return box


class MarkerBars(QWidget):
    """Horizontal bars from a zero line: right = towards RA, left = towards normal (logit units)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.bars: list[tuple[str, float]] = []
        self.total: float | None = None
        self.note = "No readout yet."
        self.setMinimumHeight(120)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)

    def set_bars(self, bars: list[tuple[str, float]], total: float | None, note: str = "") -> None:
        """Show ``bars`` (label, logit change) and the total; ``note`` is shown when there are none."""
        self.bars, self.total, self.note = list(bars), total, note
        self.update()

    def clear(self, note: str) -> None:
        self.set_bars([], None, note)

    def rows(self) -> list[tuple[str, float]]:
        """What is drawn, total last (tests)."""
        return self.bars + ([(TOTAL_LABEL, self.total)] if self.total is not None and self.bars else [])

    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(self.font())
        p.setFont(font)
        fm = p.fontMetrics()
        rows = self.rows()
        rect = self.rect().adjusted(4, 4, -4, -4)
        if not rows:
            p.setPen(_INK)
            p.drawText(QRectF(rect), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.note)
            return
        label_w = min(max(fm.horizontalAdvance(label) for label, _ in rows) + 8, rect.width() * 0.5)
        value_w = fm.horizontalAdvance("+00.0") + 6
        top_h = fm.height() + 2
        plot = QRectF(rect.left() + label_w, rect.top() + top_h, rect.width() - label_w - value_w,
                      rect.height() - top_h)
        span = max(max(abs(v) for _, v in rows), 0.5)
        zero = plot.left() + plot.width() / 2
        scale = (plot.width() / 2) / span
        p.setPen(_AXIS)
        p.drawText(QRectF(plot.left(), rect.top(), plot.width() / 2, top_h), Qt.AlignmentFlag.AlignLeft,
                   "← normal")
        p.drawText(QRectF(zero, rect.top(), plot.width() / 2, top_h), Qt.AlignmentFlag.AlignRight, "RA →")
        step = plot.height() / len(rows)
        bar_h = max(min(step * 0.65, fm.height() * 1.4), 3.0)
        for i, (label, value) in enumerate(rows):
            y = plot.top() + i * step + (step - bar_h) / 2
            is_total = i == len(rows) - 1 and self.total is not None and label == TOTAL_LABEL
            colour = _TOTAL if is_total else (_UP if value >= 0 else _DOWN)
            x0, x1 = sorted((zero, zero + value * scale))
            p.fillRect(QRectF(x0, y, max(x1 - x0, 1.0), bar_h), colour)
            p.setPen(_INK)
            p.drawText(QRectF(rect.left(), y - 4, label_w - 6, bar_h + 8),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, fm.elidedText(
                           label, Qt.TextElideMode.ElideRight, int(label_w - 6)))
            p.drawText(QRectF(plot.right() + 4, y - 4, value_w, bar_h + 8), Qt.AlignmentFlag.AlignVCenter,
                       f"{value:+.1f}")
        p.setPen(QPen(_AXIS, 1))
        p.drawLine(int(zero), int(plot.top()), int(zero), int(plot.bottom()))


class PresentationKeys(QObject):
    """While presenting: PageDown/Space/Right next, PageUp/Backspace/Left back, Esc leaves; these
    keys are taken before any shortcut of the viewers (which would otherwise pan or pick a tool)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        kind = event.type()
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride) or not self.window.presenting:
            return False
        key = event.key()
        if key not in (*NEXT_KEYS, *PREV_KEYS, Qt.Key.Key_Escape):
            return False
        if kind == QEvent.Type.ShortcutOverride:
            event.accept()  # deliver it as a key press (to this filter), not as a viewer's shortcut
            return True
        if key == Qt.Key.Key_Escape:
            self.window.leave_presentation()
        else:
            self.window.step(1 if key in NEXT_KEYS else -1)
        return True


class MapLayers:
    """The readout's maps on the hand with the markers: Grad-CAM (on by default) and SHAP (signed,
    for and against RA), each a checkbox, one opacity for both (as the viewer has one per layer)."""

    LAYERS = (("gradcam", "Grad-CAM (where the model looked)", True),
              ("shap", "SHAP (red for RA, blue against)", False))

    def __init__(self, view) -> None:
        self.view = view
        self.checks = {name: QCheckBox(text, checked=on) for name, text, on in self.LAYERS}
        self.opacity = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100, value=35)
        self.opacity.setToolTip("Opacity of the map layers (one value for the whole layer)")
        self.opacity.valueChanged.connect(lambda _v: self._opacity())
        for name, box in self.checks.items():
            box.toggled.connect(lambda on, n=name: self.view.layer_item(n) is not None
                                and self.view.set_layer_visible(n, on))

    def put(self, readout, shape) -> None:
        """Show ``readout``'s maps where they match the image on screen."""
        for name, _text, _on in self.LAYERS:
            values = getattr(readout, name, None) if readout is not None else None
            if values is not None and values.shape == shape:
                self.view.set_layer(name, values, signed=name == "shap")
                self.view.set_layer_visible(name, self.checks[name].isChecked())
        self._opacity()

    def _opacity(self) -> None:
        for name, _text, _on in self.LAYERS:
            if self.view.layer_item(name) is not None:
                self.view.set_layer_opacity(name, self.opacity.value() / 100.0)

"""Layer controls: per heat-map layer a toggle, one opacity slider, a colour map and a colour bar.

The colour bar image comes from ``render.overlay.colorbar``, the same renderer as the PDF report.
"""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from ra_desktop.render import overlay
from ra_desktop.ui import qt_image

LAYERS = ("gradcam", "shap")
TITLES = {"gradcam": "Grad-CAM", "shap": "SHAP"}
COLORMAPS = {"gradcam": ("jet", "inferno", "viridis", "hot"), "shap": ("rdbu",)}
# (left, middle, right) labels under each colour bar.
BAR_LABELS = {"gradcam": ("low", "", "high attention →"), "shap": ("← toward normal", "0", "toward RA →")}
CAPTION = "Where the model looked — not where the disease is."
BAR_WIDTH = 200


class _LayerBox(QtWidgets.QGroupBox):
    def __init__(self, name: str, parent: QtWidgets.QWidget) -> None:
        super().__init__(parent)
        self.name = name
        lay = QtWidgets.QGridLayout(self)
        lay.setContentsMargins(6, 4, 6, 6)
        lay.setVerticalSpacing(3)
        self.check = QtWidgets.QCheckBox(TITLES[name])
        self.check.setToolTip(f"Show or hide the {TITLES[name]} layer")
        self.combo = QtWidgets.QComboBox()
        self.combo.addItems(COLORMAPS[name])
        self.combo.setToolTip("Colour map")
        self.combo.setEnabled(len(COLORMAPS[name]) > 1)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setToolTip("Layer opacity (one value for the whole layer)")
        self.opacity_label = QtWidgets.QLabel()
        self.opacity_label.setMinimumWidth(34)
        self.bar = QtWidgets.QLabel()
        self.bar.setFixedHeight(12)
        self.range_label = QtWidgets.QLabel()
        self.range_label.setObjectName("dim")
        left, mid, right = BAR_LABELS[name]
        ticks = QtWidgets.QHBoxLayout()
        ticks.setContentsMargins(0, 0, 0, 0)
        for text, align in ((left, QtCore.Qt.AlignmentFlag.AlignLeft), (mid, QtCore.Qt.AlignmentFlag.AlignHCenter),
                            (right, QtCore.Qt.AlignmentFlag.AlignRight)):
            label = QtWidgets.QLabel(text)
            label.setAlignment(align)
            label.setObjectName("small")
            ticks.addWidget(label, 1)
        lay.addWidget(self.check, 0, 0)
        lay.addWidget(self.combo, 0, 1, 1, 2)
        lay.addWidget(QtWidgets.QLabel("Opacity"), 1, 0)
        lay.addWidget(self.slider, 1, 1)
        lay.addWidget(self.opacity_label, 1, 2)
        lay.addWidget(self.bar, 2, 0, 1, 3)
        lay.addLayout(ticks, 3, 0, 1, 3)
        lay.addWidget(self.range_label, 4, 0, 1, 3)
        self.set_colormap(self.combo.currentText())
        self.set_available(False)

    def set_colormap(self, cmap: str) -> None:
        bar = overlay.colorbar(cmap, length=BAR_WIDTH, thickness=12, vertical=False)
        self.bar.setPixmap(qt_image.to_pixmap(bar))

    def set_available(self, available: bool, vmin: float = 0.0, vmax: float = 0.0) -> None:
        self.setEnabled(available)
        self.range_label.setText(f"range {vmin:.3g} … {vmax:.3g}" if available else "not computed for this case")


class LayerControls(QtWidgets.QWidget):
    visible_changed = QtCore.Signal(str, bool)
    opacity_changed = QtCore.Signal(str, float)
    colormap_changed = QtCore.Signal(str, str)
    seen_toggled = QtCore.Signal(bool)
    ground_truth_toggled = QtCore.Signal(bool)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.setSpacing(6)
        heading = QtWidgets.QLabel("AI layers")
        heading.setObjectName("heading")
        lay.addWidget(heading)
        caption = QtWidgets.QLabel(CAPTION)
        caption.setWordWrap(True)
        caption.setObjectName("caption")
        lay.addWidget(caption)
        self.boxes: dict[str, _LayerBox] = {}
        for name in LAYERS:
            box = _LayerBox(name, self)
            box.check.toggled.connect(lambda on, n=name: self.visible_changed.emit(n, on))
            box.slider.valueChanged.connect(lambda v, n=name: self._on_slider(n, v))
            box.combo.currentTextChanged.connect(lambda c, n=name: self._on_cmap(n, c))
            self.boxes[name] = box
            lay.addWidget(box)
        self.seen_check = QtWidgets.QCheckBox("Hatch what the model never saw")
        self.seen_check.setToolTip("Yellow hatching marks image parts outside the model's input")
        self.seen_check.toggled.connect(self.seen_toggled)
        self.seen_check.setEnabled(False)
        lay.addWidget(self.seen_check)
        self.gt_check = QtWidgets.QCheckBox("Ground truth (educator)")
        self.gt_check.setToolTip("Phantom cases only: true lesion sites (green), for teaching")
        self.gt_check.toggled.connect(self.ground_truth_toggled)
        self.gt_check.setEnabled(False)
        lay.addWidget(self.gt_check)
        lay.addStretch(1)

    def _on_slider(self, name: str, value: int) -> None:
        self.boxes[name].opacity_label.setText(f"{value}%")
        self.opacity_changed.emit(name, value / 100.0)

    def _on_cmap(self, name: str, cmap: str) -> None:
        self.boxes[name].set_colormap(cmap)
        self.colormap_changed.emit(name, cmap)

    # Programmatic sync (API → controls) must not echo back as user changes.
    def sync(self, name: str, *, visible: bool, opacity: float, cmap: str) -> None:
        box = self.boxes[name]
        for w in (box.check, box.slider, box.combo):
            w.blockSignals(True)
        box.check.setChecked(visible)
        box.slider.setValue(round(opacity * 100))
        box.opacity_label.setText(f"{round(opacity * 100)}%")
        box.combo.setCurrentText(cmap)
        box.set_colormap(cmap)
        for w in (box.check, box.slider, box.combo):
            w.blockSignals(False)

    def sync_check(self, check: QtWidgets.QCheckBox, *, enabled: bool, checked: bool) -> None:
        check.blockSignals(True)
        check.setEnabled(enabled)
        check.setChecked(checked)
        check.blockSignals(False)

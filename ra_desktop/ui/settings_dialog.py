"""Settings: device, model, reader, institution, default overlay and opacity, theme; DICOM."""
from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel,
    QLineEdit, QMessageBox, QSlider, QTabWidget, QVBoxLayout, QWidget,
)
from PySide6.QtCore import Qt

from ra_desktop.settings import DEVICES, OVERLAYS, THEMES, Settings
from ra_desktop.ui import plain
from ra_desktop.ui.dicom_settings import DicomSettingsPage
from ra_desktop.ui.model_choice import ModelChoice


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(560)
        self._settings = settings
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda"])
        self.device.setCurrentText(settings.device)
        self.model = ModelChoice(settings.model_dir)
        self.reader = QLineEdit(settings.reader_name, placeholderText="e.g. Dr A. Reader")
        self.institution = QLineEdit(settings.institution)
        self.overlay = QComboBox()
        self.overlay.addItems(["Grad-CAM", "SHAP", "None"])
        self.overlay.setCurrentIndex(OVERLAYS.index(settings.default_overlay))
        self.opacity = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100)
        self.opacity.setValue(round(settings.overlay_opacity * 100))
        self.opacity_label = QLabel(f"{self.opacity.value()} %")
        self.opacity.valueChanged.connect(lambda v: self.opacity_label.setText(f"{v} %"))
        op_row = QWidget()
        ol = QHBoxLayout(op_row)
        ol.setContentsMargins(0, 0, 0, 0)
        ol.addWidget(self.opacity, 1)
        ol.addWidget(self.opacity_label)
        self.shap_on_open = QCheckBox("Compute SHAP when a case is opened (a few seconds on CPU)")
        self.shap_on_open.setChecked("shap" in settings.explanations)
        self.sdc = QDoubleSpinBox(minimum=0.0, maximum=280.0, decimals=1, singleStep=0.5)
        self.sdc.setSpecialValueText("not set")  # 0: no change is called beyond it
        self.sdc.setValue(settings.svdh_sdc)
        self.sdc.setToolTip("Smallest detectable change of the Sharp/van der Heijde total, measured on "
                            "repeated readings here (ra-desktop scores agreement); used by the progression view")
        self.theme = QComboBox()
        self.theme.addItems(list(THEMES))
        self.theme.setCurrentText(settings.theme)

        form = QFormLayout()
        form.addRow("Device", self.device)
        form.addRow("Model", self.model)
        form.addRow("", QLabel("A new model is checked (loaded and verified) before it replaces the current one.",
                               objectName="muted", wordWrap=True))
        form.addRow("Reader name", self.reader)
        form.addRow("Institution", self.institution)
        form.addRow("Default overlay", self.overlay)
        form.addRow("Overlay opacity", op_row)
        form.addRow("", self.shap_on_open)
        form.addRow("SvdH smallest detectable change", self.sdc)
        form.addRow("Theme", self.theme)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        general = QWidget()
        general.setLayout(form)
        self.dicom = DicomSettingsPage(settings)
        self.tabs = QTabWidget()
        self.tabs.addTab(general, "General")
        self.tabs.addTab(self.dicom, "DICOM")
        lay = QVBoxLayout(self)
        lay.addWidget(self.tabs)
        lay.addWidget(buttons)
        assert set(DEVICES) == {self.device.itemText(i) for i in range(self.device.count())}

    def accept(self) -> None:
        try:
            self.dicom.values()
        except ValueError as exc:  # e.g. an AE title with a backslash: say which, keep the dialog
            self.tabs.setCurrentWidget(self.dicom)
            plain.message(self, QMessageBox.Icon.Warning, "Settings", str(exc))
            return
        self.dicom.wait()
        super().accept()

    def reject(self) -> None:
        self.dicom.wait()
        super().reject()

    def result_settings(self) -> Settings:
        explanations = ("gradcam", "shap") if self.shap_on_open.isChecked() else ("gradcam",)
        return self._settings.replace(
            device=self.device.currentText(), model_dir=self.model.folder(),
            reader_name=self.reader.text().strip(), institution=self.institution.text().strip(),
            default_overlay=OVERLAYS[self.overlay.currentIndex()],
            overlay_opacity=self.opacity.value() / 100.0, theme=self.theme.currentText(),
            explanations=explanations, svdh_sdc=float(self.sdc.value()), **self.dicom.values(),
        )

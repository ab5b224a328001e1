"""Report export, settings (model import validated first), and the sample gallery."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from ra_desktop.settings import load_settings
from tests.gui.conftest import wait_rows, write_images

pytestmark = pytest.mark.gui


def test_export_report_for_open_case(make_window, tiny_model_dir, image_folder, tmp_path, qtbot, monkeypatch):
    out = tmp_path / "reports"
    out.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(out)))
    w = make_window(tiny_model_dir)
    w.add_paths([str(image_folder / "case_00.png")])
    wait_rows(qtbot, w, 1)
    rid = w.worklist.model.rows()[0].id
    with qtbot.waitSignal(w.jobs.open_finished, timeout=30000):
        w.worklist.select_row(rid)
        w.worklist._emit_now()
    from ra_desktop.ui import export

    w.start_scoring()  # the reader scored two areas: the report carries them
    w.scoring.score_current(3)
    w.scoring.score_current("NA")
    export.export_current(w)
    qtbot.waitUntil(lambda: "Report saved" in w.status_text.text() or bool(w.message_boxes), timeout=30000)
    assert not w.message_boxes, w.message_boxes
    pdfs = list(out.glob("*.pdf"))
    assert len(pdfs) == 1 and pdfs[0].read_bytes().startswith(b"%PDF")
    from pypdf import PdfReader

    text = " ".join(" ".join(p.extract_text() for p in PdfReader(pdfs[0]).pages).split())
    assert "Sharp/van der Heijde, right hand" in text and "Erosion 3/75" in text


def test_invalid_model_import_keeps_old_model(make_window, tiny_model_dir, tmp_path, qtbot):
    w = make_window(tiny_model_dir)
    old = w.jobs.model
    bad = tmp_path / "not-a-model"
    bad.mkdir()
    (bad / "manifest.json").write_text("{}")
    w._pending_model = str(bad)
    with qtbot.waitSignal(w.jobs.model_failed, timeout=30000) as sig:
        w.jobs.load_model(str(bad), "cpu")
    assert sig.args[1] is True  # the previous model is still loaded
    assert w.jobs.model is old and w.banner.isHidden()
    assert any("previous model is still in use" in m for m in w.message_boxes)
    assert load_settings().model_dir != str(bad)  # never saved


def test_settings_dialog_round_trip(make_window, qtbot):
    from ra_desktop.ui.settings_dialog import SettingsDialog

    w = make_window(None)
    dlg = SettingsDialog(w.settings, w)
    qtbot.addWidget(dlg)
    dlg.reader.setText("Dr New")
    dlg.institution.setText("Hand Clinic")
    dlg.device.setCurrentText("cpu")
    dlg.opacity.setValue(30)
    dlg.overlay.setCurrentIndex(1)
    s = dlg.result_settings()
    assert (s.reader_name, s.institution, s.device, s.overlay_opacity, s.default_overlay) == \
        ("Dr New", "Hand Clinic", "cpu", 0.3, "shap")


def test_gallery_lists_demo_cases_and_opens_one(make_window, tmp_path, qtbot):
    from ra_desktop.ui.gallery import GalleryDialog

    root = tmp_path / "demo"
    write_images(root / "RA", n=2, broken=False, seed=1)
    write_images(root / "Normal", n=1, broken=False, seed=2)
    w = make_window(None)
    dlg = GalleryDialog(w, root=root)
    qtbot.addWidget(dlg)
    assert dlg.list.count() == 3
    qtbot.waitUntil(lambda: all(not dlg.list.item(i).icon().isNull() for i in range(3)), timeout=10000)
    dlg.case_chosen.connect(w.open_path)
    item = dlg.list.item(2)
    rect = dlg.list.visualItemRect(item)
    dlg.show()
    qtbot.mouseClick(dlg.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: w.viewer.radiograph is not None, timeout=10000)
    assert Path(w.viewer.radiograph.source_path).parent.name == "Normal"
    dlg.close()


def test_settings_lists_model_folders_by_name(make_window, tmp_path, monkeypatch, qtbot):
    from ra_desktop import catalogue, paths
    from ra_desktop.ui.settings_dialog import SettingsDialog

    user = tmp_path / "user-models"
    for name, arch in (("clinic-vgg8", "vgg8"), ("clinic-densenet", "densenet121")):
        (user / name).mkdir(parents=True)
        (user / name / "manifest.json").write_text(
            f'{{"name": "{name}", "version": "2.0", "architecture": "{arch}", "synthetic_training_data": false}}')
    monkeypatch.setattr(catalogue, "user_models_dir", lambda: user)
    monkeypatch.setattr(catalogue, "has_torchvision", lambda: False)  # as in the small CPU installer
    w = make_window(None)
    dlg = SettingsDialog(w.settings.replace(model_dir=""), w)
    qtbot.addWidget(dlg)
    combo = dlg.model.combo
    labels = [combo.itemText(i) for i in range(combo.count())]
    assert combo.currentData() == str(paths.default_model_dir()) and dlg.result_settings().model_dir == ""
    dense = next(i for i, t in enumerate(labels) if t.startswith("clinic-densenet"))
    assert "unavailable: needs the full build" in labels[dense] and not combo.model().item(dense).isEnabled()
    vgg = next(i for i, t in enumerate(labels) if t.startswith("clinic-vgg8"))
    assert combo.model().item(vgg).isEnabled()
    combo.setCurrentIndex(vgg)
    assert dlg.result_settings().model_dir == str(user / "clinic-vgg8")
    # A folder chosen with "Import model folder…" joins the list and is selected.
    dlg.model.choose(str(tmp_path / "elsewhere"))
    assert combo.currentText().endswith("(no manifest.json)")
    assert dlg.result_settings().model_dir == str(tmp_path / "elsewhere")
    # A saved folder that has gone stays visible rather than silently becoming the bundled model.
    gone = SettingsDialog(w.settings.replace(model_dir=str(tmp_path / "gone")), w)
    qtbot.addWidget(gone)
    assert gone.model.combo.currentText().endswith("(not found)")
    assert gone.result_settings().model_dir == str(tmp_path / "gone")

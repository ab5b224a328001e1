"""First run and settings, as a new reader meets them (issue 23): an empty window says how to
begin, the reader is asked for a name at the first sign-off, the theme applies at once, and a
device that does not work is neither saved nor left as a dead end."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication, QInputDialog

from ra_desktop.settings import Settings, load_settings
from tests.gui.conftest import wait_rows

pytestmark = pytest.mark.gui


def test_an_empty_worklist_says_how_to_begin(make_window, qtbot):
    w = make_window(None, wait_model=False)
    assert w.welcome.isVisible() and not w.viewer.isVisible()
    w.welcome.samples_button.click()  # the bundled demo cases
    wait_rows(qtbot, w, 1)
    assert not w.welcome.isVisible() and w.viewer.isVisible()


def test_the_first_sign_off_asks_who_is_reading(make_window, image_folder, qtbot, monkeypatch):
    w = make_window(None, Settings(explanations=("gradcam",)), wait_model=False)
    w.add_paths([str(image_folder)])
    wait_rows(qtbot, w, 4)
    row = w.worklist.visible_row_ids()[0]
    w.worklist.select_row(row)
    w.worklist._emit_now()
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("", False)))
    w.sign_off("agree", "")  # no name given: nothing signed as "unnamed reader"
    assert w.store.get(row).verdict is None
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("  Dr First  ", True)))
    w.sign_off("agree", "")
    assert (w.store.get(row).verdict, w.store.get(row).reader) == ("agree", "Dr First")
    assert load_settings().reader_name == "Dr First"  # asked once


def test_theme_applies_without_a_restart(make_window, monkeypatch):
    from ra_desktop.ui import settings_dialog

    w = make_window(None, wait_model=False)
    app = QApplication.instance()
    before = app.styleSheet()
    monkeypatch.setattr(settings_dialog.SettingsDialog, "exec", lambda self: (self.theme.setCurrentText("light"), 1)[1])
    w.show_settings()
    assert w.settings.theme == "light" and app.styleSheet() != before and app.styleSheet()
    app.setStyleSheet(before)


def test_a_refused_device_is_not_saved(make_window, tiny_model_dir, qtbot, monkeypatch):
    from ra_desktop.ui import settings_dialog

    w = make_window(tiny_model_dir)
    old = w.jobs.model
    monkeypatch.setattr(settings_dialog.SettingsDialog, "exec", lambda self: (self.device.setCurrentText("cuda"), 1)[1])
    with qtbot.waitSignal(w.jobs.model_failed, timeout=30000):  # no GPU on this machine
        w.show_settings()
    assert w.jobs.model is old and load_settings().device != "cuda" and w.settings.device != "cuda"
    assert "Loading model" not in w.status_text.text()


def test_a_saved_cuda_device_falls_back_to_the_cpu(make_window, tiny_model_dir, qtbot):
    w = make_window(tiny_model_dir, Settings(explanations=("gradcam",), reader_name="Dr T", device="cuda"),
                    wait_model=False)
    with qtbot.waitSignal(w.jobs.model_ready, timeout=60000):
        w.start_services()
    assert w.jobs.has_model and "CUDA not available" in w.model_status.text()
    assert w.banner.isHidden()

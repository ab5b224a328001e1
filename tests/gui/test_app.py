"""Start-up plumbing: log file location, error hooks, lazy torch, the CLI entry."""
from __future__ import annotations

import logging
import subprocess
import sys
import threading

import pytest

from ra_desktop import paths

pytestmark = pytest.mark.gui


def test_unexpected_error_is_logged_and_shown_once(qtbot, monkeypatch):
    from ra_desktop.app import install_error_hooks, setup_logging

    shown = []
    from ra_desktop.ui import plain

    monkeypatch.setattr(plain, "message", lambda parent, icon, title, text: shown.append(text))
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    log_file = setup_logging()
    assert log_file == paths.user_log_dir() / "ra-desktop.log"
    install_error_hooks(log_file)
    try:
        for i in range(2):
            try:
                raise ValueError(f"boom {i}")
            except ValueError:
                sys.excepthook(*sys.exc_info())
        qtbot.waitUntil(lambda: len(shown) == 1)
        qtbot.wait(50)
        assert len(shown) == 1 and "boom 0" in shown[0] and str(log_file) in shown[0]
        for h in logging.getLogger().handlers:
            h.flush()
        text = log_file.read_text()
        assert "boom 0" in text and "boom 1" in text and "Traceback" in text
    finally:
        from PySide6.QtCore import qInstallMessageHandler

        qInstallMessageHandler(None)
        root = logging.getLogger()
        for h in [h for h in root.handlers if getattr(h, "_ra_desktop", False)]:
            root.removeHandler(h)
            h.close()


def test_window_appears_before_torch_loads():
    code = (
        "import sys, os; os.environ['QT_QPA_PLATFORM']='offscreen'\n"
        "from PySide6.QtWidgets import QApplication; app = QApplication([])\n"
        "from ra_desktop.app import create_window\n"
        "from ra_desktop.settings import Settings\n"
        "w = create_window(Settings(model_dir='/nonexistent')); w.show(); app.processEvents()\n"
        "print('torch' in sys.modules, 'ra_desktop.pipeline' in sys.modules, 'scipy.ndimage' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    # scipy (radiogrammetry's measuring modules) loads at the first measurement, not with the window
    assert out.stdout.split() == ["False", "False", "False"], out.stderr


def test_cli_gui_arguments():
    import argparse

    from ra_desktop.cli import gui

    p = argparse.ArgumentParser()
    gui.add_arguments(p)
    args = p.parse_args(["resources/demo", "--device", "cpu"])
    assert args.paths == ["resources/demo"] and args.device == "cpu" and args.model is None

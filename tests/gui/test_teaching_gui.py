"""Help > Marker atlas: the handout is written off the GUI thread and the window says where."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QFileDialog

pytestmark = pytest.mark.gui


def test_marker_atlas_from_the_help_menu(make_window, tiny_model_dir, tmp_path, qtbot, monkeypatch):
    import ra_desktop.phantom.atlas as atlas_mod

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(tmp_path)))
    full = atlas_mod.plates  # the whole atlas, at a small size (make installer-test runs the full one)
    monkeypatch.setattr(atlas_mod, "plates", lambda seed, side: full(seed, side, 800))
    w = make_window(tiny_model_dir)
    help_menu = next(a.menu() for a in w.menuBar().actions() if a.text() == "&Help")
    act = next(a for a in help_menu.actions() if a.text().startswith("Marker atlas"))
    act.trigger()
    assert w._atlas_task.isRunning()  # the phantoms render on the task thread, not in the click
    qtbot.waitUntil(lambda: bool(w.message_boxes), timeout=120000)
    out = tmp_path / "RA-marker-atlas_0R.pdf"
    assert f"Written:\n{out}" in w.message_boxes[-1], w.message_boxes[-1]
    assert out.read_bytes().startswith(b"%PDF-")

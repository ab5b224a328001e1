"""The Teaching menu: the marker atlas written off the GUI thread, the explorer and the quiz opened from it."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QFileDialog

pytestmark = pytest.mark.gui


def _teaching_action(window, text: str):
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Teaching")
    return next(a for a in menu.actions() if a.text().startswith(text))


def test_marker_atlas_from_the_teaching_menu(make_window, tiny_model_dir, tmp_path, qtbot, monkeypatch):
    import ra_desktop.phantom.atlas as atlas_mod

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(tmp_path)))
    full = atlas_mod.plates  # the whole atlas, at a small size (make installer-test runs the full one)
    monkeypatch.setattr(atlas_mod, "plates", lambda seed, side: full(seed, side, 800))
    w = make_window(tiny_model_dir)
    act = _teaching_action(w, "Marker atlas")
    act.trigger()
    assert w._atlas_task.isRunning()  # the phantoms render on the task thread, not in the click
    qtbot.waitUntil(lambda: bool(w.message_boxes), timeout=120000)
    out = tmp_path / "RA-marker-atlas_0R.pdf"
    assert f"Written:\n{out}" in w.message_boxes[-1], w.message_boxes[-1]
    assert out.read_bytes().startswith(b"%PDF-")


def test_explorer_and_quiz_open_from_the_teaching_menu(make_window, tiny_model_dir, qtbot):
    from ra_desktop.ui.explorer_window import ExplorerWindow
    from ra_desktop.ui.quiz_window import QuizWindow

    w = make_window(tiny_model_dir)
    _teaching_action(w, "Marker explorer").trigger()
    explorer = w._explorer
    assert isinstance(explorer, ExplorerWindow) and explorer.isVisible()
    _teaching_action(w, "Marker explorer").trigger()
    assert w._explorer is explorer  # brought back, not a second lane on the same model
    explorer.close()  # deleted on close: its render lane ends with it
    qtbot.waitUntil(lambda: _deleted(explorer), timeout=5000)
    _teaching_action(w, "Marker explorer").trigger()
    assert w._explorer is not explorer and w._explorer.isVisible()
    w._explorer.close()

    _teaching_action(w, "Scoring quiz").trigger()
    quiz = w._quiz_window
    assert isinstance(quiz, QuizWindow) and quiz.isVisible() and quiz.isWindow()
    quiz.close()


def _deleted(widget) -> bool:
    from shiboken6 import isValid

    return not isValid(widget)

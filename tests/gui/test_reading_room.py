"""The reading-room layout: the image is the largest thing on screen, panels collapse and come
back, reading mode, window-wide image keys, the shortcut sheet, and long names that never widen a
panel. Each test failed before the change it checks (issue 23)."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QToolBar

from ra_desktop.ui import layout, menu_actions
from ra_desktop.ui.viewer._toolbar import SHORTCUTS
from ra_desktop.worklist import NewCase
from tests.gui.conftest import wait_rows

pytestmark = pytest.mark.gui

# Screens less a task bar, as a reader's workstation reports them
SCREENS = {(1280, 720): QRect(0, 0, 1280, 680), (1366, 768): QRect(0, 0, 1366, 728),
           (1920, 1080): QRect(0, 0, 1920, 1040), (2560, 1440): QRect(0, 0, 2560, 1400)}


def image_share(w) -> float:
    """The image area's share of the window (the viewer fills it once a case is listed)."""
    return w.splitter.widget(1).width() / w.width()


@pytest.mark.parametrize("screen", list(SCREENS), ids=lambda s: f"{s[0]}x{s[1]}")
def test_first_run_layout_gives_the_image_most_of_the_window(make_window, monkeypatch, qtbot, screen):
    area = SCREENS[screen]
    monkeypatch.setattr(layout, "platform_name", lambda: "xcb")
    monkeypatch.setattr(layout, "screen_areas", lambda: [QRect(area)])
    w = make_window(None, wait_model=False)
    qtbot.wait(20)
    assert layout.fits(w.geometry(), [area])  # never wider or taller than the screen
    assert image_share(w) >= layout.IMAGE_SHARE, (screen, w.splitter.sizes(), w.width())
    assert w.splitter.sizes()[2] >= layout.SIDE_WIDTH  # the findings stay whole
    # Wide enough for a useful worklist beside the image: it is shown; otherwise one key away.
    assert (w.splitter.sizes()[0] > 0) == (screen[0] >= 1920)
    assert w.worklist_action.isChecked() == (screen[0] >= 1920)


def test_panels_collapse_and_come_back_at_their_width(make_window, qtbot):
    w = make_window(None, wait_model=False)
    w.splitter.setSizes([420, 820, 380])
    before = w.splitter.sizes()
    w.worklist_action.trigger()  # F2
    w.side_action.trigger()  # F3
    assert w.splitter.sizes()[0] == 0 and w.splitter.sizes()[2] == 0
    assert not w.worklist_action.isChecked() and not w.side_action.isChecked()
    assert w.splitter.sizes()[1] == sum(before)  # the image takes all of it
    w.worklist_action.trigger()
    w.side_action.trigger()
    assert w.splitter.sizes() == before
    assert w.worklist_action.shortcut().toString() == "F2" and w.side_action.shortcut().toString() == "F3"


def test_reading_mode_leaves_the_image_and_a_findings_strip(make_window, qtbot):
    w = make_window(None, wait_model=False)
    geometry, sizes = w.geometry(), w.splitter.sizes()
    w.reading_action.trigger()  # F11
    qtbot.wait(20)
    assert w.isFullScreen() and w.panels.reading
    assert not w.menuBar().isVisible() and not w.statusBar().isVisible()
    assert not any(tb.isVisible() for tb in w.findChildren(QToolBar) if tb.window() is w)
    assert w.splitter.sizes()[0] == 0 and w.splitter.sizes()[2] == 0
    assert w.strip.isVisible() and "F11" in w.strip.text()
    # With the menu bar hidden its keys still work: F11 is a window action
    assert w.reading_action in w.actions()
    w.reading_action.trigger()
    qtbot.waitUntil(lambda: w.splitter.sizes() == sizes, timeout=3000)
    assert not w.isFullScreen() and w.geometry() == geometry and w.menuBar().isVisible()
    assert not w.strip.isVisible()



def test_image_keys_work_after_a_click_in_the_worklist(make_window, image_folder, qtbot):
    w = make_window(None, wait_model=False)
    w.add_paths([str(image_folder)])
    wait_rows(qtbot, w, 4)
    w.worklist.table.setFocus()
    qtbot.waitUntil(lambda: w.worklist.table.hasFocus(), timeout=2000)
    assert not w.viewer.is_inverted()
    qtbot.keyClick(w.worklist.table, Qt.Key.Key_I)  # focus in the worklist, not the image
    assert w.viewer.is_inverted()


def test_the_score_sheet_keeps_its_digits(make_window, image_folder, qtbot):
    w = make_window(None, wait_model=False)
    w.add_paths([str(image_folder)])
    wait_rows(qtbot, w, 4)
    first = w.worklist.visible_row_ids()[0]
    w.worklist.select_row(first)
    w.worklist._emit_now()
    w.start_scoring()
    table = w.scoring.table
    qtbot.waitUntil(lambda: table.hasFocus(), timeout=2000)
    before = dict(w.scoring.scores())
    qtbot.keyClick(table, Qt.Key.Key_2)  # "2" is also the viewer's automatic window
    assert len(w.scoring.scores()) == len(before) + 1 and 2 in w.scoring.scores().values()
    qtbot.keyClick(table, Qt.Key.Key_I)  # not a worksheet key: the image's
    assert w.viewer.is_inverted()


def test_search_and_next_case_keys(make_window, image_folder, qtbot):
    w = make_window(None, wait_model=False)
    w.add_paths([str(image_folder)])
    wait_rows(qtbot, w, 4)
    w.panels.set_shown(0, False)
    search = next(a for a in w.actions() if a.text() == "Search the worklist")
    search.trigger()  # Ctrl+F: the worklist comes back with the cursor in its search box
    assert w.splitter.sizes()[0] > 0
    qtbot.waitUntil(lambda: w.worklist.search.hasFocus(), timeout=2000)
    ids = w.worklist.visible_row_ids()
    nxt = next(a for a in w.actions() if a.text() == "Next case")
    prev = next(a for a in w.actions() if a.text() == "Previous case")
    w.worklist.select_row(ids[0])
    w.worklist._emit_now()
    nxt.trigger()
    assert w.current_row_id == ids[1]
    prev.trigger()
    prev.trigger()  # stays on the first
    assert w.current_row_id == ids[0]


def test_the_shortcut_sheet_lists_every_key(make_window):
    w = make_window(None, wait_model=False)
    sheet = dict(menu_actions.shortcut_sheet(w))
    window_keys = {k for k, _ in sheet["Window"]}
    assert {"F2", "F3", "F11", "F1", "Ctrl+F", "Ctrl+K", "Ctrl+Shift+Q"} <= window_keys
    image = " ".join(k for k, _ in sheet["Image (whenever the window has focus, unless typing)"])
    for seq, _method, _args in SHORTCUTS:
        assert seq in image
    # every viewer key has words, not a method name
    assert not any("_" in what for _k, what in sheet["Image (whenever the window has focus, unless typing)"])
    menu_actions.show_shortcuts(w)
    assert w._shortcut_sheet.isVisible()


def test_a_long_file_name_does_not_widen_the_findings(make_window, tmp_path, qtbot):
    w = make_window(None, wait_model=False)
    normal = w.side_tabs.minimumSizeHint().width()
    name = "hand_" + "0" * 180 + "11.png"
    ids = w.store.add_cases([NewCase(case_id="long", path=str(tmp_path / name), patient_id="P-" + "9" * 60)])
    w.worklist.model.add_rows([w.store.get(i) for i in ids])
    w.findings.show_row(w.store.get(ids[0]))
    qtbot.wait(10)
    assert w.side_tabs.minimumSizeHint().width() <= normal + 10
    shown = w.findings.case_label.text()
    assert "11.png" in shown and "…" in shown  # the distinguishing end stays visible
    assert name in w.findings.case_label.toolTip()


def test_layers_button_opens_the_layers_tab(make_window):
    w = make_window(None, wait_model=False)
    w.panels.set_shown(2, False)
    w.viewer.actions["layers"].trigger()
    assert w.splitter.sizes()[2] > 0 and w.side_tabs.currentWidget() is w.viewer.controls


def test_worklist_keys_tab_leaves_and_home_end_jump(make_window, image_folder, qtbot):
    w = make_window(None, wait_model=False)
    w.add_paths([str(image_folder)])
    wait_rows(qtbot, w, 4)
    table = w.worklist.table
    ids = w.worklist.visible_row_ids()
    w.worklist.select_row(ids[1])
    w.worklist._emit_now()
    table.setFocus()
    qtbot.waitUntil(lambda: table.hasFocus(), timeout=2000)
    qtbot.keyClick(table, Qt.Key.Key_End)
    assert w.worklist.current_row_id() == ids[-1]
    qtbot.keyClick(table, Qt.Key.Key_Home)
    assert w.worklist.current_row_id() == ids[0]
    qtbot.waitUntil(lambda: w.current_row_id == ids[0], timeout=3000)  # opened, as arrows do
    opened = w.current_row_id
    qtbot.keyClick(table, Qt.Key.Key_Backtab)  # Shift+Tab leaves the table; no cell walk, no case change
    qtbot.wait(300)  # past the selection debounce
    assert not table.hasFocus() and w.current_row_id == opened and w.worklist.current_row_id() == ids[0]


def test_focus_is_visible_in_the_dark_theme():
    from ra_desktop.ui.theme import load_stylesheet

    qss = load_stylesheet("dark")
    assert "QTableView:focus" in qss and "QLineEdit:focus" in qss and "QPushButton:focus" in qss

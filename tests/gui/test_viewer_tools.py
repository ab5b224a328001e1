"""Reading-software tools of the viewer (issue 23): corner text, copy and export of the view, the
right-click menu, and a toolbar that fits the narrowest image area. Each test failed before."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import QRect
from PySide6.QtTest import QTest

from ra_desktop.ui import layout
from ra_desktop.ui.viewer import view_tools
from ra_desktop.ui.viewer._toolbar import SHORTCUTS
from tests.gui.test_viewer import make_radiograph, viewer  # noqa: F401  (fixture)

pytestmark = pytest.mark.gui


def patient_radiograph(**changes):
    r = replace(make_radiograph(), patient_name="Doe^Jane", patient_id="P-0042", patient_birth_date="19580312",
                study_date="20240131", study_description="XR HAND BOTH", view_position="PA", body_part="HAND")
    return replace(r, **changes)


def key(widget, seq: str) -> None:
    ks = QtGui.QKeySequence(seq)[0]
    QTest.keyClick(widget, ks.key(), ks.keyboardModifiers())


def region(image: QtGui.QImage, rect: QRect) -> np.ndarray:
    img = image.convertToFormat(QtGui.QImage.Format.Format_RGB888).copy(rect)
    ptr = img.constBits()
    return np.frombuffer(ptr, np.uint8, img.bytesPerLine() * img.height()).copy()


def test_corner_overlays_show_patient_study_and_window_and_toggle_with_o(viewer, qtbot):
    viewer.set_radiograph(patient_radiograph())
    c = viewer.badges.corners
    assert c["top_left"].text().splitlines() == ["Doe, Jane", "ID P-0042", "Born 1958-03-12"]
    assert c["top_right"].text().splitlines() == ["2024-01-31", "XR HAND BOTH", "Right PA HAND"]
    assert "W 1000  L 2000" in c["bottom_left"].text() and "zoom" in c["bottom_left"].text()
    assert "240 × 300 px" in c["bottom_right"].text()
    assert all(label.isVisible() for label in c.values())
    vp = viewer.view.viewport()
    assert c["top_right"].geometry().right() < vp.width() and c["bottom_right"].geometry().bottom() < vp.height()
    assert not c["top_left"].geometry().intersects(viewer.badges.badge.geometry())
    viewer.resize(520, 500)  # a comparison pane: corners are cut, never drawn over each other
    qtbot.waitUntil(lambda: viewer.view.viewport().width() < 300, timeout=2000)
    assert not c["top_left"].geometry().intersects(c["top_right"].geometry())
    assert not c["bottom_left"].geometry().intersects(c["bottom_right"].geometry())
    viewer.resize(900, 700)
    key(viewer, "O")
    assert not any(label.isVisible() for label in c.values())
    assert viewer.badges.badge.isVisible()  # a mirrored hand must never pass silently
    assert not viewer.actions["overlays"].isChecked()
    key(viewer, "O")
    assert all(label.isVisible() for label in c.values()) and viewer.actions["overlays"].isChecked()


def test_overlay_header_text_is_plain_one_line_per_value_and_cut(viewer):
    hostile = "<b style='color:red'>Signed off</b>\n" + "A" * 300
    viewer.set_radiograph(patient_radiograph(patient_name=hostile, study_description="\u202eX" * 100,
                                             patient_birth_date=None, study_date=None))
    tl, tr = viewer.badges.corners["top_left"], viewer.badges.corners["top_right"]
    assert tl.textFormat() == QtCore.Qt.TextFormat.PlainText == tr.textFormat()
    lines = tl.text().splitlines()
    assert len(lines) == 2 and lines[0].startswith("<b style") and lines[0].endswith("…")
    assert all(len(line) <= view_tools.OVERLAY_CHARS for line in lines + tr.text().splitlines())
    assert "\u202e" not in tr.text() and "Born" not in tl.text()


def test_ctrl_c_copies_the_view_as_on_screen(viewer, qtbot):
    viewer.set_radiograph(patient_radiograph())
    QtWidgets.QApplication.clipboard().clear()
    key(viewer, "Ctrl+C")
    copied = QtWidgets.QApplication.clipboard().image()
    vp = viewer.view.viewport()
    assert not copied.isNull()
    assert copied.size() == vp.size() * vp.devicePixelRatio()
    plain = view_tools.grab_view(viewer, overlays=False).toImage()
    tl = QRect(viewer.badges.corners["top_left"].geometry())
    assert not np.array_equal(region(copied, tl), region(plain, tl))  # the patient text is in it
    assert viewer.badges.corners["top_left"].isVisible()  # the screen is as it was


def test_a_deidentified_copy_or_export_has_no_patient_text(viewer, tmp_path):
    viewer.set_radiograph(patient_radiograph())
    tl = QRect(viewer.badges.corners["top_left"].geometry())
    tr = QRect(viewer.badges.corners["top_right"].geometry())
    bl = QRect(viewer.badges.corners["bottom_left"].geometry())
    with_text = view_tools.grab_view(viewer, overlays=True).toImage()
    viewer.deidentify_exports = True
    plain = view_tools.grab_view(viewer, overlays=False).toImage()
    for image in (view_tools.copy_view(viewer, overlays=True),
                  QtGui.QImage(str(viewer.export_view(tmp_path / "deid.png", overlays=True)))):
        for rect in (tl, tr):
            assert np.array_equal(region(image, rect), region(plain, rect))
        assert not np.array_equal(region(image, bl), region(plain, bl))  # window and zoom stay
    assert not np.array_equal(region(with_text, bl), region(plain, bl))
    assert viewer.badges.corners["top_left"].isVisible()  # on screen the reader still sees it


def test_the_viewer_follows_the_windows_deidentify_setting(qtbot):
    from ra_desktop.settings import Settings
    from ra_desktop.ui.viewer import ViewerWidget

    host = QtWidgets.QWidget()
    host.settings = Settings(deidentify_reports=True)
    qtbot.addWidget(host)
    v = ViewerWidget(host)
    assert view_tools.deidentified(v)
    host.settings = Settings(deidentify_reports=False)
    assert not view_tools.deidentified(v)


def test_export_view_png_and_jpeg_with_or_without_annotations(viewer, tmp_path, monkeypatch):
    viewer.set_radiograph(patient_radiograph())
    viewer._on_measure(QtCore.QPointF(20, 20), "start")
    viewer._on_measure(QtCore.QPointF(200, 250), "end")
    assert viewer.measurements()
    png = viewer.export_view(tmp_path / "a.png")
    jpg = viewer.export_view(tmp_path / "a.jpg", annotations=False)
    bare = viewer.export_view(tmp_path / "b", annotations=False)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and jpg.read_bytes()[:3] == b"\xff\xd8\xff"
    assert bare.name == "b.png"
    a, b = QtGui.QImage(str(png)), QtGui.QImage(str(bare))
    vp = viewer.view.viewport()
    assert a.size() == vp.size() * vp.devicePixelRatio()
    assert a != b  # the measurement is drawn in one and not the other
    assert all(m.isVisible() for m in viewer._measurements)
    # Ctrl+Shift+S: options, then the file
    monkeypatch.setattr(view_tools, "ask_export_options", lambda v: (False, True))
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(tmp_path / "c.jpg"), "")))
    key(viewer, "Ctrl+Shift+S")
    assert (tmp_path / "c.jpg").stat().st_size > 0


def test_right_click_menu_has_the_common_actions_with_their_keys(viewer, qtbot):
    viewer.set_radiograph(patient_radiograph())
    vp = viewer.view.viewport()
    pos = vp.rect().center()
    QtWidgets.QApplication.sendEvent(vp, QtGui.QContextMenuEvent(QtGui.QContextMenuEvent.Reason.Mouse, pos,
                                                                  vp.mapToGlobal(pos)))
    menu = viewer.last_context_menu
    qtbot.waitUntil(menu.isVisible, timeout=2000)

    def all_texts(m):
        for act in m.actions():
            yield act.text()
            if act.menu():
                yield from all_texts(act.menu())
    texts = list(all_texts(menu))
    expected = {"Bone\t3", "Invert\tI", "Rotate right\tR", "Rotate left\tShift+R", "Flip left–right\tH",
                "Flip top–bottom\tV", "Fit to window\tF", "Loupe\tM", "Measure distance\tD",
                "Place joint markers\tK", "Text overlays\tO", "Copy view\tCtrl+C", "Export view…\tCtrl+Shift+S",
                "Reset window, orientation and zoom\tCtrl+Shift+0", "Arrow\tA", "Angle (three clicks)\tG",
                "Rectangle ROI\tB"}
    assert expected <= set(texts), set(texts)
    assert any(t.startswith("1:1") and t.endswith("\t0") for t in texts)
    invert = next(a for a in menu.actions() if a.text() == "Invert\tI")
    invert.trigger()
    assert viewer.is_inverted()
    menu.close()


def toolbar_hides_nothing(bar: QtWidgets.QToolBar) -> list[str]:
    """Names of toolbar actions not on a visible button (in the overflow), and the extension if shown."""
    hidden = [a.text() or a.objectName() or repr(a) for a in bar.actions()
              if not a.isSeparator() and not (bar.widgetForAction(a) and bar.widgetForAction(a).isVisible())]
    ext = bar.findChild(QtWidgets.QToolButton, "qt_toolbar_ext_button")
    if ext is not None and ext.isVisible():
        hidden.append("overflow arrow")
    return hidden


def test_toolbar_fits_the_narrowest_image_area_with_icons_and_keyed_tooltips(viewer, qtbot):
    viewer.resize(870, 600)
    qtbot.waitUntil(lambda: viewer.toolbar.width() == 870, timeout=2000)
    qtbot.wait(20)
    assert toolbar_hides_nothing(viewer.toolbar) == []
    keyed = {m for _s, m, _a in SHORTCUTS}
    for name, act in viewer.actions.items():
        assert not act.icon().isNull(), name
        assert act.toolTip(), name
    for name, method in (("invert", "toggle_invert"), ("flip_h", "toggle_flip_h"), ("loupe", "toggle_magnifier"),
                         ("reset", "reset_view"), ("overlays", "toggle_overlays"), ("rot_cw", "rotate")):
        assert method in keyed
        assert viewer.actions[name].toolTip().endswith(")"), name
    assert "(H)" in viewer.actions["flip_h"].toolTip() and "(Ctrl+Shift+0)" in viewer.actions["reset"].toolTip()
    # Flip H/V, copy and export sit in a button's menu: reachable, not in the overflow.
    menus = [w.menu() for w in viewer.toolbar.findChildren(QtWidgets.QToolButton) if w.menu()]
    in_menus = {a for m in menus for a in m.actions()}
    for name in ("flip_h", "flip_v", "copy", "copy_plain", "export"):
        assert viewer.actions[name] in in_menus, name
    on_bar = set(viewer.toolbar.actions()) | in_menus
    assert all(a in on_bar for a in viewer.actions.values())


def test_toolbar_fits_in_the_window_at_1280x720(make_window, monkeypatch, qtbot, image_folder):
    from tests.gui.conftest import wait_rows

    monkeypatch.setattr(layout, "platform_name", lambda: "xcb")
    monkeypatch.setattr(layout, "screen_areas", lambda: [QRect(0, 0, 1280, 680)])
    w = make_window(None, wait_model=False)
    w.add_paths([str(image_folder)])
    wait_rows(qtbot, w, 4)
    qtbot.waitUntil(lambda: w.viewer.isVisible() and w.viewer.toolbar.width() > 0, timeout=5000)
    qtbot.wait(50)
    assert w.viewer.toolbar.width() <= 900
    assert toolbar_hides_nothing(w.viewer.toolbar) == []
    w.set_deidentify_reports(True)
    assert view_tools.deidentified(w.viewer)
    w.set_deidentify_reports(False)
    assert not view_tools.deidentified(w.viewer)

"""ViewerWidget: greyscale, window/level, presets, invert, orientation, zoom, readout."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from ra_desktop.io.radiograph import Radiograph
from ra_desktop.render import greyscale
from ra_desktop.ui import qt_image
from ra_desktop.ui.viewer import ViewerWidget
from ra_desktop.ui.viewer import _display

H, W = 300, 240


def make_radiograph(photometric="MONOCHROME2", spacing=(0.1, 0.1), laterality="R",
                    window=(2000.0, 1000.0), shape=(H, W)) -> Radiograph:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    px = 300 + 3000 * np.exp(-(((xx - shape[1] / 2) / 50.0) ** 2)) + 40 * yy / shape[0]
    px = (px + rng.normal(0, 20, shape)).clip(0, 4095).astype(np.uint16)
    px[10, 20] = 4095
    px.setflags(write=False)
    return Radiograph(pixels=px, source_path=Path("synthetic.dcm"), format="DICOM", case_id="1.2.3",
                      bits_stored=12, photometric=photometric, laterality=laterality,
                      pixel_spacing_mm=spacing, window_center=window[0] if window else None,
                      window_width=window[1] if window else None)


@pytest.fixture
def viewer(qtbot):
    w = ViewerWidget()
    qtbot.addWidget(w)
    w.resize(900, 700)
    w.show()
    qtbot.waitExposed(w)
    # Shortcuts fire only in the active window (as on a real desktop); offscreen is always active.
    w.activateWindow()
    qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is w, timeout=2000)
    return w


def send_mouse(widget, kind, pos, button=QtCore.Qt.MouseButton.LeftButton, buttons=None):
    """Deliver a mouse event directly (QTest.mouseMove does not carry held buttons offscreen)."""
    types = {"press": QtCore.QEvent.Type.MouseButtonPress, "move": QtCore.QEvent.Type.MouseMove,
             "release": QtCore.QEvent.Type.MouseButtonRelease}
    if buttons is None:
        buttons = QtCore.Qt.MouseButton.NoButton if kind == "release" else button
    if kind == "move":
        button = QtCore.Qt.MouseButton.NoButton
    pos = QtCore.QPointF(pos)
    event = QtGui.QMouseEvent(types[kind], pos, widget.mapToGlobal(pos), button, buttons,
                              QtCore.Qt.KeyboardModifier.NoModifier)
    QtWidgets.QApplication.sendEvent(widget, event)


def scene_at(view, pos) -> QtCore.QPointF:
    inv, _ = view.viewportTransform().inverted()
    return inv.map(QtCore.QPointF(pos))


def test_window_by_api_changes_display_not_pixels(viewer):
    r = make_radiograph()
    before = r.pixels.copy()
    viewer.set_radiograph(r)
    assert viewer.window() == (2000.0, 1000.0)  # DICOM VOI is the opening window
    first = viewer.displayed_image().copy()
    with_signal = []
    viewer.window_changed.connect(lambda c, w: with_signal.append((c, w)))
    viewer.set_window(1000, 400)
    assert viewer.window() == (1000.0, 400.0)
    assert with_signal[-1] == (1000.0, 400.0)
    shown = viewer.displayed_image()
    assert not np.array_equal(shown, first)
    expected = greyscale.to_uint8(greyscale.apply_window(before, 1000, 400))
    np.testing.assert_array_equal(shown, expected)  # the shared renderer, bit for bit
    np.testing.assert_array_equal(r.pixels, before)
    # The pixmap on screen is the rendered image, not a stale one.
    grey = qt_image.qimage_to_array(viewer.image_item.pixmap().toImage())[..., 0]
    np.testing.assert_array_equal(grey, shown)


def test_window_by_mouse_drag(viewer, qtbot):
    r = make_radiograph()
    before = r.pixels.copy()
    viewer.set_radiograph(r)
    c0, w0 = viewer.window()
    first = viewer.displayed_image().copy()
    vp = viewer.view.viewport()
    start = vp.rect().center()
    send_mouse(vp, "press", start)
    send_mouse(vp, "move", start + QtCore.QPoint(100, 0), buttons=QtCore.Qt.MouseButton.LeftButton)
    c1, w1 = viewer.window()
    assert w1 > w0 and c1 == pytest.approx(c0)  # horizontal = width
    send_mouse(vp, "move", start + QtCore.QPoint(100, 50), buttons=QtCore.Qt.MouseButton.LeftButton)
    send_mouse(vp, "release", start + QtCore.QPoint(100, 50))
    c2, w2 = viewer.window()
    assert c2 > c0 and w2 == pytest.approx(w1)  # vertical = level
    qtbot.waitUntil(lambda: not np.array_equal(viewer.displayed_image(), first), timeout=1000)
    expected = greyscale.to_uint8(greyscale.apply_window(before, c2, w2))
    qtbot.waitUntil(lambda: np.array_equal(viewer.displayed_image(), expected), timeout=1000)
    np.testing.assert_array_equal(r.pixels, before)


def test_presets_and_keyboard_steps(viewer, qtbot):
    r = make_radiograph()
    viewer.set_radiograph(r)
    viewer.view.setFocus()
    qtbot.keyClick(viewer.view, QtCore.Qt.Key.Key_2)
    assert viewer.window() == pytest.approx(greyscale.auto_window(r.pixels))
    auto_c, auto_w = viewer.window()
    qtbot.keyClick(viewer.view, QtCore.Qt.Key.Key_3)
    bone_c, bone_w = viewer.window()
    assert bone_w < auto_w and bone_c > auto_c  # narrow, high
    qtbot.keyClick(viewer.view, QtCore.Qt.Key.Key_4)
    lo, hi = float(r.pixels.min()), float(r.pixels.max())
    assert viewer.window() == pytest.approx(((lo + hi) / 2, hi - lo))
    qtbot.keyClick(viewer.view, QtCore.Qt.Key.Key_1)
    assert viewer.window() == (2000.0, 1000.0)
    qtbot.keyClick(viewer.view, QtCore.Qt.Key.Key_BracketRight)
    assert viewer.window()[1] > 1000.0
    qtbot.keyClick(viewer.view, QtCore.Qt.Key.Key_Equal)
    assert viewer.window()[0] > 2000.0
    qtbot.keyClick(viewer.view, QtCore.Qt.Key.Key_Down, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert viewer.window()[0] == pytest.approx(2000.0)


def test_dicom_preset_falls_back_to_auto_without_tags(viewer):
    r = make_radiograph(window=None)
    viewer.set_radiograph(r)
    assert viewer.window() == pytest.approx(greyscale.auto_window(r.pixels))


def test_bone_preset_is_low_values_for_monochrome1():
    r = make_radiograph()
    auto_c, _ = greyscale.auto_window(r.pixels)
    c1, _ = _display.preset_window("bone", r.pixels, inverted=True)
    assert c1 < auto_c


def test_plain_arrows_are_left_for_the_worklist(viewer):
    viewer.set_radiograph(make_radiograph())
    for key in (QtCore.Qt.Key.Key_Up, QtCore.Qt.Key.Key_Down):
        event = QtGui.QKeyEvent(QtCore.QEvent.Type.KeyPress, key, QtCore.Qt.KeyboardModifier.NoModifier)
        QtWidgets.QApplication.sendEvent(viewer.view, event)
        assert not event.isAccepted()
    assert viewer.window() == (2000.0, 1000.0)


def test_invert_key(viewer, qtbot):
    r = make_radiograph()
    viewer.set_radiograph(r)
    normal = viewer.displayed_image().copy()
    viewer.view.setFocus()
    qtbot.keyClick(viewer.view, QtCore.Qt.Key.Key_I)
    assert viewer.is_inverted()
    inverted = viewer.displayed_image()
    np.testing.assert_array_equal(inverted, greyscale.to_uint8(greyscale.apply_window(r.pixels, 2000, 1000, True)))
    assert np.abs(inverted.astype(int) - (255 - normal.astype(int))).max() <= 1  # rounding only
    qtbot.keyClick(viewer.view, QtCore.Qt.Key.Key_I)
    np.testing.assert_array_equal(viewer.displayed_image(), normal)


def test_monochrome1_inverted_after_windowing(viewer):
    r1 = make_radiograph(photometric="MONOCHROME1")
    viewer.set_radiograph(r1)
    viewer.set_window(2000, 1000)
    shown = viewer.displayed_image()
    np.testing.assert_array_equal(shown, greyscale.to_uint8(greyscale.apply_window(r1.pixels, 2000, 1000, True)))
    # A value below the window is black in MONOCHROME2, so white in MONOCHROME1 (not mid-grey).
    low = r1.pixels < 1500
    assert low.any() and (shown[low] == 255).all()


def test_rotate_flip_display_only_and_badge(viewer, qtbot):
    r = make_radiograph(laterality="R")
    before = r.pixels.copy()
    viewer.set_radiograph(r)
    shown = viewer.displayed_image().copy()
    t0 = viewer.view.transform()
    assert viewer.orientation_text() == "R"
    viewer.view.setFocus()
    qtbot.keyClick(viewer.view, QtCore.Qt.Key.Key_H)
    t1 = viewer.view.transform()
    assert t1.m11() == pytest.approx(-t0.m11())  # mirrored in the view transform
    assert viewer.orientation_text() == "R (flipped)"
    assert "flipped" in viewer.badges.badge.text()
    assert viewer.badges.badge.isVisible()
    viewer.rotate(90)
    assert viewer.view.transform() != t1
    assert viewer.orientation_text().startswith("R (flipped)") and "90" in viewer.orientation_text()
    viewer.toggle_flip_v()  # H + V flips = a 180° turn: no longer a mirror image
    assert "flipped" not in viewer.orientation_text()
    np.testing.assert_array_equal(r.pixels, before)
    np.testing.assert_array_equal(viewer.displayed_image(), shown)
    assert viewer.image_item.transform().isIdentity()
    viewer.reset_view()
    assert viewer.orientation_text() == "R"


def test_unknown_laterality_is_said():
    assert _display.orientation_text(None, True, False, 0) == ("L/R ? (flipped)", True)


def test_zoom_about_cursor_keeps_point_fixed(viewer):
    viewer.set_radiograph(make_radiograph())
    view = viewer.view
    for pos in (QtCore.QPoint(200, 150), QtCore.QPoint(500, 400)):
        before = scene_at(view, pos)
        z0 = viewer.zoom_factor()
        event = QtGui.QWheelEvent(QtCore.QPointF(pos), QtCore.QPointF(view.viewport().mapToGlobal(pos)),
                                  QtCore.QPoint(0, 0), QtCore.QPoint(0, 240), QtCore.Qt.MouseButton.NoButton,
                                  QtCore.Qt.KeyboardModifier.NoModifier, QtCore.Qt.ScrollPhase.NoScrollPhase, False)
        QtWidgets.QApplication.sendEvent(view.viewport(), event)
        assert viewer.zoom_factor() == pytest.approx(z0 * 1.25 ** 2)
        after = scene_at(view, pos)
        assert abs(after.x() - before.x()) < 1 and abs(after.y() - before.y()) < 1


def test_fit_and_one_to_one(viewer):
    viewer.set_radiograph(make_radiograph())
    viewer.one_to_one()
    assert viewer.zoom_factor() == 1.0
    viewer.fit()
    vp = viewer.view.viewport().rect()
    corners = [viewer.view.mapFromScene(QtCore.QPointF(x, y)) for x, y in ((0, 0), (W, H))]
    assert all(vp.contains(c) for c in corners)
    assert viewer.zoom_factor() == pytest.approx(min(vp.width() / W, vp.height() / H) * 0.98)


def test_pixel_readout_contains_raw_value(viewer, qtbot):
    r = make_radiograph()
    viewer.set_radiograph(r)
    viewer.one_to_one()
    view = viewer.view
    x, y = 20, 10
    # The screen pixel that contains the image pixel's centre (mapFromScene would round up).
    centre = view.viewportTransform().map(QtCore.QPointF(x + 0.5, y + 0.5))
    pos = QtCore.QPoint(int(np.floor(centre.x())), int(np.floor(centre.y())))
    with qtbot.waitSignal(viewer.pixel_info) as blocker:
        send_mouse(view.viewport(), "move", pos, buttons=QtCore.Qt.MouseButton.NoButton)
    text = blocker.args[0]
    assert f"x {x}" in text and f"y {y}" in text
    assert f"value {int(r.pixels[y, x])}" in text and "4095" in text
    assert viewer.readout.text() == text


def test_clear_blanks_viewer(viewer):
    viewer.set_radiograph(make_radiograph())
    viewer.clear()
    assert viewer.radiograph is None and viewer.displayed_image() is None
    assert not viewer.image_item.isVisible()
    assert viewer.pixel_text(5, 5) == ""


def test_float_and_signed_pixels_use_exact_or_binned_lut():
    signed = np.array([[-1000, 0, 1000]], dtype=np.int16)
    lut = _display.WindowLut(signed)
    np.testing.assert_array_equal(lut.render(0, 2000, False),
                                  greyscale.to_uint8(greyscale.apply_window(signed, 0, 2000)))
    floats = np.array([[0.0, 0.5, 1.0]], dtype=np.float32)
    out = _display.WindowLut(floats).render(0.5, 1.0, False)
    assert list(out[0]) == [0, 128, 255]


@pytest.mark.parametrize("how", ["middle", "space"])
def test_pan_moves_view_not_window(viewer, qtbot, how):
    viewer.set_radiograph(make_radiograph())
    viewer.one_to_one()
    view, vp = viewer.view, viewer.view.viewport()
    start = QtCore.QPoint(300, 300)
    before = scene_at(view, start)
    window = viewer.window()
    if how == "middle":
        button = QtCore.Qt.MouseButton.MiddleButton
    else:
        button = QtCore.Qt.MouseButton.LeftButton
        view.setFocus()
        qtbot.keyPress(view, QtCore.Qt.Key.Key_Space)
    send_mouse(vp, "press", start, button=button)
    send_mouse(vp, "move", start + QtCore.QPoint(40, 25), buttons=button)
    send_mouse(vp, "release", start + QtCore.QPoint(40, 25), button=button)
    if how == "space":
        qtbot.keyRelease(view, QtCore.Qt.Key.Key_Space)
    after = scene_at(view, start + QtCore.QPoint(40, 25))
    assert abs(after.x() - before.x()) < 1 and abs(after.y() - before.y()) < 1  # content followed
    assert viewer.window() == window


def test_layers_need_a_radiograph(viewer):
    with pytest.raises(RuntimeError):
        viewer.set_layer("gradcam", np.zeros((H, W), np.float32), signed=False)
    with pytest.raises(ValueError):
        viewer.set_layer("occlusion", None)

"""ViewerWidget: heat-map layers, alignment, unseen hatch, educator ground truth, measurements."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from ra_desktop.io.radiograph import Radiograph
from ra_desktop.render import colormaps, overlay
from ra_desktop.ui import qt_image
from ra_desktop.ui.viewer import ViewerWidget
from ra_desktop.ui.viewer import _display
from ra_desktop.ui.viewer.items import mask_contour

H, W = 200, 160


def make_radiograph(spacing=(0.1, 0.1)) -> Radiograph:
    px = np.full((H, W), 1000, dtype=np.uint16)
    px.setflags(write=False)
    return Radiograph(pixels=px, source_path=Path("s.png"), format="PNG", case_id="sha256:0", bits_stored=12,
                      laterality="L", pixel_spacing_mm=spacing, window_center=1000, window_width=2000)


@pytest.fixture
def viewer(qtbot):
    w = ViewerWidget()
    qtbot.addWidget(w)
    w.resize(900, 700)
    w.show()
    qtbot.waitExposed(w)
    w.set_radiograph(make_radiograph())
    return w


def hot_pixel_map(x: int, y: int) -> np.ndarray:
    m = np.zeros((H, W), dtype=np.float32)
    m[y, x] = 1.0
    return m


def send_mouse(widget, kind, pos, buttons):
    types = {"press": QtCore.QEvent.Type.MouseButtonPress, "move": QtCore.QEvent.Type.MouseMove,
             "release": QtCore.QEvent.Type.MouseButtonRelease}
    button = QtCore.Qt.MouseButton.NoButton if kind == "move" else QtCore.Qt.MouseButton.LeftButton
    pos = QtCore.QPointF(pos)
    event = QtGui.QMouseEvent(types[kind], pos, widget.mapToGlobal(pos), button, buttons,
                              QtCore.Qt.KeyboardModifier.NoModifier)
    QtWidgets.QApplication.sendEvent(widget, event)


def test_layer_aligns_pixel_for_pixel_under_any_transform(viewer):
    x, y = 37, 121
    viewer.set_layer("gradcam", hot_pixel_map(x, y), signed=False)
    item = viewer.layer_item("gradcam")
    assert item.pixmap().size() == viewer.image_item.pixmap().size()
    for p in (QtCore.QPointF(x + 0.5, y + 0.5), QtCore.QPointF(0, 0), QtCore.QPointF(W, H)):
        assert item.mapToScene(p) == viewer.image_item.mapToScene(p)
    # The hot pixel in the overlay's own pixmap is at (x, y) ...
    rgba = qt_image.qimage_to_array(item.pixmap().toImage())
    assert tuple(rgba[y, x, :3]) == tuple(colormaps.lut("jet")[255])
    # ... and on screen it lands where the image pixel (x, y) lands, rotated and flipped too.
    viewer.set_layer_opacity("gradcam", 1.0)
    viewer.set_window(5000, 10)  # the image itself black, so only the overlay shows
    viewer.rotate(90)
    viewer.toggle_flip_h()
    viewer.view.set_zoom(4.0)
    viewer.view.centerOn(viewer.image_item.mapToScene(QtCore.QPointF(x + 0.5, y + 0.5)))
    shot = qt_image.qimage_to_array(viewer.view.viewport().grab().toImage())
    r, g, b = (shot[..., i].astype(int) for i in range(3))
    # jet: 0 is dark blue, 1 dark red; the (smoothly scaled) hot pixel is where red beats blue.
    red = (r > b + 20) & (g < 30)
    ys, xs = np.nonzero(red)
    assert xs.size > 0
    expected = viewer.view.mapFromScene(viewer.image_item.mapToScene(QtCore.QPointF(x + 0.5, y + 0.5)))
    assert abs(xs.mean() - expected.x()) <= 1.5 and abs(ys.mean() - expected.y()) <= 1.5


def test_layer_toggle_opacity_colormap(viewer):
    viewer.set_layer("gradcam", hot_pixel_map(5, 5), signed=False)
    item = viewer.layer_item("gradcam")
    assert item.isVisible()
    viewer.set_layer_visible("gradcam", False)
    assert not item.isVisible() and not viewer.controls.boxes["gradcam"].check.isChecked()
    viewer.set_layer_opacity("gradcam", 0.3)
    assert item.opacity() == pytest.approx(0.3)
    assert viewer.controls.boxes["gradcam"].slider.value() == 30
    viewer.controls.boxes["gradcam"].slider.setValue(70)  # and the slider drives the item
    assert item.opacity() == pytest.approx(0.7)
    # Alpha inside the seen area is constant: opacity is one number for the layer, not value-driven.
    rgba = qt_image.qimage_to_array(item.pixmap().toImage())
    assert set(np.unique(rgba[..., 3])) == {255}
    viewer.set_layer_colormap("gradcam", "viridis")
    rgba = qt_image.qimage_to_array(item.pixmap().toImage())
    assert tuple(rgba[5, 5, :3]) == tuple(colormaps.lut("viridis")[255])
    assert viewer.controls.boxes["gradcam"].combo.currentText() == "viridis"
    with pytest.raises(ValueError):
        viewer.set_layer_colormap("shap", "jet")  # a signed map needs a diverging map
    with pytest.raises(ValueError):
        viewer.set_layer("gradcam", np.zeros((10, 10), np.float32), signed=False)
    viewer.set_layer("gradcam", None)
    assert viewer.layer_item("gradcam") is None


def test_shap_is_diverging_centred_on_zero(viewer):
    m = np.zeros((H, W), dtype=np.float32)
    m[0, 0], m[0, 1] = 0.5, -0.25  # asymmetric: zero must still be the white middle
    viewer.set_layer("shap", m, signed=True)
    viewer.set_layer_visible("shap", True)
    rgba = qt_image.qimage_to_array(viewer.layer_item("shap").pixmap().toImage())
    table = colormaps.lut("rdbu")
    assert tuple(rgba[0, 0, :3]) == tuple(table[255])  # toward RA: red end
    assert rgba[0, 0, 0] > rgba[0, 0, 2]
    assert rgba[0, 1, 2] > rgba[0, 1, 0]  # toward normal: blue
    assert tuple(rgba[5, 5, :3]) == tuple(table[128])  # zero: the neutral middle


def test_nan_outside_seen_region_is_transparent_and_read_out(viewer):
    m = np.full((H, W), 0.5, dtype=np.float32)
    m[:, :20] = np.nan
    viewer.set_layer("gradcam", m, signed=False)
    rgba = qt_image.qimage_to_array(viewer.layer_item("gradcam").pixmap().toImage())
    assert (rgba[:, :20, 3] == 0).all() and (rgba[:, 20:, 3] == 255).all()
    assert "Grad-CAM not seen" in viewer.pixel_text(5, 5)
    assert "Grad-CAM 0.500" in viewer.pixel_text(50, 5)


def test_seen_mask_hatch_toggle(viewer):
    assert viewer.seen_item() is None and not viewer.controls.seen_check.isEnabled()
    seen = np.zeros((H, W), bool)
    seen[:, 40:120] = True
    viewer.set_seen_mask(seen)
    item = viewer.seen_item()
    assert item.box == (40, 0, 120, H) and viewer.controls.seen_check.isChecked()
    rgba = _painted(item)
    assert rgba[:, 40:120, 3].max() == 0  # nothing over what the model saw
    # The unseen strips: the same stripes as overlay.unseen_mask_rgba, pixel for pixel.
    reference = overlay.unseen_mask_rgba(seen)
    for part in (np.s_[:, :40], np.s_[:, 120:]):
        np.testing.assert_array_equal(rgba[part][..., 3] > 0, reference[part][..., 3] > 0)
        assert abs(int(rgba[part][..., 3].max()) - 70) <= 1 and (rgba[part][rgba[part][..., 3] > 0][:, 0] == 255).all()
    viewer.controls.seen_check.setChecked(False)
    assert not item.isVisible()
    viewer.set_seen_mask(None)
    assert viewer.seen_item() is None
    with pytest.raises(ValueError, match="not a box"):
        viewer.set_seen_mask(np.eye(H, W, dtype=bool))


def _painted(item) -> np.ndarray:
    """What an item paints at 1:1, as straight RGBA (the scene's pixel grid is the image's)."""
    from PySide6 import QtGui, QtWidgets

    rect = item.boundingRect().toAlignedRect()
    image = QtGui.QImage(rect.right() + 1, rect.bottom() + 1, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(0)
    painter = QtGui.QPainter(image)
    item.paint(painter, QtWidgets.QStyleOptionGraphicsItem(), None)
    painter.end()
    return qt_image.qimage_to_array(image)


def test_educator_outlines_only_with_ground_truth(viewer, tmp_path):
    assert viewer.ground_truth_item() is None
    assert not viewer.controls.gt_check.isEnabled()
    mask = np.zeros((H, W), bool)
    mask[50:60, 50:70] = True
    np.save(tmp_path / "lesions.npy", mask)
    gt = {"joints": {"MCP2": {"center": [40, 50], "radius_px": 12, "severity": 2, "lesions": []},
                     "PIP3": {"center": [90, 30], "radius_px": 8, "severity": 0, "lesions": []}},
          "lesion_mask": str(tmp_path / "lesions.npy")}
    viewer.set_ground_truth(gt)
    item = viewer.ground_truth_item()
    assert len(item.circles) == 1  # severity 0 joints are not outlined
    assert item.circles[0].rect() == QtCore.QRectF(28, 38, 24, 24)
    assert [lab.text() for lab in item.labels] == ["MCP2 · S2"]
    assert item.contour is not None
    contour = qt_image.qimage_to_array(item.contour.pixmap().toImage())[..., 3] > 0
    np.testing.assert_array_equal(contour, mask_contour(mask))
    assert viewer.controls.gt_check.isEnabled() and viewer.controls.gt_check.isChecked()
    viewer.controls.gt_check.setChecked(False)
    assert not item.isVisible()
    viewer.set_ground_truth(None)
    assert viewer.ground_truth_item() is None and not viewer.controls.gt_check.isEnabled()


def test_new_radiograph_drops_previous_case_layers(viewer):
    viewer.set_layer("gradcam", hot_pixel_map(1, 1), signed=False)
    viewer.set_ground_truth({"joints": {}})
    viewer.set_radiograph(make_radiograph())
    assert viewer.layer_item("gradcam") is None and viewer.ground_truth_item() is None
    assert not viewer.controls.boxes["gradcam"].isEnabled()


def _measure(viewer, p0, p1):
    viewer.use_measure_tool()
    view, vp = viewer.view, viewer.view.viewport()
    a, b = view.mapFromScene(QtCore.QPointF(*p0)), view.mapFromScene(QtCore.QPointF(*p1))
    send_mouse(vp, "press", a, QtCore.Qt.MouseButton.LeftButton)
    send_mouse(vp, "move", b, QtCore.Qt.MouseButton.LeftButton)
    send_mouse(vp, "release", b, QtCore.Qt.MouseButton.NoButton)
    return viewer.measurements()[-1]


def test_measurement_mm_with_spacing_px_without(viewer, qtbot):
    viewer.one_to_one()
    viewer.view.centerOn(W / 2, H / 2)
    before = viewer.window()
    assert _measure(viewer, (20, 50), (120, 50)) == "10.0 mm"
    assert viewer.window() == before  # the measure tool does not window
    viewer.set_radiograph(make_radiograph(spacing=None))
    viewer.one_to_one()
    viewer.view.centerOn(W / 2, H / 2)
    assert _measure(viewer, (20, 50), (20, 150)) == "100.0 px"
    assert len(viewer.measurements()) == 1
    viewer.clear_measurements()
    assert viewer.measurements() == []


def test_anisotropic_spacing_uses_row_for_y_and_column_for_x():
    spacing = (0.2, 0.1)  # (row, column) as in DICOM Pixel Spacing
    assert _display.distance((0, 0), (100, 0), spacing) == (pytest.approx(10.0), "mm")
    assert _display.distance((0, 0), (0, 100), spacing) == (pytest.approx(20.0), "mm")
    assert _display.distance((0, 0), (30, 40), None) == (pytest.approx(50.0), "px")


def test_controls_labels_and_caption(viewer):
    texts = [lab.text() for lab in viewer.controls.findChildren(QtWidgets.QLabel)]
    assert any("not where the disease is" in t for t in texts)
    assert "high attention →" in texts and "toward RA →" in texts and "← toward normal" in texts


def test_qt_image_round_trip():
    rgba = np.random.default_rng(1).integers(0, 256, (7, 5, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    np.testing.assert_array_equal(qt_image.qimage_to_array(qt_image.rgba_to_qimage(rgba)), rgba)
    grey = np.arange(35, dtype=np.uint8).reshape(7, 5)
    out = qt_image.qimage_to_array(qt_image.grey_to_qimage(grey))
    np.testing.assert_array_equal(out[..., 0], grey)


def test_mask_contour_band():
    mask = np.zeros((12, 12), bool)
    mask[2:10, 2:10] = True
    one, two = mask_contour(mask), mask_contour(mask, thickness=2)
    assert one.sum() == 28 and two.sum() == 28 + 20  # 8×8 ring, then the 6×6 ring inside it
    assert not (one & ~mask).any()  # drawn inside the lesion, never outside


def test_a_layer_coloured_ahead_on_the_lane_is_drawn_as_the_viewer_would_colour_it(viewer, monkeypatch):
    from ra_desktop.render import overlay

    rng = np.random.default_rng(2)
    values = rng.random((H, W)).astype(np.float32)
    cmap = viewer.layer_state("gradcam")["cmap"]
    viewer.set_layer("gradcam", values, signed=False)
    fresh = qt_image.qimage_to_array(viewer.layer_item("gradcam").pixmap().toImage())
    overlay.colour_ahead(values, cmap, signed=False)  # as the inference lane does
    calls = []
    monkeypatch.setattr(overlay, "colorize", lambda *a, **k: calls.append(a) or np.zeros((H, W, 4), np.uint8))
    viewer.set_layer("gradcam", values, signed=False)
    assert calls == []  # nothing coloured on the GUI thread
    assert np.array_equal(qt_image.qimage_to_array(viewer.layer_item("gradcam").pixmap().toImage()), fresh)
    viewer.set_layer_colormap("gradcam", "viridis")  # another colour map: coloured here, as before
    assert len(calls) == 1


def test_a_display_rendered_ahead_is_shown_without_rendering_on_the_gui_thread(qtbot, monkeypatch):
    from ra_desktop.render import window

    r = make_radiograph()
    w = ViewerWidget()
    qtbot.addWidget(w)
    w.set_radiograph(r)
    fresh = w.displayed_image().copy()
    window.render_ahead(r)  # as the inference lane does before handing the image over
    calls, render = [], window.WindowLut.render
    monkeypatch.setattr(window.WindowLut, "render", lambda *a, **k: calls.append(a) or render(*a, **k))
    w.set_radiograph(r)
    assert calls == [] and np.array_equal(w.displayed_image(), fresh)
    w.set_window(*(v * 1.1 for v in w.window()))  # the reader's own window: rendered here
    assert len(calls) == 1

"""A JPEG 2000 study's reduced-resolution preview in the viewer and the window: painted at the full
image's geometry, a picture only (no readout, no tools), replaced by the full image with the view
kept; a stale preview never shows over the next case."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore

from ra_desktop.io import load_radiograph, preview
from ra_desktop.ui.viewer import ViewerWidget
from ra_desktop.ui.viewer import preview as viewer_preview
from ra_desktop.ui.viewer.view import Tool, ZoomMode
from tests.gui.conftest import wait_rows
from tests.gui.test_viewer import send_mouse
from tests.io_fixtures import j2k_dicom


@pytest.fixture(autouse=True)
def small_previews(monkeypatch):
    monkeypatch.setattr(preview, "MIN_SIDE", 100)  # 512 x 400 test images get a level-2 preview


@pytest.fixture
def viewer(qtbot):
    w = ViewerWidget()
    qtbot.addWidget(w)
    w.resize(900, 700)
    w.show()
    qtbot.waitExposed(w)
    return w


def _study(tmp_path, **tags):
    got = []
    full = load_radiograph(j2k_dicom(tmp_path / "a.dcm", **tags), on_preview=got.append)
    return got[0], full


def test_the_preview_shows_at_the_full_geometry_then_the_full_image_keeps_the_view(viewer, tmp_path):
    p, full = _study(tmp_path, PixelSpacing=[0.1, 0.1])
    viewer.show_preview(p)
    assert viewer.radiograph is None and viewer.preview_shape == (512, 400)
    rect = viewer.image_item.sceneBoundingRect()
    assert (rect.width(), rect.height()) == pytest.approx((400, 512))  # 100 x 128 pixels, scaled up
    assert viewer.view.image_rect == QtCore.QRectF(0, 0, 400, 512)
    assert viewer.readout.text() == viewer_preview.NOTE
    # a picture only: no pixel readout, no window/level, no measurement
    assert viewer.pixel_text(50, 50) == "" and viewer.displayed_image() is None
    viewer.use_measure_tool()
    centre = viewer.view.mapFromScene(QtCore.QPointF(200, 256))
    for kind, dx in (("press", 0), ("move", 60), ("release", 60)):
        send_mouse(viewer.view.viewport(), kind, centre + QtCore.QPoint(dx, 0))
    assert viewer.measurements() == []
    viewer.use_window_tool()
    viewer.view.set_zoom(viewer.view.zoom * 2)  # the reader zooms the preview
    viewer.view.zoom_mode = ZoomMode.MANUAL
    viewer.rotate(90)
    zoom = viewer.view.zoom
    viewer.set_radiograph(full)
    assert viewer.preview_shape is None and viewer.radiograph is full
    assert viewer.view.zoom == pytest.approx(zoom) and viewer.view.rotation == 90  # the view stays
    assert viewer.image_item.transform().isIdentity()
    assert viewer.image_item.sceneBoundingRect() == QtCore.QRectF(0, 0, 400, 512)
    assert viewer.displayed_image().shape == (512, 400) and viewer.pixel_text(50, 50).startswith("x 50")
    assert viewer.view.tools_enabled and viewer.view.tool is Tool.WINDOW


def test_the_preview_has_the_full_images_first_window_and_inversion(viewer, tmp_path):
    p, full = _study(tmp_path, photometric="MONOCHROME1", WindowCenter="1800", WindowWidth="2400")
    viewer.show_preview(p)
    shown = viewer.image_item.pixmap().toImage()
    viewer.set_radiograph(full)
    ref = viewer.displayed_image()
    assert abs(shown.pixelColor(50, 60).value() - float(ref[240:244, 200:204].mean())) < 8
    assert viewer.window() == (1800.0, 2400.0)


def test_a_new_case_or_a_failed_decode_drops_the_preview(viewer, tmp_path):
    p, full = _study(tmp_path)
    viewer.show_preview(p)
    viewer.drop_preview()
    assert viewer.preview_shape is None and not viewer.image_item.isVisible()
    viewer.show_preview(p)
    other = full.__class__(**{**full.__dict__, "pixels": np.zeros((300, 200), np.uint16)})
    viewer.set_radiograph(other)  # another image: a fresh open, fitted
    assert viewer.view.zoom_mode is ZoomMode.FIT and viewer.image_item.transform().isIdentity()
    viewer.drop_preview()  # no preview: the image stays
    assert viewer.radiograph is other


def test_the_controller_forwards_only_the_current_cases_preview_and_always_releases_the_lane(qtbot, tmp_path):
    from ra_desktop.worker.jobs import JobController

    jobs = JobController()
    p, _ = _study(tmp_path)
    first = jobs.open_case(1, "a.dcm", ())
    jobs.open_case(2, "b.dcm", ())  # the reader moved on
    got = []
    jobs.open_preview.connect(lambda row, pv: got.append(row))
    jobs._on_preview(first, p)
    assert got == [] and p.painted.is_set()
    p.painted.clear()
    jobs._on_preview(jobs.current_open_id, p)
    assert got == [2] and p.painted.is_set()
    jobs.thread.cancel_open()


def test_the_window_paints_the_preview_before_the_image(make_window, qtbot, tmp_path):
    folder = tmp_path / "studies"
    folder.mkdir()
    j2k_dicom(folder / "a.dcm")
    w = make_window(None)
    order = []
    w.jobs.open_preview.connect(lambda row, p: order.append(("preview", w.viewer.preview_shape)))
    w.jobs.open_image.connect(lambda row, r, gt: order.append(("image", w.viewer.preview_shape)))
    w.add_paths([str(folder)])
    wait_rows(qtbot, w, 1)
    row = w.worklist.model.rows()[0]
    with qtbot.waitSignal(w.jobs.open_finished, timeout=30000):
        w.open_case(row.id)
    # the preview was on screen (connected after the window's slots) and then the image replaced it
    assert order[-2:] == [("preview", (512, 400)), ("image", None)]
    assert w.viewer.preview_shape is None and w.viewer.radiograph.pixels.shape == (512, 400)
    from ra_desktop.io import offdecode

    # the window decoded it in its decoding process (the GIL stays free for painting)
    assert offdecode.enabled() and offdecode.counts()["process"] >= 2  # the preview and the image

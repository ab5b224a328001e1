"""The marker explorer driven like a teacher: sliders, the twin view, the readout, presentation mode."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from ra_desktop.teaching.explorer import SEQUENCE, preset_scene
from ra_desktop.ui.explorer_window import ExplorerWindow

PREVIEW, FULL = 200, 400  # small: plumbing, not looks


@pytest.fixture(scope="module")
def model_lane(tiny_model_dir):
    from ra_desktop.model import load_model
    from ra_desktop.teaching.lane import ModelLane

    lane = ModelLane(load_model(tiny_model_dir, "cpu"))
    yield lane
    lane.shutdown()


def _open(qtbot, lane) -> ExplorerWindow:
    w = ExplorerWindow(lane, preview_size=PREVIEW, full_size=FULL, settle_ms=30)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    return w


def _settled(w: ExplorerWindow) -> bool:
    """The full image of the current scene is on screen with its complete readout."""
    ro = w.readout
    return (w.shown is not None and w.shown.size == FULL and w.shown.scene == w.scene and ro is not None
            and ro[0] is w.shown and (bool(w.bars.rows()) or not w.scene.present())
            and ro[1].shap is not None)  # the final readout (SHAP follows P(RA) and Grad-CAM)


def test_a_slider_changes_the_image_and_the_score_and_the_twin_stays(qtbot, model_lane):
    w = _open(qtbot, model_lane)
    qtbot.waitUntil(lambda: _settled(w), timeout=20000)
    before = np.array(w.lesion_view.radiograph.pixels)
    twin_before = np.array(w.twin_view.radiograph.pixels)
    p_before = w.readout[1].probability
    assert w.p_label.text().startswith("P(RA)") and "synthetic" in w.caption.text()
    w.select_joint("MCP2")
    w.set_level("erosion", 3)  # as a slider moves: a preview first, then the full size
    w.set_level("osteopenia", 3)
    assert w.scene.level("MCP2", "erosion") == 3.0 and w.slider_labels["erosion"].text() == "3.0"
    qtbot.waitUntil(lambda: _settled(w), timeout=20000)
    after = w.lesion_view.radiograph.pixels
    assert after.shape == before.shape and not np.array_equal(after, before)
    assert np.array_equal(w.twin_view.radiograph.pixels, twin_before)  # the twin is the same hand
    assert w.readout[1].probability != p_before
    assert [label for label, _ in w.bars.rows()][:2] == ["Erosion", "Osteopenia"]
    assert w.lesion_view.layer_item("gradcam") is not None and w.lesion_view.layer_item("gradcam").isVisible()
    w.cam_opacity.setValue(60)
    assert w.lesion_view.layer_item("gradcam").opacity() == pytest.approx(0.6)
    w.cam_check.setChecked(False)
    assert not w.lesion_view.layer_item("gradcam").isVisible()
    # Back to the first hand: its readout is remembered, the model does not run again.
    runs = w._readouts.runs
    w.set_level("erosion", 0)
    w.set_level("osteopenia", 0)
    qtbot.waitUntil(lambda: _settled(w), timeout=20000)
    assert w.readout[1].probability == p_before and w._readouts.runs == runs
    assert np.array_equal(w.lesion_view.radiograph.pixels, before)
    # Ulnar deviation is not drawn at a PIP: its slider is off there.
    w.select_joint("PIP3")
    assert not w.sliders["deviation"].isEnabled() and w.sliders["erosion"].isEnabled()


def test_zoom_pan_and_window_stay_linked_across_updates(qtbot, model_lane):
    w = _open(qtbot, model_lane)
    qtbot.waitUntil(lambda: w.shown is not None and w.shown.size == FULL, timeout=20000)
    w.lesion_view.view.set_view_state(2.5, 0.4, 0.35)
    for a, b in zip(w.twin_view.view.view_state(), w.lesion_view.view.view_state()):
        assert a == pytest.approx(b, abs=1e-3)
    w.twin_view.set_window(1500.0, 900.0)
    assert w.lesion_view.window() == pytest.approx((1500.0, 900.0))
    w.apply_preset("late RA")  # a new image keeps the teacher's zoom, pan and window
    qtbot.waitUntil(lambda: w.shown.scene == w.scene and w.shown.size == FULL, timeout=20000)
    assert w.lesion_view.view.view_state()[0] == pytest.approx(2.5, abs=1e-3)
    assert w.twin_view.view.view_state() == pytest.approx(w.lesion_view.view.view_state(), abs=1e-3)
    assert w.twin_view.window() == pytest.approx((1500.0, 900.0))
    # A double click on a joint of either hand selects it.
    w.twin_view.view.fit()
    x, y = w.shown.ground_truth["joints"]["PIP4"]["center"]
    where = w.twin_view.view.mapFromScene(x, y)
    qtbot.mouseDClick(w.twin_view.view.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert w.joint == "PIP4" and w.joints.currentItem().text() == "PIP4"
    assert w.nearest_joint(0, 0) is None  # far from every joint: nothing picked


def test_presentation_mode_steps_through_the_sequence_and_esc_leaves(qtbot, model_lane):
    w = _open(qtbot, model_lane)
    w.enter_presentation()
    assert w.presenting and w.isFullScreen() and not w.controls.isVisible()
    assert w.scene == preset_scene(SEQUENCE[0], w.scene.hand) and w.title.text().startswith("1 / 5")
    focus = w.lesion_view.view  # keys reach the explorer even where a viewer has the focus
    for key, index in ((Qt.Key.Key_PageDown, 1), (Qt.Key.Key_Space, 2), (Qt.Key.Key_PageDown, 3),
                       (Qt.Key.Key_Backspace, 2), (Qt.Key.Key_PageUp, 1)):
        qtbot.keyClick(focus, key)
        assert w.sequence_index == index and w.scene == preset_scene(SEQUENCE[index], w.scene.hand)
    qtbot.waitUntil(lambda: w.shown is not None and w.shown.scene == w.scene, timeout=20000)
    qtbot.keyClick(focus, Qt.Key.Key_Escape)
    assert not w.presenting and not w.isFullScreen() and w.controls.isVisible()
    qtbot.keyClick(focus, Qt.Key.Key_PageDown)  # outside presentation the keys are the viewer's again
    assert w.sequence_index == 1


def test_without_a_model_the_images_work_and_it_says_why(qtbot):
    w = ExplorerWindow(None, no_model_reason="no model is loaded (test)", preview_size=PREVIEW, full_size=FULL)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.shown is not None and w.shown.size == FULL, timeout=20000)
    assert "no model is loaded (test)" in w.model_label.text() and w.p_label.text() == "P(RA) —"
    assert w.readout is None and w.lesion_view.radiograph is not None
    # A readout without a verdict (out of distribution) shows no P(RA), no bars and no map.
    from ra_desktop.teaching.readout import Readout

    w._on_readout(w.shown, Readout("demo 1.0", None, None, 3.2, False, None, reason="out of distribution"), "")
    assert w.p_label.text() == "No verdict" and w.bars.rows() == [] and "out of distribution" in w.bars.note
    assert w.lesion_view.layer_item("gradcam") is None


def test_open_explorer_reads_through_the_windows_lane_and_again_when_a_model_is_ready(qtbot, model_lane):
    from PySide6.QtCore import QObject, Signal
    from PySide6.QtWidgets import QWidget

    from ra_desktop.ui.explorer_window import open_explorer

    class Jobs(QObject):  # the main window's JobController, as far as the explorer uses it
        model_ready = Signal(object)
        thread = model_lane
        has_model = True

    window = QWidget()
    qtbot.addWidget(window)
    window.jobs = Jobs()
    explorer = open_explorer(window)
    assert window._explorer is explorer and explorer.isVisible() and explorer.parent() is window
    explorer.full_size = FULL
    explorer.request(full=True)
    qtbot.waitUntil(lambda: _settled(explorer), timeout=20000)
    runs = explorer._readouts.runs
    window.jobs.model_ready.emit(None)  # a new model: the hand on screen is read again
    qtbot.waitUntil(lambda: explorer._readouts.runs == runs + 1, timeout=20000)
    explorer.close()


def test_a_failing_model_or_renderer_is_said_and_the_window_goes_on(qtbot, monkeypatch):
    from ra_desktop.teaching.lane import ModelLane

    class Broken:  # a model whose forward pass raises (a damaged install, say)
        def __getattr__(self, name):
            raise RuntimeError("weights damaged")

    lane = ModelLane(Broken())
    try:
        w = _open(qtbot, lane)
        qtbot.waitUntil(lambda: "could not read this hand" in w.model_label.text(), timeout=20000)
        assert "weights damaged" in w.model_label.text() and w.p_label.text() == "P(RA) —"
        assert w.shown is not None  # the hand is still drawn
        shown = w.shown

        def no_render(*a, **k):
            raise MemoryError("no memory for the image")

        monkeypatch.setattr("ra_desktop.ui.explorer_window.render_pair", no_render)
        w.select_joint("MCP2")
        w.set_level("erosion", 2)
        qtbot.waitUntil(lambda: "could not be drawn" in w.status.text(), timeout=20000)
        assert "no memory for the image" in w.status.text() and w.shown is shown  # the last good hand stays
    finally:
        lane.shutdown()


def test_shap_follows_grad_cam_and_has_its_own_switch(qtbot, model_lane):
    w = _open(qtbot, model_lane)
    w.select_joint("MCP3")
    w.set_level("erosion", 2)
    qtbot.waitUntil(lambda: _settled(w) and w.readout[1].shap is not None, timeout=30000)
    shap = w.lesion_view.layer_item("shap")
    assert shap is not None and not shap.isVisible()  # off until asked for: Grad-CAM is the default map
    assert w.readout[1].shap.shape == w.shown.image.shape and np.isnan(w.readout[1].shap).any()  # unseen border
    w.shap_check.setChecked(True)
    assert shap.isVisible() and w.lesion_view.layer_item("gradcam").isVisible()
    w.cam_opacity.setValue(50)
    assert shap.opacity() == pytest.approx(0.5)


def test_the_hand_controls_change_the_hand_not_the_markers(qtbot):
    w = ExplorerWindow(None, preview_size=PREVIEW, full_size=FULL, settle_ms=30)
    qtbot.addWidget(w)
    w.show()
    w.select_joint("MCP2")
    w.set_level("erosion", 2)
    qtbot.waitUntil(lambda: w.shown is not None and w.shown.scene == w.scene and w.shown.size == FULL, timeout=20000)
    before = np.array(w.lesion_view.radiograph.pixels)
    w.wrist.setChecked(True)
    w.density.setCurrentIndex(w.density.findData(0.7))
    assert w.scene.hand.anatomy == 2 and w.scene.hand.density == 0.7
    assert w.scene.level("MCP2", "erosion") == 2.0  # the markers stay with the new hand
    qtbot.waitUntil(lambda: w.shown.scene == w.scene and w.shown.size == FULL, timeout=20000)
    assert w.shown.ground_truth["anatomy"] == 2 and w.shown.ground_truth["bone_density"] == 0.7
    assert not np.array_equal(w.lesion_view.radiograph.pixels, before)
    assert "trained on the plain wrist" in w.wrist.toolTip() and "out of distribution" in w.density.toolTip()

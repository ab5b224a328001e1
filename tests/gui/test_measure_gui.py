"""The Radiogrammetry tab as a reader uses it: measured off the GUI thread when the tab is shown,
stored with the study, drawn on the image, corrected by dragging a bone end (values follow and
persist), and the change since the patient's prior study."""
from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QPointF, QTimer

from ra_desktop.phantom.generate import case_rng, generate_case
from ra_desktop.phantom.writer import write_case
from ra_desktop.worklist.measurements import MeasurementBook
from tests.gui.conftest import wait_rows

pytestmark = pytest.mark.gui
SEED = 531000


@pytest.fixture
def twins(tmp_path):
    """Two DICOM studies of one patient's right hand (joint-space phantoms, 0.18 mm spacing)."""
    out = tmp_path / "ph"
    for index in (0, 1):
        case = generate_case(case_rng(SEED, index), "Normal", 0, "R", 1400, joint_spaces=True)
        write_case(out, case, SEED, index, formats=("dcm",), patient="P-MEASURE")
    return out


def _open(qtbot, w, index: int):
    rows = sorted(w.worklist.model.rows(), key=lambda r: r.study_date)
    row = rows[index]
    w.worklist.select_row(row.id)
    w.worklist._emit_now()
    qtbot.waitUntil(lambda: w.viewer.radiograph is not None and w.radiogrammetry.row is not None
                    and w.radiogrammetry.row.id == row.id, timeout=20000)
    return row


def test_measured_stored_drawn_corrected_and_compared(make_window, twins, qtbot):
    w = make_window(None)
    ctl, panel = w.radiogrammetry, w.radiogrammetry.panel
    w.add_paths([str(twins)])
    wait_rows(qtbot, w, 2)
    prior = _open(qtbot, w, 0)
    assert ctl.hand is None and "when this tab is shown" in panel.status.text()  # nothing runs unasked
    ticks: list[float] = []
    timer = QTimer(interval=10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    with qtbot.waitSignal(ctl.shown, timeout=30000):
        w.side_tabs.setCurrentWidget(ctl.scroll)
    timer.stop()
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert ctl.open_seconds and max(gaps) < 0.5, f"GUI stalled {max(gaps):.2f} s while measuring"
    hand = ctl.hand
    assert hand.unit == "mm" and hand.mean_MCI is not None
    mc3 = hand.bones["MC3"]
    assert panel.bones.item(1, 4).text() == f"{mc3.MCI:.3f}" and panel.bones.item(1, 5).text().startswith("valid")
    assert f"{hand.mean_MCI:.3f}" in panel.mean_label.text()
    assert "not a diagnosis" in panel.notice.text() and "reference ranges" in panel.notice.text().lower()
    for i in range(panel.joints.rowCount()):  # a rejected joint shows no number
        j = hand.joints.get(panel.joints.item(i, 0).text())
        if j is not None and not j.valid:
            assert panel.joints.item(i, 1).text() == "—" and j.reason in panel.joints.item(i, 3).text()
    assert ctl.layer.group.isVisible() and len(ctl.layer._drawn) > 10  # edges, region and joint lines
    assert panel.plot.data is not None
    stored = MeasurementBook(w.store).load(prior.id)
    assert stored is not None and stored.hand.mean_MCI == pytest.approx(hand.mean_MCI)
    panel.show_check.setChecked(False)
    assert not ctl.layer.group.isVisible()

    # correction: drag MC3's head end a little; the values follow and the release is stored
    panel.select_bone("MC3")
    panel.correct_button.setChecked(True)
    assert ctl.layer.editing and ctl.layer.group.isVisible() and ("MC3", 1) in ctl.layer.handles
    (ax, ay), (bx, by) = ctl.layer.ends["MC3"]
    ctl.layer.on_mark(QPointF(bx, by), "start")
    for k in range(1, 6):
        ctl.layer.on_mark(QPointF(bx + k, by + k), "move")
        qtbot.wait(5)
    with qtbot.waitSignal(ctl.shown, timeout=10000):
        ctl.layer.on_mark(QPointF(bx + 6, by + 6), "end")
    qtbot.waitUntil(lambda: MeasurementBook(w.store).load(prior.id).corrected_by.get("MC3") == "Dr Test"
                    and not ctl._bone_busy, timeout=10000)
    got = MeasurementBook(w.store).load(prior.id).hand.bones["MC3"]
    assert got.source == "manual" and got.ends[1] == pytest.approx((bx + 6, by + 6))
    assert "placed by Dr Test" in panel.bones.item(1, 5).text() and ctl.live_ms
    print(f"\nmeasure_hand on the worker {ctl.open_seconds[0]:.2f} s, longest GUI gap {max(gaps) * 1000:.0f} ms, "
          f"drag to values {', '.join(f'{v:.0f}' for v in ctl.live_ms)} ms")
    panel.correct_button.setChecked(False)
    panel.revert_button.click()
    assert MeasurementBook(w.store).load(prior.id).hand.bones["MC3"] == mc3

    # the next study of the patient: measured as the tab is open, compared with the prior
    with qtbot.waitSignal(ctl.shown, timeout=30000):
        _open(qtbot, w, 1)
    text = panel.progression.text()
    assert "Change since" in text and "mean MCI" in text and "per year" in text
    assert "smallest detectable change" in text.lower()


def test_the_tab_measures_off_the_gui_thread_and_the_process_path_works(make_window, twins, qtbot):
    """The tab measures a hand on its worker (the window keeps running: the longest gap is a
    benchmark row, gui/measure_tab_max_stall); the worker-process alternative gives the same hand."""
    from ra_desktop.measure.offload import HandMeasurer

    w = make_window(None)
    ctl = w.radiogrammetry
    assert ctl.measurer.mode == "thread"  # the default, see ra_desktop/measure/offload.py
    w.add_paths([str(twins)])
    wait_rows(qtbot, w, 2)
    _open(qtbot, w, 0)
    with qtbot.waitSignal(ctl.shown, timeout=60000):
        w.side_tabs.setCurrentWidget(ctl.scroll)
    assert ctl.hand.mean_MCI is not None and ctl.open_seconds
    by_thread = ctl.hand.mean_MCI
    ctl.measurer = HandMeasurer(use_process=True)
    try:
        with qtbot.waitSignal(ctl.shown, timeout=60000):
            ctl.start(force=True)
        assert ctl.hand.mean_MCI == pytest.approx(by_thread)  # same numbers, whichever path ran
    finally:
        ctl.measurer.shutdown()


def test_a_joint_is_placed_dragged_stored_and_undone(make_window, twins, qtbot):
    """The manual fallback for joints: two points (on the joint, on the finger beyond it), dragged
    with values following, stored as the reader's; a rejected placement is never a number;
    "Use automatic" restores the automatic result."""
    w = make_window(None)
    ctl, panel = w.radiogrammetry, w.radiogrammetry.panel
    w.add_paths([str(twins)])
    wait_rows(qtbot, w, 2)
    w.side_tabs.setCurrentWidget(ctl.scroll)
    with qtbot.waitSignal(ctl.shown, timeout=60000):
        row = _open(qtbot, w, 0)
    hand = ctl.hand
    name = next(k for k in ("MCP3", "MCP4", "MCP2", "MCP5") if hand.joints[k].valid)
    auto = hand.joints[name]
    assert panel.joints.rowCount() == 8  # every joint has a row, measured or not
    panel.select_joint(name)
    assert panel.selected_joint == name
    panel.joint_button.setChecked(True)
    assert ctl.layer.editing and ctl.layer.edit_site == name
    assert (name, 0) in ctl.layer.handles and (name, 1) in ctl.layer.handles
    assert not any(k[0] == "MC3" for k in ctl.layer.handles)  # only the joint's handles
    (cx, cy), (tx, ty) = ctl.layer.ends[name]
    assert (cx, cy) == pytest.approx(auto.centre)
    # drag the point on the finger a little: the values follow, the release is stored
    ctl.layer.on_mark(QPointF(tx, ty), "start")
    for k in range(1, 4):
        ctl.layer.on_mark(QPointF(tx + k, ty), "move")
        qtbot.wait(5)
    with qtbot.waitSignal(ctl.shown, timeout=10000):
        ctl.layer.on_mark(QPointF(tx + 4, ty), "end")
    qtbot.waitUntil(lambda: MeasurementBook(w.store).load(row.id).corrected_by.get(name) == "Dr Test"
                    and not ctl._busy, timeout=10000)
    got = MeasurementBook(w.store).load(row.id).hand.joints[name]
    assert got.source == "manual" and got.toward == pytest.approx((tx + 4, ty), abs=0.01)
    assert got.centre == pytest.approx((cx, cy), abs=0.01)
    assert got.valid and got.minimum == pytest.approx(auto.minimum, abs=0.1)
    i = [panel.joints.item(r, 0).text() for r in range(8)].index(name)
    assert panel.joints.item(i, 3).text() == "valid · points placed by Dr Test"
    assert panel.joints.item(i, 1).text() == f"{got.minimum:.2f}" and ctl.joint_live_ms

    # the point on the joint dragged onto the middle of a metacarpal shaft: rejected, no number
    shaft = hand.bones["MC3"].region[0]
    ctl.layer.on_mark(QPointF(cx, cy), "start")
    with qtbot.waitSignal(ctl.shown, timeout=10000):
        ctl.layer.on_mark(QPointF(*shaft), "end")
    qtbot.waitUntil(lambda: not ctl._busy and not MeasurementBook(w.store).load(row.id).hand.joints[name].valid,
                    timeout=10000)
    bad = ctl.hand.joints[name]
    assert not bad.valid and bad.minimum is None and bad.reason
    assert panel.joints.item(i, 1).text() == "—" and bad.reason in panel.joints.item(i, 3).text()
    assert "Place joint" in panel.joint_detail.text() and "No width" in panel.joint_detail.text()
    print(f"\njoint drag to values {', '.join(f'{v:.0f}' for v in ctl.joint_live_ms)} ms")

    panel.joint_button.setChecked(False)
    assert not ctl.layer.editing
    panel.joint_revert_button.click()
    stored = MeasurementBook(w.store).load(row.id)
    assert stored.hand.joints[name] == auto and name not in stored.corrected_by
    assert ctl.hand.joints[name] == auto and panel.joints.item(i, 3).text() == "valid · automatic"

"""Annotations on the viewer as a reader makes them: each kind drawn with mouse clicks, values live
while a point is dragged, Delete removes the selected one (else the measurements), they follow
rotation and flips; in the window: stored with the study, found again on reopening, audited, and
printed in the report."""
from __future__ import annotations

import math

import pytest
from PySide6 import QtCore, QtWidgets

from ra_desktop.measure.roi import roi_stats
from ra_desktop.ui.viewer import ViewerWidget
from ra_desktop.ui.viewer.view import Tool
from tests.gui.test_viewer import make_radiograph, send_mouse

pytestmark = pytest.mark.gui


@pytest.fixture
def viewer(qtbot):
    w = ViewerWidget()
    qtbot.addWidget(w)
    w.resize(900, 700)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is w, timeout=2000)
    w.set_radiograph(make_radiograph())
    w.annotations.editable = True  # as the window's controller does
    return w


def at(viewer, x: float, y: float) -> QtCore.QPointF:
    """The viewport position of image point (x, y) (exact: no rounding of mapFromScene)."""
    return viewer.view.viewportTransform().map(QtCore.QPointF(x, y))


def drag(viewer, a, b, steps: int = 4) -> None:
    vp = viewer.view.viewport()
    send_mouse(vp, "press", at(viewer, *a))
    for k in range(1, steps + 1):
        send_mouse(vp, "move", at(viewer, a[0] + (b[0] - a[0]) * k / steps, a[1] + (b[1] - a[1]) * k / steps))
    send_mouse(vp, "release", at(viewer, *b))


def click(viewer, p) -> None:
    vp = viewer.view.viewport()
    send_mouse(vp, "press", at(viewer, *p))
    send_mouse(vp, "release", at(viewer, *p))


def hover(viewer, p) -> None:
    send_mouse(viewer.view.viewport(), "move", at(viewer, *p), buttons=QtCore.Qt.MouseButton.NoButton)


def close(points, expected, tol=0.6) -> bool:
    return all(math.hypot(p[0] - q[0], p[1] - q[1]) <= tol for p, q in zip(points, expected))


def test_each_kind_drawn_with_the_mouse(viewer, qtbot):
    layer = viewer.annotations
    made = []
    layer.created.connect(made.append)
    qtbot.keyClick(viewer, QtCore.Qt.Key.Key_A)  # the arrow tool by its key
    assert viewer.view.tool is Tool.ANNOTATE and layer.kind == "arrow" and viewer.actions["annotate"].isChecked()
    drag(viewer, (40, 50), (120, 90))
    assert made[-1].kind == "arrow" and close(made[-1].points, [(40, 50), (120, 90)])
    assert made[-1].head.isVisible()

    qtbot.keyClick(viewer, QtCore.Qt.Key.Key_B)
    drag(viewer, (100, 100), (140, 160))
    rect = made[-1]
    assert rect.kind == "roi_rect"
    s = roi_stats(viewer.radiograph.pixels, "roi_rect", *rect.points, (0.1, 0.1))
    assert rect.label.text() == rect.value and f"{s.area:.1f} mm²" in rect.value and "mean" in rect.value

    qtbot.keyClick(viewer, QtCore.Qt.Key.Key_E)
    drag(viewer, (20, 200), (60, 260))
    assert made[-1].kind == "roi_ellipse" and "mm²" in made[-1].label.text()

    qtbot.keyClick(viewer, QtCore.Qt.Key.Key_G)  # angle: three clicks, the second arm follows the cursor
    click(viewer, (120, 280))
    hover(viewer, (120, 200))
    click(viewer, (120, 200))
    hover(viewer, (170, 150))
    assert layer._pending is not None and len(layer._pending.points) == 3
    click(viewer, (170, 150))
    angle = made[-1]
    assert angle.kind == "angle" and close(angle.points, [(120, 280), (120, 200), (170, 150)])
    assert angle.label.text().startswith("135.0°") and "45.0° from straight" in angle.label.text()

    qtbot.keyClick(viewer, QtCore.Qt.Key.Key_T)
    layer.ask_text = lambda parent, current: "erosion <b>MCP2</b>?"
    click(viewer, (200, 40))
    text = made[-1]
    assert text.kind == "text" and text.text == "erosion <b>MCP2</b>?"
    assert isinstance(text.label, QtWidgets.QGraphicsSimpleTextItem)  # plain text: no markup drawn
    assert [m.kind for m in layer.items] == ["arrow", "roi_rect", "roi_ellipse", "angle", "text"]
    # a click with the arrow tool draws nothing
    qtbot.keyClick(viewer, QtCore.Qt.Key.Key_A)
    click(viewer, (10, 280))
    assert len(layer.items) == 5


def test_edit_by_dragging_a_point_values_follow(viewer, qtbot):
    layer = viewer.annotations
    edited, values = [], []
    layer.edited.connect(edited.append)
    viewer.use_annotation_tool("roi_rect")
    drag(viewer, (60, 60), (100, 100))
    roi = layer.items[-1]
    before = roi.value
    vp = viewer.view.viewport()
    send_mouse(vp, "press", at(viewer, 100, 100))  # the corner's handle
    for k in range(1, 5):
        send_mouse(vp, "move", at(viewer, 100 + 10 * k, 100 + 5 * k))
        values.append(roi.label.text())
    send_mouse(vp, "release", at(viewer, 140, 120))
    assert close(roi.points, [(60, 60), (140, 120)]) and edited == [roi]
    assert len(set(values)) == 4 and values[-1] != before  # the value followed the drag
    s = roi_stats(viewer.radiograph.pixels, "roi_rect", (60, 60), (140, 120), (0.1, 0.1))
    assert f"{s.area:.1f} mm²" in roi.value

    # the body dragged: the whole annotation moves
    viewer.use_annotation_tool("arrow")
    drag(viewer, (20, 20), (20, 80))
    arrow = layer.items[-1]
    drag(viewer, (20, 50), (30, 50))
    assert close(arrow.points, [(30, 20), (30, 80)]) and edited[-1] is arrow

    # a click on the selected text retypes it
    viewer.use_annotation_tool("text")
    layer.ask_text = lambda parent, current: "first"
    click(viewer, (150, 30))
    text = layer.items[-1]
    assert layer.selected is text
    layer.ask_text = lambda parent, current: current + " and second"
    click(viewer, (150, 30))
    assert text.text == "first and second" and edited[-1] is text


def test_delete_removes_the_selected_annotation_then_measurements(viewer, qtbot):
    layer = viewer.annotations
    gone = []
    layer.deleted.connect(gone.append)
    viewer.use_measure_tool()
    drag(viewer, (10, 10), (100, 10))
    assert len(viewer.measurements()) == 1
    viewer.use_annotation_tool("arrow")
    drag(viewer, (40, 40), (90, 90))
    drag(viewer, (40, 120), (90, 170))
    first, second = layer.items
    click(viewer, (65, 65))  # select the first by its line
    assert layer.selected is first
    qtbot.keyClick(viewer, QtCore.Qt.Key.Key_Delete)
    assert gone == [first] and layer.items == [second] and len(viewer.measurements()) == 1
    click(viewer, (5, 290))  # nothing selected now
    assert layer.selected is None
    qtbot.keyClick(viewer, QtCore.Qt.Key.Key_Delete)
    assert viewer.measurements() == [] and layer.items == [second]


def test_annotations_follow_rotation_and_flips(viewer, qtbot):
    layer = viewer.annotations
    viewer.use_annotation_tool("arrow")
    drag(viewer, (50, 100), (150, 100))
    arrow = layer.items[-1]
    head = arrow.head

    def head_angle() -> float:
        return (head.rotation() + 180) % 360 - 180  # in (-180, 180]

    assert head_angle() == pytest.approx(0.0, abs=0.5)  # pointing right on screen
    viewer.toggle_flip_h()
    assert abs(head_angle()) == pytest.approx(180.0, abs=0.5)  # mirrored: pointing left
    viewer.toggle_flip_h()
    viewer.rotate(90)
    assert head_angle() == pytest.approx(90.0, abs=0.5)  # turned: pointing down
    # the points stay on the anatomy: a drag from the tip's screen position moves the tip
    drag(viewer, (150, 100), (150, 140))
    assert close(arrow.points, [(50, 100), (150, 140)])


def test_a_viewer_that_cannot_store_them_draws_none(viewer):
    viewer.annotations.editable = False  # e.g. the comparison window: no case to keep them with
    viewer.use_annotation_tool("arrow")
    drag(viewer, (40, 50), (120, 90))
    assert viewer.annotations.items == []


def test_a_long_label_is_one_line_of_at_most_500_characters(viewer):
    viewer.use_annotation_tool("text")
    viewer.annotations.ask_text = lambda parent, current: "line one\nline two " + "x" * 600
    click(viewer, (50, 50))
    (item,) = viewer.annotations.items
    assert item.text.startswith("line one line two x") and len(item.text) == 500


def test_a_pending_angle_is_dropped_by_another_tool(viewer, qtbot):
    viewer.use_annotation_tool("angle")
    click(viewer, (50, 50))
    assert viewer.annotations._pending is not None
    qtbot.keyClick(viewer, QtCore.Qt.Key.Key_Escape)
    assert viewer.annotations._pending is None and viewer.annotations.items == []
    viewer.set_radiograph(make_radiograph())
    assert viewer.annotations.items == [] and viewer.annotations.pixels is not None


def _open(qtbot, w, row_id: int) -> None:
    w.worklist.select_row(row_id)
    w.worklist._emit_now()
    qtbot.waitUntil(lambda: w.annotations.row is not None and w.annotations.row.id == row_id
                    and w.viewer.radiograph is not None, timeout=30000)


def test_stored_with_the_study_reopened_audited_and_reported(make_window, tiny_model_dir, image_folder, tmp_path,
                                                             qtbot, monkeypatch):
    from pypdf import PdfReader

    from ra_desktop import audit
    from ra_desktop.ui import export
    from ra_desktop.worklist.annotations import AnnotationBook
    from tests.gui.conftest import wait_rows

    out = tmp_path / "reports"
    out.mkdir()
    monkeypatch.setattr(QtWidgets.QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(out)))
    w = make_window(tiny_model_dir)
    w.add_paths([str(image_folder / "case_00.png"), str(image_folder / "case_01.png")])
    wait_rows(qtbot, w, 2)
    first, second = (r.id for r in w.worklist.model.rows())
    with qtbot.waitSignal(w.jobs.open_finished, timeout=30000):
        _open(qtbot, w, first)
    qtbot.waitUntil(lambda: w.current_result is not None, timeout=30000)
    v = w.viewer
    v.activateWindow()
    qtbot.keyClick(v, QtCore.Qt.Key.Key_G)  # the window's shortcut reaches the viewer
    click(v, (40, 150))
    click(v, (40, 90))
    click(v, (80, 50))
    v.use_annotation_tool("roi_ellipse")
    drag(v, (50, 60), (100, 120))
    v.use_annotation_tool("text")
    v.annotations.ask_text = lambda parent, current: "check MCP2"
    click(v, (20, 20))
    v.use_annotation_tool("arrow")
    drag(v, (120, 160), (90, 120))
    book = AnnotationBook(w.store)
    stored = book.annotations(first, w.reader())
    assert [a.kind for a in stored] == ["angle", "roi_ellipse", "text", "arrow"]
    angle_value = v.annotations.items[0].value
    # edit: drag the ellipse's corner; delete the arrow
    drag(v, (100, 120), (110, 140))
    assert close(book.get(stored[1].id).points, [(50, 60), (110, 140)])
    click(v, (105, 140))  # the arrow's line is selected
    assert v.annotations.selected is v.annotations.items[-1]
    qtbot.keyClick(v, QtCore.Qt.Key.Key_Delete)
    assert [a.kind for a in book.annotations(first, w.reader())] == ["angle", "roi_ellipse", "text"]
    events = [e for e in audit.read_events() if e.get("kind") == "annotation"]
    assert [e["change"] for e in events][-6:] == ["added"] * 4 + ["edited", "deleted"]
    assert all("check MCP2" not in str(e) for e in events)  # the free text is not in the audit

    # another case has none; back to the first: all there, values recomputed from its pixels
    _open(qtbot, w, second)
    assert v.annotations.items == []
    _open(qtbot, w, first)
    qtbot.waitUntil(lambda: len(v.annotations.items) == 3, timeout=10000)
    kinds = [i.kind for i in v.annotations.items]
    assert kinds == ["angle", "roi_ellipse", "text"] and v.annotations.items[0].value == angle_value
    assert v.annotations.items[2].label.text() == "check MCP2" and "px²" in v.annotations.items[1].value

    qtbot.waitUntil(lambda: w.current_result is not None, timeout=30000)
    export.export_current(w)
    qtbot.waitUntil(lambda: "Report saved" in w.status_text.text() or bool(w.message_boxes), timeout=30000)
    assert not w.message_boxes, w.message_boxes
    (pdf,) = out.glob("*.pdf")
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(pdf).pages).split())
    assert "Annotations" in text and "check MCP2" in text and angle_value.split(" (")[0] in text
    assert "Ellipse ROI" in text and "px²" in text

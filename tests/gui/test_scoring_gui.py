"""The Sharp/van der Heijde worksheet as a reader uses it: a whole hand from the keyboard, kept
across a restart, markers placed on the image and following it."""
from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QPointF, Qt

from ra_desktop import audit
from ra_desktop.ui import menu_actions
from ra_desktop.scoring.svdh import NOT_ASSESSABLE, hand_areas, totals
from ra_desktop.worklist.scores import ScoreBook
from tests.gui.conftest import wait_rows

pytestmark = pytest.mark.gui


def _planned_scores(hand: str = "R") -> list:
    """One key per area: a spread of scores, one not assessable, each within its area's range."""
    keys = []
    for i, a in enumerate(hand_areas(hand)):
        keys.append(NOT_ASSESSABLE if i == 7 else i % (a.max + 1))
    return keys


def _press(qtbot, widget, value) -> None:
    key = Qt.Key.Key_N if value == NOT_ASSESSABLE else getattr(Qt.Key, f"Key_{value}")
    qtbot.keyClick(widget, key)


def _open_first(qtbot, w):
    row = next(r for r in w.worklist.model.rows() if r.file_name == "case_00.png")
    w.worklist.select_row(row.id)
    w.worklist._emit_now()
    qtbot.waitUntil(lambda: w.viewer.radiograph is not None, timeout=10000)
    return row


def test_a_whole_hand_from_the_keyboard_survives_a_restart(make_window, image_folder, qtbot):
    w = make_window(None)
    w.add_paths([str(image_folder)])
    wait_rows(qtbot, w, 5)
    row = _open_first(qtbot, w)
    presses = 0
    qtbot.keyClick(w, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)  # Score > Score this case
    presses += 1
    table = w.scoring.table
    assert w.side_tabs.currentWidget() is w.scoring and w.scoring.current.site == "MCP1"
    qtbot.keyClick(table, Qt.Key.Key_5)  # 5 on... erosion MCP1 is fine: then back, to test the range check
    qtbot.keyClick(table, Qt.Key.Key_Up)
    presses += 2
    plan = _planned_scores()
    for value in plan:
        _press(qtbot, table, value)
        presses += 1
    assert presses == 34  # Ctrl+K, the two warm-up keys, then exactly one key per area (31)
    expected = {a.key: v for a, v in zip(hand_areas("R"), plan)}
    assert w.scoring.scores() == expected
    t = totals(expected, ["R"])
    assert f"total {t.total}/{t.total_max}" in w.scoring.totals_label.text()
    assert "1 not assessable" in w.scoring.totals_label.text() and "complete" in w.scoring.totals_label.text()

    # narrowing is 0-4: a 5 is refused and does not move on
    w.scoring.select("jsn", "MCP2")
    qtbot.keyClick(table, Qt.Key.Key_5)
    assert w.scoring.current.site == "MCP2" and w.scoring.scores()[("R", "jsn", "MCP2")] == expected[("R", "jsn", "MCP2")]
    assert "MCP 2 narrowing is scored 0–4" in w.scoring.hint.text()
    w.scoring.select("erosion", "MCP2")
    qtbot.keyClick(table, Qt.Key.Key_6)
    assert "MCP 2 erosion is scored 0–5" in w.scoring.hint.text()
    qtbot.keyClick(table, Qt.Key.Key_Tab)  # Tab and Shift+Tab walk the standard order as the arrows do
    assert (w.scoring.current.kind, w.scoring.current.site) == ("erosion", "MCP3")
    qtbot.keyClick(table, Qt.Key.Key_Backtab)
    assert (w.scoring.current.kind, w.scoring.current.site) == ("erosion", "MCP2")

    scored = [e for e in audit.read_events() if e["action"] == audit.SCORED]
    assert len(scored) == 32 and scored[-1]["case_id"] == row.case_id and scored[-1]["reader"] == "Dr Test"
    w.close()

    w2 = make_window(None)  # "restart": a new window on the same database
    _open_first(qtbot, w2)
    assert w2.scoring.scores() == expected
    assert ScoreBook(w2.store).scores(row.id, "Dr Test") == expected
    assert "complete" in w2.scoring.totals_label.text()


def test_markers_placed_by_click_follow_flips_and_persist(make_window, image_folder, qtbot):
    w = make_window(None)
    w.add_paths([str(image_folder)])
    wait_rows(qtbot, w, 5)
    row = _open_first(qtbot, w)
    w.start_scoring()
    w.scoring.select("erosion", "MCP2")
    w.scoring.markers_button.setChecked(True)  # K in the worksheet
    view = w.viewer.view
    assert view.tool.value == "mark"
    target = QPointF(40.0, 60.0)  # image pixels
    at = view.mapFromScene(target)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=at)
    (marker,) = ScoreBook(w.store).markers(row.id, "Dr Test").values()
    assert marker.site == "MCP2" and marker.source == "reader"
    assert abs(marker.x - 40.0) < 1.5 and abs(marker.y - 60.0) < 1.5
    item = w.viewer.markers.items["MCP2"]
    before = view.mapFromScene(item.pos())
    w.viewer.toggle_flip_h()
    after = view.mapFromScene(item.pos())
    assert abs(after.x() - before.x()) > 5  # the marker moved with the mirrored image...
    assert (item.pos().x(), item.pos().y()) == pytest.approx((marker.x, marker.y))  # ...and stayed on its pixel
    # a click near a marker selects its area
    w.scoring.select("erosion", "PIP3")
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(item.pos()))
    assert w.scoring.current.site == "MCP2"


def test_current_and_prior_side_by_side_linked(make_window, tmp_path, qtbot):
    import numpy as np

    from tests.io_fixtures import write_dicom

    rng = np.random.default_rng(1)
    for name, date in (("prior", "20230301"), ("current", "20250301")):
        write_dicom(tmp_path / f"{name}.dcm", rng.integers(0, 4000, (300, 240)).astype(np.uint16),
                    PatientID="P-77", StudyDate=date, ImageLaterality="R")
    w = make_window(None)
    w.add_paths([str(tmp_path)])
    wait_rows(qtbot, w, 2)
    rows = {r.file_name: r for r in w.worklist.model.rows()}
    prior, current = rows["prior.dcm"], rows["current.dcm"]
    book = ScoreBook(w.store)
    for row_id, scores in ((prior.id, (1, 0)), (current.id, (3, 2))):
        book.set_score(row_id, "Dr Test", "R", "erosion", "MCP2", scores[0])
        book.set_score(row_id, "Dr Test", "R", "jsn", "MCP2", scores[1])
        book.set_marker(row_id, "Dr Test", "R", "MCP2", 60.0 + row_id, 80.0)
        book.set_marker(row_id, "Dr Test", "R", "MCP5", 180.0, 90.0)

    w.worklist.select_row(current.id)
    w.worklist.table.setFocus()
    qtbot.keyClick(w.worklist.table, Qt.Key.Key_C)  # one key from the worklist
    win = w._compare_windows[-1]
    qtbot.waitUntil(lambda: win.left.viewer.radiograph is not None and win.right.viewer.radiograph is not None,
                    timeout=10000)
    assert (win.left.row.id, win.right.row.id) == (prior.id, current.id)
    assert "+4" in win.summary.text() and "2.0 years apart" in win.summary.text()  # (3-1)+(2-0)
    assert win.table.rowCount() == 2

    win.right.viewer.view.set_zoom(win.right.viewer.view.zoom * 3)  # linked: the left follows
    assert win.left.viewer.view.view_state() == pytest.approx(win.right.viewer.view.view_state(), abs=0.02)
    win.right.viewer.set_window(1000.0, 500.0)
    assert win.left.viewer.window() == (1000.0, 500.0)
    win.left.viewer.markers.picked.emit("MCP5")  # a joint picked on the prior...
    centre = win.right.viewer.view.mapToScene(win.right.viewer.view.viewport().rect().center())
    assert abs(centre.x() - 180.0) < 3 and abs(centre.y() - 90.0) < 3  # ...is centred on the current
    assert win.right.viewer.markers.selected == "MCP5"
    # Left against right with the left mirrored: panning towards one edge of the screen on one side
    # shows the same screen side, i.e. the mirrored image fraction, on the other
    win.flip.setChecked(True)
    win.right.viewer.view.set_view_state(3.0, 0.25, 0.4)
    zoom, fx, fy = win.left.viewer.view.view_state()
    assert (fx, fy) == pytest.approx((0.75, 0.4), abs=0.02)
    win.left.viewer.view.set_view_state(3.0, 0.8, 0.6)
    assert win.right.viewer.view.view_state()[1:] == pytest.approx((0.2, 0.6), abs=0.02)
    win.flip.setChecked(False)
    win.swap()
    assert (win.left.row.id, win.right.row.id) == (current.id, prior.id)
    win.close()
    sheet = w.score_sheet.report_sheet(current, w.worklist.model.rows(), sdc=3.0)  # what the report prints
    assert "total change +4" in sheet.progression and "exceeds the smallest detectable change (3)" in sheet.progression
    # The report may be de-identified: the prior is not named by its date or file
    assert prior.file_name not in sheet.progression and prior.study_date[:4] not in sheet.progression


def test_scores_csv_round_trip_through_the_window(make_window, image_folder, qtbot, tmp_path):
    w = make_window(None)
    w.add_paths([str(image_folder)])
    wait_rows(qtbot, w, 5)
    row = _open_first(qtbot, w)
    w.start_scoring()
    for value in _planned_scores():
        _press(qtbot, w.scoring.table, value)
    sheet = w.scoring.scores()
    # markers: one clicked (reader), the rest fitted from the template at sub-pixel positions
    w.scoring.select("erosion", "MCP2")
    w.scoring.markers_button.setChecked(True)
    view = w.viewer.view
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(QPointF(40.0, 60.0)))
    w.scoring.select("erosion", "MCP5")
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(QPointF(150.0, 70.0)))
    w.score_sheet.fit_markers()
    book = ScoreBook(w.store)
    every = {k: (m.x, m.y) for k, m in book.markers(row.id, "Dr Test").items()}
    placed = {k: xy for k, xy in every.items() if min(xy) >= 0}  # the fit puts some off this small image
    assert len(placed) > 10 and any(x != round(x, 2) for x, _ in placed.values())
    out = tmp_path / "scores.csv"
    assert w.score_sheet.export_csv(str(out)) == 1
    assert w.score_sheet.markers_left_out == len(every) - len(placed)  # said, never written as a position
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 1 + 31 and row.case_id in lines[1]  # header + one row per area
    assert lines[0].endswith(",marker_x,marker_y")
    mcp2 = [ln for ln in lines if ",MCP2," in ln]  # erosion and narrowing of one joint: one position
    (where,) = {tuple(ln.split(",")[-2:]) for ln in mcp2}
    assert len(mcp2) == 2 and where == tuple(f"{v:.2f}" for v in placed[("R", "MCP2")])

    book.replace_scores(row.id, "Dr Test", {})  # lost...
    con = w.store._con()
    with con:  # (the window has no "delete marker")
        con.execute("DELETE FROM markers WHERE case_row=?", (row.id,))
    w.score_sheet.show_markers()
    assert w.viewer.markers.positions() == {}
    assert w.score_sheet.import_csv(str(out)) == ["Dr Test"]  # ...and back, exactly
    assert book.scores(row.id, "Dr Test") == sheet and w.scoring.scores() == sheet
    back = book.markers(row.id, "Dr Test")  # to the written 0.01 px
    assert {k: (m.x, m.y) for k, m in back.items()} == {k: (round(x, 2), round(y, 2)) for k, (x, y) in placed.items()}
    assert {m.source for m in back.values()} == {"imported"}  # not taken for a reader's own placement
    shown = w.viewer.markers.positions()  # the marker layer shows them
    assert {s: (round(x, 2), round(y, 2)) for s, (x, y) in shown.items()} == \
        {s: (round(x, 2), round(y, 2)) for (_h, s), (x, y) in placed.items()}
    marked = [e for e in audit.read_events() if e["action"] == audit.MARKED]
    assert marked[-1].get("imported_for") == "Dr Test" and marked[-1].get("markers") == len(placed)

    other = next(r for r in w.worklist.model.rows() if r.file_name == "case_01.png")
    w.worklist.select_row(other.id)
    w.worklist._emit_now()
    from ra_desktop.scoring.csvio import ScoresFileError

    with pytest.raises(ScoresFileError, match="another case"):  # never stored under the wrong case
        w.score_sheet.import_csv(str(out))
    assert book.scores(other.id, "Dr Test") == {}


def test_attention_is_the_disc_mean_around_each_marker():
    import numpy as np

    from ra_desktop.ui.scoring_controller import attention_at
    from ra_desktop.worklist.scores import Marker

    rng = np.random.default_rng(0)
    values = rng.random((200, 160)).astype(np.float32)
    values[:20] = np.nan  # unseen border
    markers = {"MCP2": Marker("R", "MCP2", 50.0, 100.0, "reader"), "PIP5": Marker("R", "PIP5", 3.0, 10.0, "reader"),
               "lunate": Marker("R", "lunate", 500.0, 10.0, "reader")}
    got = attention_at(values, markers)
    r = round(0.025 * 200)
    yy, xx = np.mgrid[0:200, 0:160]
    for site in ("MCP2", "PIP5"):
        m = markers[site]
        disc = ((xx - m.x) ** 2 + (yy - m.y) ** 2 <= r * r) & np.isfinite(values)
        if disc.any():
            assert got[site] == pytest.approx(float(values[disc].mean()), rel=1e-6)
        else:
            assert site not in got  # only unseen pixels there: no number
    assert "lunate" not in got  # off the image


def test_educator_mode_shows_the_phantoms_truth_beside_the_reader(make_window, tmp_path, qtbot):
    import json

    from ra_desktop.cli import main
    from ra_desktop.scoring.truth import truth_scores

    assert main(["phantom", "--n", "2", "--seed", "4242", "--out", str(tmp_path / "ph"), "--formats", "png",
                 "--size", "1500", "--ra-fraction", "1", "--quiet"]) == 0
    w = make_window(None)
    w.add_paths([str(tmp_path / "ph")])
    qtbot.waitUntil(lambda: w.worklist.model.rowCount() >= 2 and not w._scans, timeout=20000)
    row = w.worklist.model.rows()[0]
    w.worklist.select_row(row.id)
    w.worklist._emit_now()
    qtbot.waitUntil(lambda: w.score_sheet.ground_truth is not None, timeout=10000)
    assert not w.scoring.table.isColumnHidden(4)  # the ground-truth layer is on: educator mode
    w.viewer.controls.gt_check.setChecked(False)
    assert w.scoring.table.isColumnHidden(4)
    w.viewer.controls.gt_check.setChecked(True)
    gt = w.score_sheet.ground_truth
    truth = truth_scores(gt)
    shown = {a.key: w.scoring.table.item(i, 4).text() for i, a in enumerate(w.scoring._areas)}
    assert all(shown[k] == ("n/a" if v == "NA" else str(v)) for k, v in truth.items() if k[0] == w.scoring.hand)
    assert w.scoring.hand == gt["laterality"] and len(w.score_sheet.hand_markers()) >= 10  # suggested
    w.viewer.controls.gt_check.setChecked(False)
    assert w.scoring.table.isColumnHidden(4)


def test_model_attention_beside_the_areas_where_the_model_applies(make_window, tiny_model_dir, image_folder, qtbot):
    w = make_window(tiny_model_dir)
    w.add_paths([str(image_folder)])
    wait_rows(qtbot, w, 5)
    row = next(r for r in w.worklist.model.rows() if r.file_name == "case_00.png")
    book = ScoreBook(w.store)
    book.set_marker(row.id, "Dr Test", "R", "MCP2", 60.0, 90.0)
    with qtbot.waitSignal(w.jobs.open_finished, timeout=30000):
        w.worklist.select_row(row.id)
        w.worklist._emit_now()
    assert "gradcam" in w.current_result.heatmaps and not w.findings.withheld  # the tiny model has no OOD check
    table = w.scoring.table
    assert not table.isColumnHidden(3)
    i = next(i for i, a in enumerate(w.scoring._areas) if a.key == ("R", "erosion", "MCP2"))
    assert float(table.item(i, 3).text()) >= 0.0
    assert "not a score" in table.horizontalHeaderItem(3).toolTip()
    assert not w.scoring.attention_note.isHidden() and "not a score" in w.scoring.attention_note.text()


def test_closing_comparisons_and_the_window_is_clean(make_window, tmp_path, qtbot):
    # Closing a comparison (twice over) and then the window while an image may still load must
    # neither raise nor kill the app (a thread destroyed while running aborts the process).
    import numpy as np

    from tests.io_fixtures import write_dicom

    rng = np.random.default_rng(2)
    for name, date in (("a", "20200101"), ("b", "20210101")):
        write_dicom(tmp_path / f"{name}.dcm", rng.integers(0, 4000, (200, 160)).astype(np.uint16),
                    PatientID="P-1", StudyDate=date, ImageLaterality="L")
    w = make_window(None)
    w.add_paths([str(tmp_path)])
    wait_rows(qtbot, w, 2)
    row = max(w.worklist.model.rows(), key=lambda r: r.study_date)
    for _ in range(2):
        menu_actions.compare(w, row.id)
        win = w._compare_windows[-1]
        qtbot.waitUntil(lambda: win.right.viewer.radiograph is not None, timeout=10000)
        win.close()
        qtbot.waitUntil(lambda: not w._compare_windows, timeout=5000)
    menu_actions.compare(w, row.id)  # left open: the window's close closes it
    w.close()
    qtbot.waitUntil(lambda: not w._compare_windows, timeout=5000)


def test_an_8bit_bmp_crop_without_metadata_is_scored_and_grouped(make_window, tmp_path, qtbot, monkeypatch):
    # A wrist crop saved as 8-bit BMP: no patient, no date, no laterality. The reader scores it,
    # hides the markers, and names the patient so its studies group.
    import numpy as np
    from PIL import Image
    from PySide6.QtWidgets import QInputDialog

    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 255, (180, 140)).astype(np.uint8)).save(tmp_path / "wrist.bmp")
    w = make_window(None)
    w.add_paths([str(tmp_path / "wrist.bmp")])
    wait_rows(qtbot, w, 1)
    row = w.worklist.model.rows()[0]
    assert row.patient_id is None and row.laterality is None
    w.worklist.select_row(row.id)
    w.worklist._emit_now()
    qtbot.waitUntil(lambda: w.viewer.radiograph is not None, timeout=10000)
    w.start_scoring()
    qtbot.keyClick(w.scoring.table, Qt.Key.Key_H)  # it is a left hand
    qtbot.keyClick(w.scoring.table, Qt.Key.Key_2)
    assert ScoreBook(w.store).scores(row.id, "Dr Test") == {("L", "erosion", "MCP1"): 2}
    w.scoring.show_markers.setChecked(False)
    assert not w.viewer.markers.group.isVisible()
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("P-0099", True)))
    menu_actions.assign_patient_id(w)
    assert w.store.get(row.id).patient_id == "P-0099"
    named = [e for e in audit.read_events() if e["action"] == audit.IDENTIFIED]
    assert len(named) == 1 and named[0]["case_id"] == row.case_id and named[0]["previous"] is None
    assert named[0]["assigned"] and "P-0099" not in json.dumps(named[0])  # traceable, not written out
    menu_actions.compare(w, row.id)  # the only study of P-0099: says so, opens nothing
    assert not w._compare_windows and "no other study of P-0099" in w.status_text.text()

    # A second crop of the same patient, scored as a left hand too: the comparison opens both on
    # the left hand's sheet (no laterality in the files), so the progression has areas to compare
    Image.fromarray(rng.integers(0, 255, (180, 140)).astype(np.uint8)).save(tmp_path / "wrist2.bmp")
    w.add_paths([str(tmp_path / "wrist2.bmp")])
    wait_rows(qtbot, w, 2)
    other = next(r for r in w.worklist.model.rows() if r.file_name == "wrist2.bmp")
    w.store.set_patient_id(other.id, "P-0099")
    ScoreBook(w.store).set_score(other.id, "Dr Test", "L", "erosion", "MCP1", 3)
    w.refresh_row(other.id)
    menu_actions.compare(w, row.id)
    win = w._compare_windows[-1]
    qtbot.waitUntil(lambda: win.left.viewer.radiograph is not None and win.right.viewer.radiograph is not None,
                    timeout=10000)
    assert win.left.hand.currentData() == win.right.hand.currentData() == "L"
    assert "total change" in win.summary.text() and "no area" not in win.summary.text()  # 3 against 2
    win.close()


def test_the_worksheet_does_not_widen_the_side_panel_over_the_image(make_window, qtbot):
    # Its marker buttons in one row once made the side panel 546 px wide at minimum, and the
    # frozen app's image shrank to 60 px at 1600 x 1000.
    w = make_window(None)
    w.resize(1600, 950)
    qtbot.wait(50)
    assert w.scoring.minimumSizeHint().width() <= w.findings.minimumSizeHint().width() + 40
    assert w.side_tabs.minimumSizeHint().width() <= 400
    # 392 px of 1600 (24%) before the reading-room layout; the image's share now: tests/gui/test_reading_room.py
    assert w.splitter.widget(1).width() >= 0.6 * w.width()  # the image area

"""The workstation end to end, offscreen, with the tiny random model and generated images."""
from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from PySide6.QtCore import Qt

from ra_desktop import paths
from ra_desktop.worklist import DONE, FAILED, REVIEWED, WorklistStore
from ra_desktop.ui.worklist_panel import COL_READER, COL_STATUS
from tests.gui.conftest import wait_rows, write_images

pytestmark = pytest.mark.gui


def _open(window, row_id):
    """Open a row the way the reader does: select it and press Enter (no debounce wait)."""
    window.worklist.select_row(row_id)
    window.worklist._emit_now()


def _row_by_name(window, name):
    return next(r for r in window.worklist.model.rows() if r.file_name == name)


def test_no_model_shows_banner_and_images_still_open(make_window, image_folder, qtbot):
    w = make_window(None)
    assert not w.banner.isHidden()
    assert "No model installed" in w.banner.text.text() and "Settings" in w.banner.text.text()
    w.add_paths([str(image_folder)])
    wait_rows(qtbot, w, 5)
    row = _row_by_name(w, "case_01.png")
    w.worklist.select_row(row.id)
    qtbot.waitUntil(lambda: w.viewer.radiograph is not None
                    and w.viewer.radiograph.source_path.name == "case_01.png", timeout=10000)
    assert w.store.get(row.id).probability is None  # nothing analysed without a model


def test_open_folder_failed_file_and_arrow_keys(make_window, image_folder, qtbot):
    w = make_window(None, wait_model=True)
    w.add_paths([str(image_folder)])
    wait_rows(qtbot, w, 5)
    bad = _row_by_name(w, "broken.png")
    assert bad.status == FAILED and bad.status_note  # the reason is kept in the row
    assert "failed:" in w.worklist.proxy.index(
        next(i for i in range(5) if w.worklist.proxy.index(i, 0).data(Qt.ItemDataRole.UserRole + 1) == bad.id),
        COL_STATUS).data()
    # opening the same folder again adds nothing
    w.add_paths([str(image_folder)])
    qtbot.waitUntil(lambda: not w._scans, timeout=10000)
    assert w.worklist.model.rowCount() == 5 and len(w.store) == 5

    table = w.worklist.table
    table.setFocus()
    w.worklist.select_row(w.worklist.visible_row_ids()[0])
    first = w.worklist.current_row_id()
    with qtbot.waitSignal(w.worklist.case_selected, timeout=3000) as sig:
        qtbot.keyClick(table, Qt.Key.Key_Down)
    second = w.worklist.current_row_id()
    assert second != first and sig.args == [second]
    with qtbot.waitSignal(w.worklist.case_selected, timeout=3000) as sig:
        qtbot.keyClick(table, Qt.Key.Key_Up)
    assert sig.args == [first]
    with qtbot.waitSignal(w.worklist.case_selected, timeout=1000) as sig:  # Enter opens at once
        qtbot.keyClick(table, Qt.Key.Key_Return)
    assert sig.args == [first]


def test_search_and_filters(make_window, image_folder, qtbot):
    w = make_window(None)
    w.add_paths([str(image_folder)])
    wait_rows(qtbot, w, 5)
    w.worklist.search.setText("case_02")
    assert w.worklist.proxy.rowCount() == 1
    w.worklist.search.clear()
    w.worklist.status_filter.setCurrentText("failed")
    assert [w.worklist.model.row(i).file_name for i in w.worklist.visible_row_ids()] == ["broken.png"]
    w.worklist.status_filter.setCurrentIndex(0)
    w.worklist.result_filter.setCurrentText("Not analysed")
    assert w.worklist.proxy.rowCount() == 5


def test_analysis_layers_and_window_level(make_window, tiny_model_dir, image_folder, qtbot):
    w = make_window(tiny_model_dir)
    assert w.banner.isHidden()
    assert "synthetic" in w.findings.notice.text().lower() and not w.findings.notice.isHidden()
    w.add_paths([str(image_folder)])
    wait_rows(qtbot, w, 5)
    row = _row_by_name(w, "case_00.png")
    with qtbot.waitSignal(w.jobs.open_finished, timeout=30000) as sig:
        _open(w, row.id)
    result = sig.args[1]
    assert sig.args[0] == row.id and 0.0 <= result.probability <= 1.0
    saved = w.store.get(row.id)
    assert saved.status == DONE and saved.probability == pytest.approx(result.probability)
    assert "P(RA)" in w.findings.prob_label.text() and w.findings.bar.threshold == pytest.approx(result.threshold)

    v = w.viewer
    c, width = v.window()
    before = v.displayed_image().copy()
    v.set_window(c, width / 4)  # narrower window → more contrast, a different picture
    assert v.window() == (pytest.approx(c), pytest.approx(width / 4))
    assert not np.array_equal(before, v.displayed_image())

    assert "gradcam" in result.heatmaps  # Grad-CAM always ships: its absence is a failure
    item = v.layer_item("gradcam")
    assert item is not None and item.isVisible()  # default overlay from settings
    v.set_layer_visible("gradcam", False)
    assert not item.isVisible()
    v.set_layer_opacity("gradcam", 0.2)
    assert item.opacity() == pytest.approx(0.2)


def test_selecting_another_case_cancels_and_no_stale_result(make_window, tiny_model_dir, image_folder, qtbot):
    w = make_window(tiny_model_dir)
    w.add_paths([str(image_folder)])
    wait_rows(qtbot, w, 5)
    a, b = _row_by_name(w, "case_00.png"), _row_by_name(w, "case_03.png")
    landed = []
    w.jobs.open_image.connect(lambda rid, *_: landed.append(("image", rid)))
    w.jobs.open_stage.connect(lambda rid, *_: landed.append(("stage", rid)))
    w.jobs.open_finished.connect(lambda rid, *_: landed.append(("finished", rid)))
    ended = {}  # job id -> the worker's last word on it
    t = w.jobs.thread
    t.job_finished.connect(lambda jid, *_: ended.setdefault(jid, "finished"))
    t.job_failed.connect(lambda jid, *_: ended.setdefault(jid, "failed"))
    t.job_cancelled.connect(lambda jid: ended.setdefault(jid, "cancelled"))
    _open(w, a.id)
    job_a = w.jobs.current_open_id
    _open(w, b.id)  # straight away: the reader moved on
    job_b = w.jobs.current_open_id
    # Wait for events, not for time: until b's result has landed and the worker's last word on a
    # (cancelled, or finished if it outran the cancel) has reached the GUI thread. Queued signals
    # from the worker arrive in the order they were sent, so anything a sent before that is in.
    qtbot.waitUntil(lambda: ("finished", b.id) in landed and job_a in ended and job_a not in w.jobs._jobs,
                    timeout=30000)
    assert all(rid == b.id for _, rid in landed), landed  # nothing of a's reached the window
    assert ended[job_a] in ("cancelled", "finished") and ended[job_b] == "finished", ended
    assert w.viewer.radiograph.source_path.name == "case_03.png"
    assert "case_03.png" in w.findings.case_label.text()


def test_batch_with_broken_file_then_signoff_and_restart(make_window, tiny_model_dir, image_folder, qtbot):
    w = make_window(tiny_model_dir)
    w.add_paths([str(image_folder)])
    wait_rows(qtbot, w, 5)
    progress = []
    w.jobs.batch_progress.connect(lambda p: progress.append(p.finished))
    with qtbot.waitSignal(w.jobs.batch_finished, timeout=60000) as sig:
        w.analyse_all()
        assert not w.batch_status.isHidden()
    summary, cancelled = sig.args
    assert not cancelled and summary.done == 4 and summary.failed == 1
    assert progress[-1] == 5
    rows = {r.file_name: r for r in w.store.rows()}
    assert rows["broken.png"].status == FAILED and rows["broken.png"].status_note
    assert all(rows[f"case_{i:02d}.png"].status == DONE and rows[f"case_{i:02d}.png"].probability is not None
               for i in range(4))
    # sign-off on one case
    target = rows["case_01.png"]
    with qtbot.waitSignal(w.jobs.open_finished, timeout=30000):
        _open(w, target.id)
    assert w.findings.regions_label.text()  # regions of case_01 are shown...
    with qtbot.waitSignal(w.jobs.open_failed, timeout=30000):
        _open(w, rows["broken.png"].id)
    assert w.findings.regions_label.text() == ""  # ...and never linger on the next, failed case
    assert "Failed:" in w.findings.case_label.text() and w.findings.bar.probability is None
    _open(w, target.id)
    w.findings.disagree.setChecked(True)
    w.findings.note.setPlainText("joint spaces preserved")
    w.findings.sign_button.click()
    assert w.store.get(target.id).status == REVIEWED
    assert "disagree" in w.worklist.model.data(w.worklist.model.index(
        [r.id for r in w.worklist.model.rows()].index(target.id), COL_READER))
    w.close()

    # "restart": a fresh window on the same database finds everything
    w2 = make_window(tiny_model_dir)
    rows2 = {r.file_name: r for r in w2.worklist.model.rows()}
    assert set(rows2) == set(rows)
    assert rows2["case_01.png"].verdict == "disagree" and rows2["case_01.png"].reader == "Dr Test"
    assert rows2["case_01.png"].reader_note == "joint spaces preserved"
    assert rows2["case_02.png"].probability == pytest.approx(rows["case_02.png"].probability)
    assert rows2["broken.png"].status == FAILED
    mode = sqlite3.connect(paths.user_data_dir() / "worklist.sqlite").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_cancel_batch_returns_rows_to_new(make_window, tiny_model_dir, tmp_path, qtbot):
    folder = tmp_path / "many"
    write_images(folder, n=8, broken=False)
    w = make_window(tiny_model_dir)
    w.add_paths([str(folder)])
    wait_rows(qtbot, w, 8)
    with qtbot.waitSignal(w.jobs.batch_finished, timeout=30000) as sig:
        w.analyse_all()
        qtbot.waitUntil(lambda: any(r.status == DONE for r in w.store.rows()), timeout=30000)
        w.batch_status.cancel.click()
    assert sig.args[1] is True
    qtbot.wait(500)
    statuses = {r.status for r in w.store.rows()}
    assert statuses <= {DONE, "new"} and "new" in statuses


def test_interrupted_rows_recovered_at_start(make_window, image_folder, qtbot):
    from ra_desktop.worklist import NewCase

    store = WorklistStore()
    (rid,) = store.add_cases([NewCase("x", str(image_folder / "case_00.png"))])
    store.set_status(rid, "analysing")
    store.close()
    w = make_window(None)
    row = w.worklist.model.row(rid)
    assert row.status == "queued" and "interrupted" in row.status_note


def test_real_radiograph_gets_no_verdict_in_the_window(make_window, bundled_model_dir, tmp_path, qtbot):
    # The bundled model on a real chest CR (pydicom-data RG3, JPEG 2000): out of distribution, so
    # the window shows no probability, label, bar, regions or heat map, and nothing to sign.
    import shutil

    from io_fixtures import real_dicom

    from ra_desktop.ui.worklist_panel import result_text

    folder = tmp_path / "real"
    folder.mkdir()
    shutil.copy2(real_dicom("RG3_J2KI.dcm"), folder / "chest.dcm")
    w = make_window(bundled_model_dir)
    w.add_paths([str(folder)])
    wait_rows(qtbot, w, 1)
    row = _row_by_name(w, "chest.dcm")
    with qtbot.waitSignal(w.jobs.open_finished, timeout=60000) as sig:
        _open(w, row.id)
    result = sig.args[1]
    assert result.ood is not None and not result.ood.in_distribution and "gradcam" in result.heatmaps
    f = w.findings
    assert f.withheld and f.label_label.text() == "no verdict" and "does not apply" in f.ood_label.text()
    assert f.prob_label.text() == "P(RA): not shown" and f.bar.probability is None
    assert f"{result.probability * 100:.1f}" not in f.prob_label.text() and "RA" not in f.label_label.text()
    assert not f.research_button.isHidden() and not f.sign_button.isEnabled() and not f.agree.isEnabled()
    assert w.viewer.layer_item("gradcam") is None  # the map was computed, and is not drawn
    saved = w.store.get(row.id)
    assert saved.ood_flag and result_text(saved) == "no verdict (OOD)"
    # Asked for as research: the maps appear on the image, never as attention beside the reader's scores
    f.research_button.click()
    qtbot.waitUntil(lambda: w.viewer.layer_item("gradcam") is not None, timeout=5000)
    assert w.score_sheet._gradcam is None and w.scoring.table.isColumnHidden(3) and w.scoring.attention_note.isHidden()

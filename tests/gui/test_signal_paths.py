"""Each worker signal reaches the window by one path (issue #22): the inference thread's signals
go to the JobController only, each JobController signal to one slot of the window, and an open
case's final result is drawn by open_finished alone (result_ready stores it)."""
from __future__ import annotations

from PySide6.QtCore import SIGNAL

from tests.gui.conftest import wait_rows

THREAD = ("model_loading(QString)", "model_ready(PyObject)", "model_failed(QString,bool)", "job_started(int)",
          "image_preview(int,PyObject)", "image_ready(int,PyObject,PyObject)", "stage_ready(int,QString,PyObject)",
          "job_finished(int,PyObject)", "job_failed(int,QString)", "job_cancelled(int)")
WINDOW = ("open_preview(int,PyObject)", "open_stage(int,QString,PyObject)", "open_finished(int,PyObject)",
          "open_failed(int,QString)",
          "result_ready(int,PyObject,bool)", "analysis_failed(int,QString)", "row_started(int)",
          "batch_progress(PyObject)", "batch_finished(PyObject,bool)", "model_loading(QString)",
          "model_ready(PyObject)", "model_failed(QString,bool)")


def test_one_connection_per_worker_signal(make_window):
    w = make_window(None, wait_model=False)
    for sig in THREAD:
        assert w.jobs.thread.receivers(SIGNAL(sig)) == 1, sig
    for sig in WINDOW:
        assert w.jobs.receivers(SIGNAL(sig)) == 1, sig


def test_an_open_result_is_drawn_once(make_window, tiny_model_dir, image_folder, qtbot):
    w = make_window(tiny_model_dir)
    w.add_paths([str(image_folder)])
    wait_rows(qtbot, w, 5)
    events, flags = [], []
    show_result, show_row = w.findings.show_result, w.findings.show_row
    w.findings.show_result = lambda result: (events.append(result), show_result(result))
    w.findings.show_row = lambda row: (events.append("row"), show_row(row))
    # connected after the window: runs once the window's own _on_result has stored and drawn
    w.jobs.result_ready.connect(lambda rid, result, shown: (flags.append(shown), events.append("stored")))
    row = next(r for r in w.worklist.model.rows() if r.file_name == "case_00.png")
    with qtbot.waitSignal(w.jobs.open_finished, timeout=30000) as sig:
        w.worklist.select_row(row.id)
        w.worklist._emit_now()
    assert flags == [True]
    after_store = events[len(events) - events[::-1].index("stored") - 2:]
    # the row refreshed on store, then the final result drawn once, by open_finished
    assert after_store[0] == "row" and after_store[1] == "stored" and after_store[2:] == [sig.args[1]]

"""Exports go through the JobController: each has a job id that its finish or failure carries."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QFileDialog

from ra_desktop import audit
from tests.gui.conftest import wait_rows

pytestmark = pytest.mark.gui


def test_export_reports_its_job_id_on_finish_and_on_failure(make_window, tiny_model_dir, image_folder, tmp_path,
                                                            qtbot, monkeypatch):
    from ra_desktop.ui import export

    out = tmp_path / "reports"
    out.mkdir()
    not_a_folder = tmp_path / "a-file.pdf"  # a file where the report folder should be: the export fails
    not_a_folder.write_bytes(b"")
    folder = {"path": str(out)}
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: folder["path"]))
    w = make_window(tiny_model_dir)
    w.add_paths([str(image_folder / "case_00.png")])
    wait_rows(qtbot, w, 1)
    row = w.worklist.model.rows()[0]
    with qtbot.waitSignal(w.jobs.open_finished, timeout=30000):
        w.worklist.select_row(row.id)
        w.worklist._emit_now()
    finished, failed = [], []
    w.jobs.export_finished.connect(lambda jid, out_: finished.append((jid, out_)))
    w.jobs.export_failed.connect(lambda jid, reason: failed.append((jid, reason)))

    good = export.export_current(w)
    qtbot.waitUntil(lambda: bool(finished), timeout=30000)
    assert isinstance(good, int) and [jid for jid, _ in finished] == [good] and not failed
    assert "Report saved" in w.status_text.text() and not w.message_boxes

    folder["path"] = str(not_a_folder)
    bad = export.export_current(w)
    qtbot.waitUntil(lambda: bool(failed), timeout=30000)
    assert bad != good and [jid for jid, _ in failed] == [bad] and len(finished) == 1
    assert "could not be written" in w.message_boxes[-1]
    # only the written report is audited
    assert [e["action"] for e in audit.read_events() if e["action"] == audit.EXPORTED] == ["exported"]


def test_submit_export_runs_then_on_a_task_thread_under_the_same_id(make_window, qtbot):
    w = make_window(None)
    seen = []
    with qtbot.waitSignal(w.jobs.export_finished, timeout=10000) as got:
        jid = w.jobs.submit_export(lambda model, progress: 2, then=lambda built, progress, token: built * 21,
                                   on_built=seen.append)
    assert got.args == [jid, 42] and seen == [2]
    with qtbot.waitSignal(w.jobs.export_failed, timeout=10000) as got:
        jid2 = w.jobs.submit_export(lambda model, progress: 1, then=lambda *a: 1 / 0)
    assert got.args[0] == jid2 != jid

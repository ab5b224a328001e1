"""A worklist export whose summary fails still keeps, audits and announces every report."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QFileDialog

from ra_desktop import audit
from tests.gui.conftest import wait_rows

pytestmark = pytest.mark.gui


def test_reports_are_audited_when_the_summary_fails(make_window, tiny_model_dir, image_folder, tmp_path,
                                                    qtbot, monkeypatch):
    from ra_desktop.report import batch as batch_mod
    from ra_desktop.ui import export

    def broken(*args, **kwargs):
        raise ValueError("The row with index 1 is too high and cannot be rendered on a single page")

    monkeypatch.setattr(batch_mod, "summary_pdf", broken)
    out = tmp_path / "reports"
    out.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(out)))
    w = make_window(tiny_model_dir)
    w.add_paths([str(image_folder / "case_00.png"), str(image_folder / "case_01.png")])
    wait_rows(qtbot, w, 2)
    for row in w.worklist.model.rows():
        with qtbot.waitSignal(w.jobs.open_finished, timeout=30000):
            w.worklist.select_row(row.id)
            w.worklist._emit_now()

    export.export_batch(w)
    qtbot.waitUntil(lambda: bool(w.message_boxes), timeout=60000)
    message = w.message_boxes[-1]
    assert "2 report(s) written" in message, message
    assert "summary could not be written" in message and "too high" in message
    assert len(list(out.glob("RA-report_*.pdf"))) == 2
    exported = [e for e in audit.read_events() if e["action"] == audit.EXPORTED]
    assert sorted(e["case_id"] for e in exported) == sorted(r.case_id for r in w.worklist.model.rows())
    assert all(e["source"] == "gui" and e["reader"] == "Dr Test" for e in exported)

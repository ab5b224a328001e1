"""The workstation writes the audit trail: open, analyse, sign and export, by case id."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QFileDialog

from ra_desktop import audit
from tests.gui.conftest import wait_rows

pytestmark = pytest.mark.gui


def test_open_sign_and_export_are_audited(make_window, tiny_model_dir, image_folder, tmp_path, qtbot, monkeypatch):
    out = tmp_path / "reports"
    out.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(out)))
    monkeypatch.setattr(audit, "os_user", lambda: "ws-login")
    w = make_window(tiny_model_dir)
    w.add_paths([str(image_folder / "case_00.png"), str(image_folder / "case_01.png")])
    wait_rows(qtbot, w, 2)
    row = next(r for r in w.worklist.model.rows() if r.file_name == "case_00.png")
    with qtbot.waitSignal(w.jobs.open_finished, timeout=30000):
        w.worklist.select_row(row.id)
        w.worklist._emit_now()
    w.findings.agree.setChecked(True)
    w.findings.sign_button.click()
    from ra_desktop.ui import export

    export.export_current(w)
    qtbot.waitUntil(lambda: "Report saved" in w.status_text.text() or bool(w.message_boxes), timeout=30000)
    assert not w.message_boxes, w.message_boxes
    # the worklist export: one "exported" line per report written
    export.export_batch(w)
    qtbot.waitUntil(lambda: bool(w.message_boxes), timeout=60000)
    assert "report(s) written" in w.message_boxes[-1]

    events = [e for e in audit.read_events() if e["case_id"] == row.case_id]
    assert [e["action"] for e in events] == ["opened", "analysed", "signed", "exported", "exported"]
    assert all(e["reader"] == "Dr Test" and e["os_user"] == "ws-login" and e["source"] == "gui" for e in events)
    analysed, signed = events[1], events[2]
    assert analysed["model"] == "tiny-test-model 0.0.0-test" and analysed["model_sha256"] == w.jobs.model.sha256
    assert signed["verdict"] == "agree"
    assert events[0]["time_utc"] <= events[-1]["time_utc"]
    # case ids only: no file names or folders in the trail
    assert "case_00" not in audit.audit_path().read_text(encoding="utf-8")

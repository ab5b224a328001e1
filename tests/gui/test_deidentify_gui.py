"""GUI exports can be de-identified: File > "De-identify exported reports", remembered, audited."""
from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from PySide6.QtWidgets import QFileDialog

from ra_desktop import audit
from ra_desktop.settings import load_settings
from tests.gui.conftest import wait_rows
from tests.io_fixtures import write_dicom

pytestmark = pytest.mark.gui

SECRETS = ("Doe", "Jane", "PID-4711", "19610203", "20250314", "2025-03-14", "ACC-98765")


def _pdf_text(path) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(path.read_bytes()))
    text = " ".join(p.extract_text() for p in reader.pages)
    meta = " ".join(str(v) for v in (reader.metadata or {}).values())
    return " ".join((text + " " + meta).split())


def test_deidentified_export_from_the_window(make_window, tiny_model_dir, tmp_path, qtbot, monkeypatch):
    from ra_desktop.pseudonym import pseudonym
    from ra_desktop.ui import export

    folder = tmp_path / "Doe_Jane_PID-4711"
    folder.mkdir()
    rng = np.random.default_rng(3)
    px = (8000 + rng.normal(0, 800, (200, 160))).clip(0, 65535).astype(np.uint16)
    px[60:160, 40:120] += 20000
    dcm = write_dicom(folder / "Doe_Jane_19610203.dcm", px, PatientName="Doe^Jane", PatientID="PID-4711",
                      PatientBirthDate="19610203", StudyDate="20250314", AccessionNumber="ACC-98765")
    single, batch = tmp_path / "single", tmp_path / "batch"
    single.mkdir()
    batch.mkdir()
    targets = iter([str(single), str(batch)])
    titles: list[str] = []

    def choose(parent, title, *a, **k):
        titles.append(title)
        return next(targets)

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(choose))
    w = make_window(tiny_model_dir)
    w.add_paths([str(dcm)])
    wait_rows(qtbot, w, 1)
    row = w.worklist.model.rows()[0]
    assert row.patient_name == "Doe^Jane"  # the worklist shows the patient: the report must not
    case_id = row.case_id
    with qtbot.waitSignal(w.jobs.open_finished, timeout=30000):
        w.worklist.select_row(row.id)
        w.worklist._emit_now()

    assert not w.deidentify_action.isChecked()
    w.deidentify_action.trigger()  # the menu item, as a user clicks it
    assert w.settings.deidentify_reports and load_settings().deidentify_reports  # remembered

    export.export_current(w)
    qtbot.waitUntil(lambda: "Report saved" in w.status_text.text() or bool(w.message_boxes), timeout=30000)
    assert not w.message_boxes, w.message_boxes
    export.export_batch(w)
    qtbot.waitUntil(lambda: bool(w.message_boxes), timeout=60000)
    assert "1 report(s) (de-identified) written" in w.message_boxes[-1], w.message_boxes
    assert all("(de-identified)" in t for t in titles)

    alias = pseudonym(case_id)
    pdfs = [*single.glob("RA-report_*.pdf"), *batch.glob("RA-report_*.pdf")]
    assert len(pdfs) == 2
    for pdf in pdfs:
        text = _pdf_text(pdf)
        assert "removed (de-identified)" in text and alias in text
        assert pdf.name.startswith(f"RA-report_{alias}_")
        for secret in (*SECRETS, case_id, case_id[:14], case_id[-14:]):
            assert secret not in text, f"{secret!r} in {pdf.name}"
            assert secret not in pdf.name
    (summary,) = batch.glob("RA-report-summary_*.csv")
    content = summary.read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(content.splitlines()))
    assert [r["case_id"] for r in rows] == [alias]
    assert not any(s in content for s in (*SECRETS, case_id))

    # the trail names the real case and says the export was de-identified, with the pseudonym
    exports = [e for e in audit.read_events() if e["action"] == audit.EXPORTED]
    assert [(e["case_id"], e["deidentified"], e["pseudonym"]) for e in exports] == [(case_id, True, alias)] * 2

    # switched off again: the next report carries the patient's data, and the trail says so
    w.deidentify_action.trigger()
    assert not load_settings().deidentify_reports
    plain = tmp_path / "plain"
    plain.mkdir()
    targets = iter([str(plain)])
    export.export_current(w)
    qtbot.waitUntil(lambda: any(plain.glob("*.pdf")), timeout=30000)
    qtbot.waitUntil(lambda: len([e for e in audit.read_events() if e["action"] == audit.EXPORTED]) == 3,
                    timeout=10000)
    (pdf,) = plain.glob("*.pdf")
    assert "Doe^Jane" in _pdf_text(pdf) and case_id in pdf.name
    assert audit.read_events()[-1]["deidentified"] is False

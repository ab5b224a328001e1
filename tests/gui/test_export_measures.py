"""A worklist export measures the studies nobody opened in the Radiogrammetry tab (issue #19): every
report and the summary CSV have the automatic values, and they are stored as opening would store them."""
from __future__ import annotations

import csv
import io

import pytest
from PySide6.QtWidgets import QFileDialog

from ra_desktop.paths import demo_dir
from tests.gui.conftest import wait_rows

pytestmark = pytest.mark.gui


def test_unmeasured_studies_are_measured_stored_and_reported(make_window, tiny_model_dir, tmp_path, qtbot,
                                                           monkeypatch):
    from ra_desktop.ui import export

    out = tmp_path / "reports"
    out.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(out)))
    w = make_window(tiny_model_dir)
    cases = sorted((demo_dir() / "RA").glob("*.dcm"))[:2]
    w.add_paths([str(p) for p in cases])
    wait_rows(qtbot, w, 2)
    rows = w.worklist.model.rows()
    for row in rows:  # analysed (the export takes analysed studies), never measured
        with qtbot.waitSignal(w.jobs.open_finished, timeout=30000):
            w.worklist.select_row(row.id)
            w.worklist._emit_now()
    book = w.radiogrammetry.book
    assert [book.load(r.id) for r in rows] == [None, None]

    export.export_batch(w)
    qtbot.waitUntil(lambda: bool(w.message_boxes), timeout=120000)
    assert "2 report(s) written" in w.message_boxes[-1], w.message_boxes[-1]
    summary = next(out.glob("*.csv"))
    lines = list(csv.DictReader(io.StringIO(summary.read_text(encoding="utf-8-sig"))))
    assert len(lines) == 2
    for line, row in zip(lines, rows):
        stored = book.load(row.id)
        assert stored is not None and stored.hand.measurable, stored
        mc3 = stored.hand.bones["MC3"]
        assert line["rg_unit"] == "mm"
        # The CSV prints what was stored: a validated bone's MCI, a rejected one's reason, never both.
        if mc3.valid:
            assert line["rg_MC3_MCI"] == f"{mc3.MCI:.3f}"
        else:
            assert line["rg_MC3_MCI"] == "" and line["rg_MC3_status"].startswith("not valid")
    assert any(line["rg_MC3_MCI"] for line in lines)

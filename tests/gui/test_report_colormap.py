"""The exported report names and draws the colour map (and opacity) the screen shows (issue #23:
the report said "jet" while the viewer showed "hot")."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QFileDialog

from tests.gui.conftest import wait_rows

pytestmark = pytest.mark.gui


def test_report_uses_the_viewers_colour_map(make_window, tiny_model_dir, image_folder, tmp_path, qtbot,
                                            monkeypatch):
    from pypdf import PdfReader

    from ra_desktop.ui import export

    out = tmp_path / "reports"
    out.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(out)))
    w = make_window(tiny_model_dir)
    w.add_paths([str(image_folder / "case_00.png")])
    wait_rows(qtbot, w, 1)
    rid = w.worklist.model.rows()[0].id
    with qtbot.waitSignal(w.jobs.open_finished, timeout=30000):
        w.worklist.select_row(rid)
        w.worklist._emit_now()
    qtbot.waitUntil(lambda: w.current_result is not None, timeout=30000)
    w.viewer.set_layer_colormap("gradcam", "hot")  # what the layer control's combo box does
    w.viewer.set_layer_opacity("gradcam", 0.6)
    options = export._options(w)
    assert (options.cmap, options.opacity) == ("hot", 0.6)
    export.export_current(w)
    qtbot.waitUntil(lambda: "Report saved" in w.status_text.text() or bool(w.message_boxes), timeout=30000)
    assert not w.message_boxes, w.message_boxes
    (pdf,) = out.glob("*.pdf")
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(pdf).pages).split())
    assert "colour map hot, opacity 60 %" in text, text
    assert "colour map jet" not in text


def test_cli_report_keeps_its_default_colour_map():
    from ra_desktop.report.model import ReportOptions

    assert ReportOptions().cmap is None  # the builder's default: jet for Grad-CAM, rdbu for SHAP

"""Text from a DICOM header or a file name is shown literally, never rendered as markup.

A crafted Patient ID once showed a green "Signed off: agree by …" on a case nobody signed.
What a label shows is computed the way Qt decides it (plain, rich, or guessed), so the test
fails for any widget that would render the markup, whichever way it came to.
"""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtGui import Qt as GuiQt
from PySide6.QtWidgets import QLabel

from ra_desktop.ui.worklist_panel import COL_FILE, COL_STATUS
from tests.gui.conftest import wait_rows
from tests.io_fixtures import write_dicom

pytestmark = pytest.mark.gui

FORGED = "Signed off: agree by Dr Mallory"
PATIENT_ID = f"<b style='color:#3c3'>{FORGED}</b>"  # 55 characters: within LO's 64


def shown(text: str, fmt: Qt.TextFormat) -> str:
    """What Qt draws for ``text`` in this format: markup interpreted when Qt takes it as rich."""
    rich = fmt == Qt.TextFormat.RichText or (fmt == Qt.TextFormat.AutoText and GuiQt.mightBeRichText(text))
    if not rich:
        return text
    doc = QTextDocument()
    doc.setHtml(text)
    return doc.toPlainText()


def shown_labels(window) -> list[str]:
    return [shown(lab.text(), lab.textFormat()) for lab in window.findChildren(QLabel)]


def shown_tooltip(model, row: int, col: int) -> str:
    text = model.index(row, col).data(Qt.ItemDataRole.ToolTipRole) or ""
    return shown(text, Qt.TextFormat.AutoText)  # tooltips are always guessed


def test_markup_in_tags_and_names_is_shown_literally(make_window, tmp_path, qtbot):
    folder = tmp_path / "<i>scans &lt;"
    folder.mkdir()
    pixels = (np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 8)
    write_dicom(folder / "hand.dcm", pixels, PatientID=PATIENT_ID, PatientName="Doe^Jane")
    (folder / "<u>broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"<b>not a png</b>" * 4)

    w = make_window(None)
    w.add_paths([str(folder)])
    wait_rows(qtbot, w, 2)
    rows = {r.file_name: r for r in w.worklist.model.rows()}
    good, bad = rows["hand.dcm"], rows["<u>broken.png"]

    w.worklist.select_row(good.id)
    w.worklist._emit_now()
    qtbot.waitUntil(lambda: w.viewer.radiograph is not None, timeout=10000)
    labels = shown_labels(w)
    assert any(PATIENT_ID in t for t in labels), "the Patient ID is shown, markup and all"
    # Every place that shows the forged sentence shows it inside its literal tags.
    assert not any(FORGED in t.replace(PATIENT_ID, "") for t in labels)

    w.worklist.select_row(bad.id)
    w.worklist._emit_now()
    qtbot.waitUntil(lambda: any("<u>broken.png" in t for t in shown_labels(w)), timeout=10000)

    model = w.worklist.model
    row_of = {model.rows()[i].id: i for i in range(model.rowCount())}
    assert "<i>scans &lt;" in shown_tooltip(model, row_of[good.id], COL_FILE)
    assert bad.status_note and shown_tooltip(model, row_of[bad.id], COL_STATUS) == bad.status_note

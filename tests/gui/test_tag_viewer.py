"""View > DICOM tags…: the open study's header, searchable, plain text, bounded (issue #23)."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset
from PySide6.QtWidgets import QLabel

from tests.gui.conftest import wait_rows
from tests.io_fixtures import write_dicom

pytestmark = pytest.mark.gui

DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo"
MARKUP = "<b>Bold</b>^<span style='color:green'>Signed off</span>"


def _dialog(qtbot, path, **kw):
    from ra_desktop.ui.tag_viewer import TagDialog

    dlg = TagDialog(path, **kw)
    qtbot.addWidget(dlg)
    with qtbot.waitSignal(dlg.loaded, timeout=30000):
        dlg.show()
    return dlg


def _value(dlg, keyword: str) -> str:
    return next(v for _, k, _, v in dlg.visible_rows() if k == keyword)


def test_demo_dicom_tags_are_listed(qtbot):
    dlg = _dialog(qtbot, DEMO / "RA" / "phantom_900000_000004.dcm")
    rows = dlg.visible_rows()
    keywords = {k for _, k, _, _ in rows}
    assert {"TransferSyntaxUID", "PatientName", "PatientID", "Modality", "ViewPosition", "Rows"} <= keywords
    assert ("(0010,0020)", "PatientID", "LO", "PHANTOM-900000-4") in rows
    assert ("(0008,0060)", "Modality", "CS", "DX") in rows
    assert _value(dlg, "ImagerPixelSpacing") == "0.17440\\0.17440"
    assert "PixelData" not in keywords  # never read
    assert "elements" in dlg.summary.text()


def test_search_filters_by_tag_keyword_and_value(qtbot):
    dlg = _dialog(qtbot, DEMO / "RA" / "phantom_900000_000004.dcm")
    every = len(dlg.visible_rows())
    dlg.search.setText("patientid")
    assert [k for _, k, _, _ in dlg.visible_rows()] == ["PatientID"]
    dlg.search.setText("0028,0010")  # a tag as written
    assert [k for _, k, _, _ in dlg.visible_rows()] == ["Rows"]
    dlg.search.setText("00280011")  # and without punctuation
    assert [k for _, k, _, _ in dlg.visible_rows()] == ["Columns"]
    dlg.search.setText("SYNTHETIC PHANTOM")  # a value, in any case
    assert {k for _, k, _, _ in dlg.visible_rows()} == {"StudyDescription", "SeriesDescription", "ImageComments",
                                                        "ManufacturerModelName"}
    dlg.search.setText("no such thing anywhere")
    assert dlg.visible_rows() == []
    dlg.search.clear()
    assert len(dlg.visible_rows()) == every


def test_sequences_expand_and_search_finds_nested_values(tmp_path, qtbot):
    item = Dataset()
    item.CodeValue = "T-15420"
    item.CodeMeaning = "Hand nested"
    path = write_dicom(tmp_path / "seq.dcm", np.zeros((8, 8), np.uint16), AnatomicRegionSequence=[item, Dataset()])
    dlg = _dialog(qtbot, path)
    rows = dlg.visible_rows()
    seq = next(r for r in rows if r[1] == "AnatomicRegionSequence")
    assert seq[2] == "SQ" and seq[3] == "sequence of 2 items"
    assert ("(0008,0104)", "CodeMeaning", "LO", "Hand nested") in rows
    dlg.search.setText("hand nested")
    assert [r[1] for r in dlg.visible_rows()] == ["AnatomicRegionSequence", "Item 1", "CodeMeaning"]


def test_markup_in_a_patient_name_is_shown_literally(tmp_path, qtbot):
    path = write_dicom(tmp_path / "markup.dcm", np.zeros((8, 8), np.uint16), SpecificCharacterSet="ISO_IR 192",
                       PatientName=MARKUP, PatientID="<img src=x>\u202eevil")
    dlg = _dialog(qtbot, path)
    assert _value(dlg, "PatientName") == MARKUP
    assert _value(dlg, "PatientID") == "<img src=x>evil"  # the bidi override removed, the rest as written
    for label in dlg.findChildren(QLabel):  # nothing in the dialog renders markup
        assert label.textFormat().name == "PlainText", label.text()
    dlg.search.setText("signed off")  # found as text
    assert [r[1] for r in dlg.visible_rows()] == ["PatientName"]


def test_private_tags_marked_and_bulk_values_summarised(tmp_path, qtbot):
    path = write_dicom(tmp_path / "private.dcm", np.zeros((8, 8), np.uint16))
    import pydicom

    ds = pydicom.dcmread(path)
    block = ds.private_block(0x0029, "ACME 1.0", create=True)
    block.add_new(0x01, "LO", "vendor value")
    block.add_new(0x02, "OB", bytes(range(256)) * 4)
    ds.add_new(0x00291105, "UN", b"\x01\x02")  # private element without a creator block
    ds.IconImageSequence = [Dataset()]
    ds.save_as(path)
    dlg = _dialog(qtbot, path)
    rows = dlg.visible_rows()
    assert ("(0029,0010)", "Private creator", "LO", "ACME 1.0") in rows
    assert ("(0029,1001)", "Private [ACME 1.0]", "LO", "vendor value") in rows
    assert ("(0029,1002)", "Private [ACME 1.0]", "OB", "1,024 bytes (binary, not shown)") in rows
    assert any(r[0] == "(0029,1105)" and r[1].startswith("Private") for r in rows)
    assert "private" in dlg.summary.text()


def test_ten_thousand_private_elements_do_not_hang_and_stay_bounded(tmp_path, qtbot):
    from ra_desktop.ui import tag_viewer

    path = write_dicom(tmp_path / "flood.dcm", np.zeros((8, 8), np.uint16))
    import pydicom

    ds = pydicom.dcmread(path)
    for b in range(40):  # 40 private blocks of 250 elements: 10,000 private data elements
        block = ds.private_block(0x0009 + 2 * (b // 200), f"FLOOD {b}", create=True)
        for e in range(250):
            block.add_new(e, "LO", f"flood {b}.{e} <b>x</b>")
    ds.PatientName = "Doe^Jane"
    ds.save_as(path)
    start = time.monotonic()
    listing = tag_viewer.read_tags(path, max_rows=2000)
    assert time.monotonic() - start < 10
    assert listing.elements == 2000 and listing.not_shown > 8000
    assert "not shown" in listing.notes[0]
    start = time.monotonic()
    dlg = _dialog(qtbot, path)  # the default row budget: all of them, in seconds
    dlg.search.setText("flood 39.249")
    assert time.monotonic() - start < 20
    assert [r[3] for r in dlg.visible_rows()] == ["flood 39.249 <b>x</b>"]


def test_a_header_past_the_loaders_element_budget_is_refused(tmp_path, qtbot, monkeypatch):
    from ra_desktop.io import _header_limits
    from ra_desktop.ui import tag_viewer

    path = write_dicom(tmp_path / "many.dcm", np.zeros((8, 8), np.uint16), PatientName="Doe^Jane")
    monkeypatch.setattr(_header_limits, "MAX_ELEMENTS", 5)
    listing = tag_viewer.read_tags(path)
    assert listing.rows == [] and listing.message.startswith("Refused: more than 5 data elements")


def test_long_text_is_cut_for_display(tmp_path, qtbot):
    from ra_desktop.ui.tag_viewer import TOOLTIP_CHARS, VALUE_CHARS, read_tags

    path = write_dicom(tmp_path / "long.dcm", np.zeros((8, 8), np.uint16), ImageComments="y" * 50_000)
    listing = read_tags(path)
    row = next(r for r in listing.rows if r.keyword == "ImageComments")
    assert len(row.value) <= VALUE_CHARS and row.value.endswith("…")
    assert len(row.full_value) <= TOOLTIP_CHARS
    assert any("ImageComments" in n for n in listing.notes)  # cut as the loader cuts it, and said so


def test_png_says_it_has_no_dicom_tags(qtbot, image_folder):
    dlg = _dialog(qtbot, image_folder / "case_00.png")
    assert "No DICOM tags" in dlg.summary.text() and "PNG" in dlg.summary.text()
    assert dlg.tree.isHidden()


def test_menu_opens_the_tags_of_the_open_case(make_window, tiny_model_dir, qtbot, tmp_path):
    path = write_dicom(tmp_path / "open.dcm", (np.arange(64 * 64, dtype=np.uint16) % 4000).reshape(64, 64),
                       PatientName=MARKUP, PatientID="PID-77")
    w = make_window(tiny_model_dir)
    act = next(a for a in w.findChildren(type(w.export_action)) if a.text() == "DICOM tags…")
    assert act.shortcut().toString() == "Ctrl+T"
    act.trigger()  # nothing open yet: says so
    assert any("Open a case first" in m for m in w.message_boxes)
    w.add_paths([str(path)])
    wait_rows(qtbot, w, 1)
    rid = w.worklist.model.rows()[0].id
    w.worklist.select_row(rid)
    w.worklist._emit_now()
    qtbot.waitUntil(lambda: w.current_row_id == rid, timeout=30000)
    act.trigger()
    dlg = w._tag_dialog
    qtbot.waitUntil(lambda: dlg.listing is not None, timeout=30000)
    assert dlg.isVisible() and dlg.path == Path(w.store.get(w.current_row_id).path)
    assert _value(dlg, "PatientName") == MARKUP and _value(dlg, "PatientID") == "PID-77"

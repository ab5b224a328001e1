"""Report files and batches: atomic writes, unique names, failures isolated, progress and cancel."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader

from ra_desktop.cancel import CancelToken
from ra_desktop.report import batch as batch_mod
from ra_desktop.report.batch import BatchItem, export_batch, write_report
from ra_desktop.report.files import report_name, sanitise, write_atomic
from ra_desktop.report.model import ReportOptions
from tests.test_report import make_input


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_names_are_safe_and_never_overwrite(tmp_path):
    assert report_name("sha256:ab/cd\\..", "20250101") == "RA-report_sha256-ab-cd_20250101.pdf"
    assert sanitise("../../etc/passwd") == "etc-passwd"
    inp = make_input()
    first = write_report(inp, tmp_path / "out")
    second = write_report(inp, tmp_path / "out")
    third = write_report(inp, tmp_path / "out")
    assert first.name == "RA-report_1.2.826.0.1.3680043.2.1125.1_20250314.pdf"
    assert second.name.endswith("_20250314_2.pdf") and third.name.endswith("_20250314_3.pdf")
    # All three complete: the same document byte for byte, up to its creation time and file ID.
    docs = [_undated(p.read_bytes()) for p in (first, second, third)]
    assert docs[0].startswith(b"%PDF-") and docs[0].rstrip().endswith(b"%%EOF")
    assert docs[1] == docs[0] and docs[2] == docs[0]
    assert len(PdfReader(str(third)).pages) == len(PdfReader(str(first)).pages) >= 1


def _undated(pdf: bytes) -> bytes:
    """The PDF with its creation date and trailer ID blanked (the only bytes a rerun changes)."""
    import re

    pdf = re.sub(rb"/CreationDate \(D:[0-9]+Z?\)", b"/CreationDate ()", pdf)
    return re.sub(rb"/ID \[<[0-9a-fA-F]+> ?<[0-9a-fA-F]+>\]", b"/ID []", pdf)


def test_writer_failing_midway_leaves_nothing(tmp_path):
    def half_then_fail(fh):
        fh.write(b"%PDF-1.7 half a document")
        raise RuntimeError("disk full")

    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        write_atomic(out / "x.pdf", half_then_fail)
    assert _files(out) == []


def test_pdf_writer_raising_leaves_no_file_and_no_temp(tmp_path, monkeypatch):
    calls = {"n": 0}
    real = batch_mod.write_chunks

    def failing_chunks(data, fh, chunk=1 << 16, check=None):
        def boom():
            calls["n"] += 1
            if calls["n"] > 2:  # after two chunks are on disk
                raise OSError("device removed")
        real(data, fh, chunk=1024, check=boom)

    monkeypatch.setattr(batch_mod, "write_chunks", failing_chunks)
    out = tmp_path / "out"
    with pytest.raises(OSError):
        write_report(make_input(), out)
    assert calls["n"] > 2
    assert _files(out) == []


def test_batch_reports_failures_and_goes_on(tmp_path):
    progress = []

    def broken(cancel):
        raise ValueError("cannot decode pixel data")

    items = [BatchItem("a.dcm", case=make_input(case_id="case-a")),
             BatchItem("broken.dcm", produce=broken),
             BatchItem("c.dcm", case=make_input(case_id="case-c", patient_id="PID-C"))]
    out = tmp_path / "out"
    result = export_batch(items, out, lambda d, t, m: progress.append((d, t, m)),
                          options=ReportOptions(institution="Clinic"))
    assert [r.status for r in result.rows] == ["written", "failed", "written"]
    assert "cannot decode pixel data" in result.rows[1].reason
    assert len(result.written) == 2 and all(p.is_file() for p in result.written)
    assert [p[0] for p in progress] == [0, 1, 2, 3] and all(p[1] == 3 for p in progress)
    rows = list(csv.DictReader(io.StringIO(result.summary_csv.read_text(encoding="utf-8-sig"))))
    assert [r["status"] for r in rows] == ["written", "failed", "written"]
    assert rows[2]["patient"].endswith("PID-C") and rows[0]["probability"] == "0.734"
    text = PdfReader(str(result.summary_pdf)).pages[0].extract_text()
    assert "case-a" in text and "failed" in text and "cannot decode" in text
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left


def test_deidentified_summary_has_no_patient_data(tmp_path):
    from ra_desktop.errors import ImageLoadError
    from ra_desktop.pseudonym import pseudonym

    inp = make_input()

    def broken(cancel):
        raise OSError("cannot read '/data/Roe_Richard/hand.dcm'")

    def unreadable(cancel):
        raise ImageLoadError("/data/Poe_Edgar/wrist.dcm", "not a DICOM or image file")

    items = [BatchItem("/data/Doe_Jane.dcm", case=inp), BatchItem("/data/Roe_Richard/hand.dcm", produce=broken),
             BatchItem("/data/Poe_Edgar/wrist.dcm", produce=unreadable)]
    result = export_batch(items, tmp_path / "out", options=ReportOptions(deidentify=True))
    content = result.summary_csv.read_text(encoding="utf-8-sig")
    summary_text = PdfReader(str(result.summary_pdf)).pages[0].extract_text()
    for secret in ("PID-4711", "Doe", "Roe", "Poe", "20250314", inp.case_id, inp.case_id[-12:]):
        assert secret not in content, secret
        assert secret not in summary_text, secret
    assert [r.status for r in result.rows] == ["written", "failed", "failed"]
    alias = pseudonym(inp.case_id)
    assert result.rows[0].case_id == alias and alias in content
    assert result.written[0].name.startswith(f"RA-report_{alias}_")
    assert "20250314" not in result.written[0].name and inp.case_id not in result.written[0].name
    assert result.rows[1].source == "study 2 of 3" and "<path:" in result.rows[1].reason
    assert result.rows[2].reason == "not a DICOM or image file"
    # the real ids stay available to the caller (audit trail), never in the files
    assert result.case_ids == [inp.case_id, "", ""]


def test_cancel_stops_the_batch_and_lists_the_rest(tmp_path):
    token = CancelToken()

    def progress(done, total, message):
        if done == 1:
            token.cancel()

    items = [BatchItem(f"{i}.png", case=make_input(case_id=f"case-{i}")) for i in range(4)]
    out = tmp_path / "out"
    result = export_batch(items, out, progress, token, summary=False)
    assert result.cancelled
    # Study 2 was cancelled while its PDF was being written: nothing of it is left.
    assert [r.status for r in result.rows] == ["written", "cancelled", "cancelled", "cancelled"]
    assert _files(out) == [result.written[0].name]


@pytest.mark.slow
def test_cli_end_to_end_with_tiny_model(tmp_path, capsys):
    pytest.importorskip("torch")
    from ra_desktop.cli import main
    from tests.tiny_model import make_tiny_model_folder

    model_dir = make_tiny_model_folder(tmp_path)
    rng = np.random.default_rng(0)
    img = (rng.random((400, 320)) * 60 + 60).astype(np.uint8)
    img[120:360, 60:260] += 120
    Image.fromarray(img).save(tmp_path / "hand.png")
    out = tmp_path / "out"
    rc = main(["report", str(tmp_path / "hand.png"), str(tmp_path / "nope.png"), "--out", str(out),
               "--model", str(model_dir), "--device", "cpu", "--summary", "--institution", "Test Clinic"])
    assert rc == 2  # one study failed, the other was written
    pdfs = sorted(out.glob("RA-report_sha256-*.pdf"))
    assert len(pdfs) == 1
    reader = PdfReader(str(pdfs[0]))
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    assert "Test Clinic" in text and "tiny-test-model" in text and "RA probability" in text
    assert "Trained on synthetic phantoms" in text and "Intended use" in text
    assert len(list(out.glob("RA-report-summary_*.csv"))) == 1
    assert "nope.png" in capsys.readouterr().err


def test_cli_report_measure_adds_radiogrammetry_to_each_report_and_the_summary(tmp_path):
    from ra_desktop.cli import main
    from ra_desktop.paths import demo_dir
    from tests.tiny_model import make_tiny_model_folder

    model_dir = make_tiny_model_folder(tmp_path)

    case = sorted((demo_dir() / "RA").glob("*.dcm"))[0]
    out = tmp_path / "out"
    rc = main(["report", str(case), "--out", str(out), "--model", str(model_dir), "--device", "cpu",
               "--summary", "--measure"])
    assert rc == 0
    row = next(csv.DictReader(io.StringIO(next(out.glob("*.csv")).read_text(encoding="utf-8-sig"))))
    assert row["rg_unit"] == "mm" and row["rg_mean_mci"] not in ("", None), row
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(str(next(out.glob("RA-report_*.pdf")))).pages).split())
    assert "Radiogrammetry" in text and "measurements, not a diagnosis" in text

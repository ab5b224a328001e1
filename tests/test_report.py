"""Report builder + PDF: content read back with pypdf, pages rendered with pdftoppm."""
from __future__ import annotations

import io
import shutil
import subprocess
from datetime import datetime

import numpy as np
import pytest
from pypdf import PdfReader

from ra_desktop import INTENDED_USE
from ra_desktop.render.compose import display_grey, overlay_rgb
from ra_desktop.report.builder import REMOVED, build_report
from ra_desktop.report.metrics_text import metric_rows
from ra_desktop.report.model import (
    OVERLAY_CAPTION, SYNTHETIC_NOTICE, HeatmapData, ModelSummary, OODData, ReportInput, ReportOptions,
    SignOff,
)
from ra_desktop.report.pdf import render_pdf, to_latin1

NOW = datetime(2026, 1, 2, 3, 4)


def make_input(**changes) -> ReportInput:
    """A synthetic 'hand' (bright bars on a noisy background) with a Grad-CAM blob."""
    rng = np.random.default_rng(0)
    h, w = 900, 700
    px = (1000 + 50 * rng.standard_normal((h, w))).astype(np.float32)
    px[300:800, 150:550] += 1500
    yy, xx = np.mgrid[0:h, 0:w]
    cam = np.exp(-(((xx - 250) / 80.0) ** 2 + ((yy - 400) / 90.0) ** 2)).astype(np.float32)
    cam[:60] = np.nan  # the model never saw the top strip
    fields = dict(
        case_id="1.2.826.0.1.3680043.2.1125.1", pixels=px.astype(np.uint16), probability=0.734,
        threshold=0.5, label="RA", patient_name="Doe^Jane", patient_id="PID-4711",
        study_date="20250314", laterality="R", view_position="PA", modality="CR",
        source_file="/data/Doe_Jane.dcm", ood=OODData(3.2, 5.0, True),
        heatmaps={"gradcam": HeatmapData(cam), "shap": HeatmapData(cam - 0.3, signed=True, kind="shap")},
        regions=[("MCP2", 0.31), ("wrist", 0.22), ("PIP3", -0.4)],
        timings_ms={"load": 4.0, "inference": 80.0, "gradcam": 95.0},
        model=ModelSummary(name="ra-vgg8-phantom", version="1.2.0", weights_sha256="0123456789abcdef" * 4,
                           training_data="2,000 synthetic phantoms",
                           validation_metrics={"n": 100, "metrics": {"auc": {"value": 0.81, "low": 0.72,
                                                                             "high": 0.89}}},
                           synthetic_training_data=True),
    )
    fields.update(changes)
    return ReportInput(**fields)


def pdf_text(data: bytes) -> tuple[str, PdfReader]:
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(p.extract_text() for p in reader.pages)
    return " ".join(text.split()), reader


def image_count(reader: PdfReader) -> int:
    return sum(len(page.images) for page in reader.pages)


def test_pdf_carries_the_result_model_card_and_notices():
    data = render_pdf(build_report(make_input(), options=ReportOptions(institution="St Example"), now=NOW))
    assert data.startswith(b"%PDF")
    text, reader = pdf_text(data)
    for expected in ("St Example", "PID-4711", "Doe^Jane", "2025-03-14", "0.73", "threshold 0.50",
                     "ra-vgg8-phantom", "1.2.0", "0123456789ab", SYNTHETIC_NOTICE,
                     "0.81 (95% CI 0.72–0.89)", "MCP2", "Right", "distance 3.20"):
        assert expected in text, expected
    assert "0123456789abcdef0" not in text  # only the first 12 characters of the hash
    assert " ".join(INTENDED_USE.split()) in text
    assert "not where the disease is" in text
    assert image_count(reader) >= 2  # radiograph + overlay (+ colour bar)
    assert len(reader.pages) == 1


def test_deidentified_report_has_no_name_id_dates_file_name_or_case_id():
    from ra_desktop.pseudonym import pseudonym

    key = b"\x01" * 32
    so = SignOff("Dr Who", True, note="Mrs Doe, second visit", timestamp="2025-03-14 10:00")
    inp = make_input(signoff=so)
    report = build_report(inp, options=ReportOptions(deidentify=True, pseudonym_key=key), now=NOW)
    text, reader = pdf_text(render_pdf(report))
    meta = " ".join(str(v) for v in (reader.metadata or {}).values())
    # the UID is long, so the header shortens it: check both halves too
    for secret in ("PID-4711", "Doe", "2025-03-14", "20250314", "Doe_Jane.dcm", "second visit",
                   inp.case_id, inp.case_id[:14], inp.case_id[-14:]):
        assert secret not in text, secret
        assert secret not in meta, secret
    assert REMOVED in text and "Dr Who" in text and "agrees with the AI result" in text
    assert report.case_id == pseudonym(inp.case_id, key) and report.case_id in text and report.case_id in meta
    assert report.file_date == "20260102"  # the report date, not the study date
    # the same study through the same key: the same pseudonym; another key: another
    again = build_report(inp, options=ReportOptions(deidentify=True, pseudonym_key=key), now=NOW)
    other = build_report(inp, options=ReportOptions(deidentify=True, pseudonym_key=b"\x02" * 32), now=NOW)
    assert again.case_id == report.case_id != other.case_id


def test_non_synthetic_model_has_no_synthetic_notice_and_ood_unavailable_is_said():
    inp = make_input(model=ModelSummary(name="real", synthetic_training_data=False), ood=None)
    text, _ = pdf_text(render_pdf(build_report(inp, now=NOW)))
    assert SYNTHETIC_NOTICE not in text
    assert "Out-of-distribution check: not available" in text


def test_out_of_distribution_is_a_warning():
    report = build_report(make_input(ood=OODData(7.5, 5.0, False)), now=NOW)
    assert report.finding.ood_warning
    assert any("Out of distribution" in w for w in report.warnings)
    assert "distance 7.50 ≥ threshold 5.00" in pdf_text(render_pdf(report))[0]


@pytest.mark.parametrize("p, t, expected", [
    (0.734, 0.5, "RA probability 0.73 ≥ threshold 0.50"),
    # A high threshold set on twins (model 1.2.0: 0.9977) must not print as 1.00 beside 0.998.
    (0.99805, 0.99775, "RA probability 0.9980 ≥ threshold 0.9978"),
    (0.9976, 0.99775, "RA probability 0.9976 < threshold 0.9978"),
    (0.5004, 0.5, "RA probability 0.5004 ≥ threshold 0.5000"),
])
def test_probability_and_threshold_print_with_decimals_that_compare_truly(p, t, expected):
    report = build_report(make_input(probability=p, threshold=t, label="RA" if p >= t else "normal"), now=NOW)
    assert expected in pdf_text(render_pdf(report))[0]


def test_probability_texts_keep_the_order_of_the_numbers():
    from ra_desktop.results import probability_texts

    rng = np.random.default_rng(0)
    for _ in range(2000):
        t = float(rng.choice([rng.random(), 1 - 10 ** -rng.uniform(1, 4), 10 ** -rng.uniform(1, 4)]))
        p = float(np.clip(t + rng.normal(0, 10 ** -rng.uniform(1, 5)), 0, 1))
        for percent in (False, True):
            a, b = probability_texts(p, t, percent=percent)
            if p != t and abs(p - t) > 1e-5:
                assert (float(a) >= float(b)) == (p >= t) and a != b, (p, t, a, b)
    assert probability_texts(0.9995, 0.9977, percent=True, decimals=0) == ("100.0", "99.8")


def test_signoff_printed_when_present():
    so = {"reader": "Dr Who", "verdict": "disagree", "reader_note": "Looks like OA at DIP", "signed_at": 0.0}
    text, _ = pdf_text(render_pdf(build_report(make_input(), signoff=so, now=NOW)))
    assert "Dr Who" in text and "disagrees with the AI result" in text and "OA at DIP" in text
    text2, _ = pdf_text(render_pdf(build_report(make_input(signoff=SignOff("Dr X", True)), now=NOW)))
    assert "agrees with the AI result" in text2


def test_overlay_image_is_the_shared_renderer_output():
    inp = make_input(window_center=2000.0, window_width=1000.0, photometric="MONOCHROME1")
    report = build_report(inp, options=ReportOptions(max_image_px=4000), now=NOW)
    grey = display_grey(inp.pixels, "MONOCHROME1", 2000.0, 1000.0)
    expected, _ = overlay_rgb(grey, inp.heatmaps["gradcam"].values, "jet", 0.45, False)
    assert np.array_equal(report.images[0].rgb, grey)  # window then inversion, as on screen
    assert np.array_equal(report.images[1].rgb, expected)
    assert OVERLAY_CAPTION in report.images[1].caption and report.images[1].colourbar is not None
    # MONOCHROME1: the bright (dense) region prints dark.
    assert grey[500, 300] < grey[100, 50]


def test_shap_overlay_uses_a_signed_scale():
    report = build_report(make_input(), options=ReportOptions(overlay="shap"), now=NOW)
    bar = report.images[1].colourbar
    assert "toward RA" in bar.ticks[0][1] and "toward normal" in bar.ticks[-1][1]


def test_missing_overlay_is_stated_not_silent():
    report = build_report(make_input(heatmaps={}), now=NOW)
    assert len(report.images) == 1
    assert any("not computed" in w for w in report.warnings)
    render_pdf(report)


def test_images_are_downsampled_and_pdf_is_small():
    big = make_input(pixels=np.random.default_rng(1).integers(0, 4096, (3000, 2400), dtype=np.uint16),
                     heatmaps={"gradcam": HeatmapData(np.random.default_rng(2).random((3000, 2400),
                                                                                       dtype=np.float32))})
    report = build_report(big, now=NOW)
    assert max(report.images[1].rgb.shape[:2]) == 1200
    assert len(render_pdf(report)) < 3_000_000  # worst case: pure noise compresses worst


@pytest.mark.parametrize("paper,width_pt", [("a4", 595.3), ("letter", 612.0)])
def test_paper_sizes(paper, width_pt):
    _, reader = pdf_text(render_pdf(build_report(make_input(), options=ReportOptions(paper=paper), now=NOW)))
    assert float(reader.pages[0].mediabox.width) == pytest.approx(width_pt, abs=0.5)


def test_core_font_fallback_never_crashes_on_unicode(monkeypatch):
    monkeypatch.setenv("RA_DESKTOP_REPORT_CORE_FONT", "1")
    inp = make_input(patient_name="Łukasz Żółć ≥ ± — 中文", label="RA — ≥")
    text, _ = pdf_text(render_pdf(build_report(inp, now=NOW)))
    assert "PID-4711" in text and ">=" in text
    assert to_latin1("a — b ≥ c ± d") == "a - b >= c +/- d"


def test_institution_from_settings_then_option_then_default():
    inp = make_input()
    assert build_report(inp, settings={"institution": "Clinic A"}, now=NOW).institution == "Clinic A"
    opts = ReportOptions(institution="Clinic B")
    assert build_report(inp, settings={"institution": "Clinic A"}, options=opts, now=NOW).institution == "Clinic B"
    assert build_report(inp, settings={}, now=NOW).institution == "RA Desktop"


def test_metric_rows_accept_common_shapes():
    assert metric_rows({"auc": 0.9}) == [("AUC", "0.90")]
    assert metric_rows({"test": {"auc": {"value": 0.8, "ci95": [0.7, 0.9]}}}) == [
        ("test AUC", "0.80 (95% CI 0.70–0.90)")]
    assert metric_rows(None) == []


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_first_page_renders_to_png(tmp_path):
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(render_pdf(build_report(make_input(), now=NOW)))
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "p")],
                   check=True, timeout=60)
    from PIL import Image
    png = next(tmp_path.glob("p*.png"))
    page = np.asarray(Image.open(png).convert("RGB"))
    assert page.shape[0] > page.shape[1]  # portrait
    # The page is not blank, and the jet overlay put strong red somewhere on it.
    assert page.std() > 20
    red = (page[..., 0] > 180) & (page[..., 1] < 80) & (page[..., 2] < 80)
    assert red.sum() > 20


def test_empty_gradcam_says_nothing_points_toward_ra_not_missing():
    zero = np.zeros((900, 700), np.float32)
    text, _ = pdf_text(render_pdf(build_report(
        make_input(heatmaps={"gradcam": HeatmapData(zero)}, regions=[]), now=NOW)))
    assert "No region pushes the score toward RA" in " ".join(text.split())
    text2, _ = pdf_text(render_pdf(build_report(make_input(heatmaps={}, regions=[]), now=NOW)))
    assert "No region scores were computed" in " ".join(text2.split())


def test_out_of_distribution_report_gives_no_verdict_no_maps():
    # The model does not apply: the PDF says so and why, and prints no probability, label,
    # heat map or region ranking (the numbers exist only in the research view).
    report = build_report(make_input(ood=OODData(12.3, 1.0, False)), options=ReportOptions(), now=NOW)
    assert report.finding.sentence.startswith("No verdict: the model does not apply")
    assert [img.title for img in report.images] == ["Radiograph"]
    assert not report.regions.rows and "does not apply" in report.regions.note
    text, reader = pdf_text(render_pdf(report))
    assert "No verdict" in text and "12.30 > threshold 1.00" in text
    assert "RA probability" not in text and "0.73" not in text and "model label" not in text
    assert "MCP2" not in text
    assert image_count(reader) == 1  # the radiograph only
    applies = build_report(make_input(), options=ReportOptions(), now=NOW)
    assert "RA probability 0.73" in pdf_text(render_pdf(applies))[0]  # in distribution: as before


def test_out_of_distribution_summary_row_has_no_number_or_label():
    from ra_desktop.report.batch import _row_for

    row = _row_for(make_input(ood=OODData(12.3, 1.0, False)), ReportOptions())
    assert (row.probability, row.label) == ("", "no verdict") and "OUT OF DISTRIBUTION" in row.ood
    row = _row_for(make_input(), ReportOptions())
    assert (row.probability, row.label) == ("0.734", "RA")


def _sheet():
    from ra_desktop.report.model import ScoreSheetData

    scores = {("R", "erosion", "MCP2"): 3, ("R", "jsn", "MCP2"): 2, ("R", "erosion", "lunate"): "NA",
              ("L", "erosion", "MCP1"): 1}
    return ScoreSheetData("Dr A. Reader", scores, {("R", "MCP2"): (250.0, 400.0), ("R", "MCP5"): (420.0, 450.0)})


def test_scores_and_marked_radiograph_in_the_report():
    report = build_report(make_input(), options=ReportOptions(), now=NOW, scores=_sheet())
    assert [t.title for t in report.scores] == ["Sharp/van der Heijde, right hand", "Sharp/van der Heijde, left hand"]
    assert all("Reader: Dr A. Reader" in t.note and "measurements, not a diagnosis" in t.note for t in report.scores)
    right = dict((r[0], r[1:]) for r in report.scores[0].rows)
    assert right["MCP 2"] == ("3", "2") and right["Lunate"] == ("not assessable", "")
    assert right["Thumb IP"][1] == "" and right["CMC 4"][0] == ""  # areas the method does not score
    assert "total 5/135" in report.scores[0].note and "Both hands: total 6/275" in report.scores[1].note
    assert [img.title for img in report.images][:2] == ["Radiograph", "Joint markers"]
    marked = report.images[1].rgb
    assert marked.ndim == 3 and (marked[..., 2].astype(int) - marked[..., 0].astype(int)).max() > 100  # blue marks
    text, reader = pdf_text(render_pdf(report))
    assert "Sharp/van der Heijde, right hand" in text and "not assessable" in text
    assert image_count(reader) == 4  # radiograph, joint markers, overlay and its colour bar

    from ra_desktop.report.batch import _row_for

    row = _row_for(make_input(score_sheet=_sheet()), ReportOptions())
    assert (row.svdh_total, row.svdh_hands, row.svdh_not_assessable, row.svdh_reader) == ("6", "L+R", "1",
                                                                                          "Dr A. Reader")


def test_progression_since_the_prior_is_printed_under_the_scores():
    import dataclasses

    sheet = dataclasses.replace(_sheet(), progression="Since 2023-03-01: total change +4 over 2 areas")
    report = build_report(make_input(), options=ReportOptions(), now=NOW, scores=sheet)
    assert report.scores[-1].title == "Progression since the prior study" and not report.scores[-1].rows
    text, _ = pdf_text(render_pdf(report))
    assert "Progression since the prior study" in text and "total change +4" in text

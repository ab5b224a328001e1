"""The report footer stays on the page and clear of the page number; the colour map is named.

Issue #23: in an exported PDF the footer ran off the page ("RA D…", "not for c…") and "page 1/2"
printed over "synthetic phantoms". Word boxes come from poppler's ``pdftotext -bbox`` (points).
"""
from __future__ import annotations

import re
import shutil
import subprocess
from html import unescape

import pytest

from ra_desktop.report.builder import build_report
from ra_desktop.report.model import SYNTHETIC_NOTICE, ReportOptions
from ra_desktop.report.pdf import MARGIN, render_pdf
from tests.test_report import NOW, make_input, pdf_text

MM = 72 / 25.4
_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')
_PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.S)

# A busy run: every stage timed, a GPU, a long version string and a long DICOM UID.
BUSY = dict(
    case_id="1.2.826.0.1.3680043.2.1125.1.12345678901234567890.98765",
    timings_ms={"load": 40.0, "preprocess": 12, "inference": 800.0, "prediction": 3, "ood": 20,
                "gradcam": 950.0, "shap": 12000, "regions": 30},
    provenance={"device": "cuda:0", "app_version": "0.9.0+g7f25c83.dirty"},
)


def _pages(pdf_path) -> list[tuple[float, float, list[tuple[float, float, float, float, str]]]]:
    out = subprocess.run(["pdftotext", "-bbox", str(pdf_path), "-"], check=True, capture_output=True,
                         text=True, timeout=60).stdout
    return [(float(w), float(h), [(float(a), float(b), float(c), float(d), unescape(t))
                                  for a, b, c, d, t in _WORD.findall(body)])
            for w, h, body in _PAGE.findall(out)]


def _overlap(a, b) -> bool:
    return a[0] < b[2] - 0.3 and b[0] < a[2] - 0.3 and a[1] < b[3] - 0.3 and b[1] < a[3] - 0.3


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
@pytest.mark.parametrize("core_font", [False, True], ids=["dejavu", "helvetica"])
@pytest.mark.parametrize("paper", ["a4", "letter"])
@pytest.mark.parametrize("changes", [{}, BUSY, dict(BUSY, provenance={"device": "cpu", "app_version": "x" * 900}),
                                     dict(BUSY, timings_ms={f"stage {i:02d}": 1000.0 + i for i in range(60)})],
                         ids=["plain", "busy", "hostile-version", "sixty-stages"])
def test_footer_fits_the_printable_width_and_clears_the_page_number(tmp_path, monkeypatch, core_font, paper,
                                                                    changes):
    if core_font:
        monkeypatch.setenv("RA_DESKTOP_REPORT_CORE_FONT", "1")
    report = build_report(make_input(**changes), options=ReportOptions(paper=paper), now=NOW)
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(render_pdf(report))
    _check_footer(pdf, changes, core_font)


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_a_footer_taller_than_the_bottom_margin_pushes_the_body_up(tmp_path, monkeypatch):
    from ra_desktop.report import pdf as pdf_mod

    monkeypatch.setattr(pdf_mod, "FOOTER_SIZES", (9.0,))  # five lines: more than 17 mm
    report = build_report(make_input(**BUSY), now=NOW)
    assert pdf_mod._ReportPDF(report).b_margin > pdf_mod.BOTTOM_MARGIN
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(render_pdf(report))
    _check_footer(pdf, BUSY, False)


def _check_footer(pdf, changes, core_font) -> None:
    pages = _pages(pdf)
    for number, (width, height, words) in enumerate(pages, 1):
        # The footer: its first word and every word after it (body text ends above it).
        start = next(i for i, w in enumerate(words) if w[4] == "Timings:")
        band = words[start:]
        assert max(w[3] for w in words[:start]) <= min(w[1] for w in band), f"page {number}: body in the footer"
        text = " ".join(w[4] for w in band)
        left, right = MARGIN * MM - 0.5, width - MARGIN * MM + 0.5
        for x0, y0, x1, y1, word in band:
            assert left <= x0 and x1 <= right, f"page {number}: {word!r} at {x0:.1f}-{x1:.1f} pt, " \
                                               f"printable {left:.1f}-{right:.1f}"
            assert y1 <= height - 3 * MM, f"page {number}: {word!r} runs off the bottom"
        for i, a in enumerate(band):
            for b in band[i + 1:]:
                assert not _overlap(a, b), f"page {number}: {a[4]!r} prints over {b[4]!r}"
        # Nothing was lost off the page: the whole footer is there, the page number last.
        assert text.endswith(f"page {number}/{len(pages)}"), text
        for expected in ("decision support, not a diagnosis", "report generated 2026-01-02 03:04",
                         "Timings: ", "RA Desktop"):
            assert expected in text, (expected, text)
        notice = SYNTHETIC_NOTICE if not core_font else SYNTHETIC_NOTICE.replace("—", "-")
        assert notice in text, text
        if "stage 00" in str(changes):  # too long for the footer: cut, but the rest is there
            assert "stage 19 1019 ms" in text and "stage 59" not in text
        if changes is BUSY:
            assert "(device cuda:0)" in text and "0.9.0+g7f25c83.dirty" in text


@pytest.mark.parametrize("cmap", ["hot", "viridis", "inferno"])
def test_report_states_and_draws_the_colour_map_it_is_given(cmap):
    from ra_desktop.render.compose import display_grey, fit_long_side, overlay_rgb

    inp = make_input()
    report = build_report(inp, options=ReportOptions(cmap=cmap, opacity=0.35), now=NOW)
    overlay = next(i for i in report.images if i.title == "Grad-CAM overlay")
    assert f"colour map {cmap}, opacity 35 %" in overlay.caption
    grey = display_grey(inp.pixels, inp.photometric, inp.window_center, inp.window_width)
    expected, _ = overlay_rgb(grey, inp.heatmaps["gradcam"].values, cmap, 0.35, False)
    assert (overlay.rgb == fit_long_side(expected, 1200)).all()
    text, _ = pdf_text(render_pdf(report))
    assert f"colour map {cmap}" in text and "colour map jet" not in text

"""The report's Annotations section: each annotation with its value (angle °, ROI mean/SD/area with
units, text), drawn on a marked radiograph; a de-identified report keeps the annotations but not
their free text."""
from __future__ import annotations

import dataclasses

import numpy as np

from ra_desktop.measure.roi import roi_stats
from ra_desktop.report.annotations import AnnotationData
from ra_desktop.report.batch import write_report
from ra_desktop.report.builder import build_report
from ra_desktop.report.model import REMOVED, ReportOptions
from ra_desktop.report.pdf import render_pdf
from tests.test_report import image_count, make_input, pdf_text

NOTES = AnnotationData("Dr Annot", [
    ("arrow", ((100.0, 100.0), (250.0, 400.0)), ""),
    ("text", ((400.0, 200.0),), "Doe Jane MRN 4711 erosion"),
    ("angle", ((300.0, 800.0), (300.0, 500.0), (400.0, 400.0)), ""),
    ("roi_rect", ((200.0, 350.0), (300.0, 450.0)), ""),
    ("roi_ellipse", ((100.0, 600.0), (200.0, 700.0)), ""),
])


def test_report_lists_and_draws_the_annotations(tmp_path):
    inp = make_input(pixel_spacing_mm=(0.2, 0.2))
    report = build_report(inp, annotations=NOTES)
    (table,) = report.annotations
    rows = {r[0]: r for r in table.rows}
    assert [r[1] for r in table.rows] == ["Arrow", "Text", "Angle", "Rectangle ROI", "Ellipse ROI"]
    assert rows["2"][2] == "Doe Jane MRN 4711 erosion"
    assert rows["3"][2] == "135.0° (45.0° from straight)"
    s = roi_stats(inp.pixels, "roi_rect", (200, 350), (300, 450), (0.2, 0.2))
    assert s.n == 100 * 100 and rows["4"][2] == f"mean {s.mean:.4g}, SD {s.sd:.4g}, 400.0 mm²"
    assert "mm²" in rows["5"][2] and "Dr Annot" in table.note
    img = report.annotation_image
    assert img is not None and img.marker == "R"
    assert (img.rgb[..., 0] != img.rgb[..., 1]).any()  # drawn in colour on the grey radiograph
    pdf = render_pdf(report)
    text, reader = pdf_text(pdf)
    for expected in ("Annotations", "135.0°", "400.0 mm²", "Doe Jane MRN 4711 erosion", "Ellipse ROI", "Dr Annot"):
        assert expected in text, expected
    assert image_count(reader) >= image_count(pdf_text(render_pdf(build_report(inp)))[1]) + 1
    # through the writer the GUI uses
    path = write_report(inp, tmp_path, annotations=NOTES)
    assert "135.0°" in pdf_text(path.read_bytes())[0]


def test_no_spacing_gives_pixels_and_no_annotations_no_section():
    inp = make_input(pixel_spacing_mm=None)
    (table,) = build_report(inp, annotations=NOTES).annotations
    assert "px²" in table.rows[3][2] and "No pixel spacing" in table.note
    report = build_report(inp, annotations=AnnotationData("Dr Annot", []))
    assert report.annotations == [] and report.annotation_image is None
    assert build_report(inp).annotations == []


def test_deidentified_report_keeps_annotations_without_their_text():
    inp = make_input(pixel_spacing_mm=(0.2, 0.2))
    report = build_report(inp, annotations=NOTES, options=ReportOptions(deidentify=True))
    (table,) = report.annotations
    assert len(table.rows) == 5 and table.rows[1][2] == REMOVED
    assert table.rows[2][2].startswith("135.0°")  # values stay: measurements, not patient data
    assert "removed from a de-identified report" in table.note
    text, _ = pdf_text(render_pdf(report))
    assert "MRN 4711" not in text and "Doe Jane" not in text and "135.0°" in text
    assert "removed (de-identified)" in report.annotation_image.caption
    # the identifying text is not burned into the picture either: the image differs from the named one
    named = build_report(inp, annotations=NOTES).annotation_image.rgb
    assert not np.array_equal(named, report.annotation_image.rgb)
    assert dataclasses.replace(NOTES).items[1][2] == "Doe Jane MRN 4711 erosion"  # the data itself untouched


def test_the_dicom_pdf_carries_them_too():
    from ra_desktop.dicomout.pdf import report_pdf

    text, _ = pdf_text(report_pdf(make_input(pixel_spacing_mm=(0.2, 0.2)), annotations=NOTES, deidentify=True))
    assert "135.0°" in text and "MRN 4711" not in text

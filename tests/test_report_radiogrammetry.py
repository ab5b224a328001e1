"""Radiogrammetry in the PDF report and the batch summary CSV: the values, their validity, the
marked image, the change since the prior study, and the notice; nothing when not measured."""
from __future__ import annotations

import csv
import dataclasses
import io

import numpy as np
import pytest

from ra_desktop.measure import measure_hand
from ra_desktop.phantom.generate import case_rng, generate_case
from ra_desktop.report.batch import BatchItem, export_batch
from ra_desktop.report.builder import build_report
from ra_desktop.report.model import ReportOptions
from ra_desktop.report.pdf import render_pdf
from ra_desktop.report.radiogrammetry import RadiogrammetryData, csv_fields
from ra_desktop.worklist.measurements import with_bone
from tests.test_report import make_input, pdf_text


@pytest.fixture(scope="module")
def measured():
    case = generate_case(case_rng(531000, 1), "RA", 2, "L", 1400, joint_spaces=True)
    sp = case.ground_truth["pixel_spacing_mm"][0]
    hand = measure_hand(case.image, sp)
    # one bone rejected, as validation would: it must print without a number
    mc4 = dataclasses.replace(hand.bones["MC4"], valid=False, reason="its edges are not consistent along the shaft",
                              W=None, M=None, T=None, MCI=None)
    hand = with_bone(hand, mc4)
    data = RadiogrammetryData(hand, "1", {"MC2": "Dr Test"},
                              ["Change since the prior study of this hand (1.0 years earlier):",
                               "mean MCI: 0.400 → 0.380, change -0.020 (-0.020 per year)"])
    inp = make_input(pixels=case.image.astype(np.uint16), pixel_spacing_mm=(sp, sp), heatmaps={})
    return inp, data


def test_pdf_has_the_values_validity_change_and_notice(measured, tmp_path):
    inp, data = measured
    hand = data.hand
    report = build_report(inp, measurements=data)
    assert [t.title for t in report.radiogrammetry][:2] == ["Radiogrammetry: metacarpal cortical index",
                                                             "Radiogrammetry: joint space width"]
    assert any(i.title == "Radiogrammetry" for i in report.images)
    pdf = render_pdf(report)
    (tmp_path / "r.pdf").write_bytes(pdf)
    text, _ = pdf_text(pdf)
    assert f"{hand.bones['MC3'].MCI:.3f}" in text and f"{hand.bones['MC2'].T:.2f}" in text
    assert "not valid: its edges are not consistent" in text and "ends placed by Dr Test" in text
    assert "Mean MCI: — (not all three metacarpals valid)" in text
    valid = [j for j in hand.joints.values() if j.valid]
    assert valid and f"{valid[0].minimum:.2f}" in text
    assert "measurements, not a diagnosis; reference ranges are not bundled" in text
    assert "change -0.020" in text and "Method version 1" in text


def test_not_measured_study_has_no_section(measured):
    inp, _ = measured
    report = build_report(inp)
    assert report.radiogrammetry == [] and not any(i.title == "Radiogrammetry" for i in report.images)


def test_summary_csv_has_the_measurement_columns(measured, tmp_path):
    inp, data = measured
    items = [BatchItem("a.dcm", case=dataclasses.replace(inp, case_id="case-a"), measurements=data),
             BatchItem("b.dcm", case=dataclasses.replace(inp, case_id="case-b"))]
    result = export_batch(items, tmp_path / "out", options=ReportOptions(institution="Clinic"))
    rows = list(csv.DictReader(io.StringIO(result.summary_csv.read_text(encoding="utf-8-sig"))))
    assert set(csv_fields()) <= set(rows[0])
    a, b = rows
    assert a["rg_MC3_MCI"] == f"{data.hand.bones['MC3'].MCI:.3f}" and a["rg_unit"] == "mm"
    assert a["rg_MC4_MCI"] == "" and a["rg_MC4_status"].startswith("not valid")
    assert a["rg_MC2_status"] == "valid, ends placed by Dr Test" and a["rg_mean_mci"] == ""
    assert all(b[k] == "" for k in csv_fields())  # not measured: empty, never a number


def test_a_study_never_measured_is_measured_for_the_batch(measured, tmp_path):
    inp, data = measured
    seen = []

    def measure(case):
        seen.append(case.case_id)
        return data

    def broken(case):
        raise ValueError("a bug in the measurement")

    items = [BatchItem("a.dcm", case=dataclasses.replace(inp, case_id="case-a"), measure=measure),
             BatchItem("b.dcm", case=dataclasses.replace(inp, case_id="case-b"), measurements=data, measure=measure),
             BatchItem("c.dcm", case=dataclasses.replace(inp, case_id="case-c"), measure=broken)]
    result = export_batch(items, tmp_path / "out", options=ReportOptions(institution="Clinic"))
    assert seen == ["case-a"]  # b had stored measurements: not measured again
    rows = list(csv.DictReader(io.StringIO(result.summary_csv.read_text(encoding="utf-8-sig"))))
    assert rows[0]["rg_MC3_MCI"] == f"{data.hand.bones['MC3'].MCI:.3f}"
    # A failing measurement leaves that study's report written, without values.
    assert [r.status for r in result.rows] == ["written"] * 3
    assert all(rows[2][k] == "" for k in csv_fields())

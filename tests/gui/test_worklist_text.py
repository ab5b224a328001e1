"""Worklist result column: whole percent, unless that would hide how P(RA) compares with the threshold."""
from __future__ import annotations

import pytest

from ra_desktop.ui.worklist_panel import result_text
from ra_desktop.worklist.store import CaseRow

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("p, t, label, expected", [
    (0.0093, 0.9977, "normal", "normal  1%"),
    (0.734, 0.5, "RA", "RA  73%"),
    (0.9981, 0.9977, "RA", "RA  99.81%"),  # not "100%": the case is a hair above the threshold
    (0.99999, 0.9977, "RA", "RA  100.0%"),
    (0.9970, 0.9977, "normal", "normal  99.7%"),  # below the threshold, and it reads so
    (0.42, None, "RA", "RA  42%"),  # rows from before thresholds were stored
])
def test_result_text(p, t, label, expected):
    row = CaseRow(id=1, case_id="c", path="/x.png", probability=p, threshold=t, label=label)
    assert result_text(row) == expected


def test_ood_flag_and_no_result():
    assert result_text(CaseRow(id=1, case_id="c", path="/x.png")) == "—"
    row = CaseRow(id=1, case_id="c", path="/x.png", probability=0.9, threshold=0.5, label="RA", ood_flag=True)
    assert result_text(row) == "no verdict (OOD)"  # the model does not apply: no label, no number


def test_a_patients_studies_form_a_timeline():
    from PySide6.QtCore import Qt

    from ra_desktop.ui.worklist_panel import COL_DATE, COL_PATIENT, SORT_ROLE, WorklistModel

    model = WorklistModel()
    rows = [CaseRow(id=1, case_id="a", path="/x/a.dcm", patient_id="P2", study_date="20250301"),
            CaseRow(id=2, case_id="b", path="/x/b.dcm", patient_id="P1", study_date="20240101"),
            CaseRow(id=3, case_id="c", path="/x/c.dcm", patient_id="P2", study_date="20230301"),
            CaseRow(id=4, case_id="d", path="/x/d.png")]
    model.set_rows(rows)
    dates = [model.index(i, COL_DATE).data() for i in range(4)]
    assert dates[0].endswith("· 2/2") and dates[2].endswith("· 1/2") and "/" not in dates[1].split("·")[-1]
    order = sorted(range(4), key=lambda i: model.index(i, COL_PATIENT).data(SORT_ROLE))
    assert [rows[i].id for i in order] == [2, 3, 1, 4]  # P1; P2 oldest first; no patient last
    model.update_row(CaseRow(id=4, case_id="d", path="/x/d.png", patient_id="P1", study_date=None))
    assert model.index(1, COL_DATE).data().endswith("· 2/2")  # P1 now has two studies
    assert "C opens it beside its prior" in model.index(0, COL_DATE).data(Qt.ItemDataRole.ToolTipRole)

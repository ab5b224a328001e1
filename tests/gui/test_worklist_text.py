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

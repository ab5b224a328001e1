"""Findings panel: an empty Grad-CAM map is reported as a finding, not as "not available"."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from ra_desktop.results import RegionScore
from ra_desktop.ui.findings_panel import NO_RA_REGIONS, FindingsPanel

pytestmark = pytest.mark.gui


def _result(heatmaps, regions):
    return SimpleNamespace(probability=0.01, threshold=0.5, label="normal", ood=None, heatmaps=heatmaps,
                           regions=regions, timings_ms={"inference": 80.0})


def test_empty_gradcam_says_nothing_points_toward_ra(qtbot):
    panel = FindingsPanel()
    qtbot.addWidget(panel)
    panel.show_result(_result({"gradcam": np.zeros((4, 4), np.float32)}, []))
    assert panel.regions_label.text() == NO_RA_REGIONS
    panel.show_result(_result({}, []))  # before Grad-CAM exists the honest answer is "not available"
    assert "not available" in panel.regions_label.text()
    panel.show_result(_result({"gradcam": np.ones((4, 4), np.float32)}, [RegionScore("MCP2", 0.4)]))
    assert panel.regions_label.text() == "MCP2: +0.40"


def _label_ink(bar, probability, threshold) -> tuple[int, int]:
    """(pixels the threshold label changes, rightmost such column), below the mark's line."""
    bar.set_values(probability, None)
    plain = bar.grab().toImage()
    bar.set_values(probability, threshold)
    img = bar.grab().toImage()
    cols = [x for x in range(img.width()) for y in range(24, min(img.height(), 34))
            if img.pixelColor(x, y) != plain.pixelColor(x, y)]
    return len(cols), max(cols, default=-1)


def test_threshold_label_stays_whole_at_the_edge_and_compares_truly(qtbot):
    from ra_desktop.ui.findings_panel import ProbabilityBar

    bar = ProbabilityBar()
    qtbot.addWidget(bar)
    bar.resize(240, 34)
    middle, _ = _label_ink(bar, 0.4, 0.5)
    edge, right = _label_ink(bar, 0.9981, 0.9977)  # model 1.2.0's threshold: the mark is at the edge
    assert middle > 0 and edge > 0.8 * middle and right < bar.width() - 1
    panel = FindingsPanel()
    qtbot.addWidget(panel)
    panel._set_prediction(0.9981, 0.9977, "RA", None)
    assert panel.prob_label.text() == "P(RA): 99.81%"


def test_out_of_distribution_gives_no_verdict_until_research_is_asked_for(qtbot):
    from ra_desktop.results import OODResult
    from ra_desktop.worklist import CaseRow

    panel = FindingsPanel()
    qtbot.addWidget(panel)
    row = CaseRow(id=1, case_id="1.2.3", path="/x/chest.dcm", probability=0.91, threshold=0.5, label="RA",
                  ood_distance=12.3, ood_threshold=1.0, ood_flag=True, regions=[("MCP2", 0.4)])
    panel.show_row(row)
    result = SimpleNamespace(probability=0.91, threshold=0.5, label="RA", ood=OODResult(12.3, 1.0, False),
                             heatmaps={"gradcam": np.ones((4, 4), np.float32)},
                             regions=[RegionScore("MCP2", 0.4)], timings_ms={})
    panel.show_result(result)
    shown = " ".join(w.text() for w in (panel.prob_label, panel.label_label, panel.ood_label, panel.regions_label))
    assert "91" not in shown and "RA" not in panel.label_label.text() and "MCP2" not in shown
    assert panel.label_label.text() == "no verdict" and "does not apply" in panel.ood_label.text()
    assert "12.30 > threshold 1.00" in panel.ood_label.text() and panel.bar.probability is None
    assert panel.withheld and not panel.research_button.isHidden()
    assert not panel.sign_button.isEnabled() and not panel.agree.isEnabled()  # nothing to agree with

    with qtbot.waitSignal(panel.research_requested):
        panel.research_button.click()
    panel.show_result(result)  # what the window does on the request
    assert "91.0%" in panel.prob_label.text() and "research only" in panel.prob_label.text()
    assert panel.label_label.text() == "RA" and "MCP2" in panel.regions_label.text()
    panel.show_row(row)  # what the window does first
    assert panel.agree.isEnabled() and "research only" in panel.prob_label.text()
    panel.show_row(CaseRow(id=2, case_id="1.2.4", path="/x/other.dcm", probability=0.9, threshold=0.5,
                           label="RA", ood_distance=9.0, ood_threshold=1.0, ood_flag=True))
    assert panel.withheld  # the research view is per case: the next one starts withheld


def test_in_distribution_result_is_shown_as_before(qtbot):
    from ra_desktop.results import OODResult

    panel = FindingsPanel()
    qtbot.addWidget(panel)
    panel.show_result(SimpleNamespace(probability=0.91, threshold=0.5, label="RA", ood=OODResult(0.4, 1.0, True),
                                      heatmaps={}, regions=[], timings_ms={}))
    assert panel.label_label.text() == "RA" and "91.0%" in panel.prob_label.text()
    assert panel.research_button.isHidden() and not panel.withheld

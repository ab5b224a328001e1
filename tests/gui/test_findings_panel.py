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

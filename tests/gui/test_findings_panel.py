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

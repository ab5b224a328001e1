"""Change of radiogrammetry between two studies: per year, against the smallest detectable change."""
from __future__ import annotations

import math

import pytest

from ra_desktop.measure.change import PRECISION_CV, measurement_change, years_between
from ra_desktop.measure.results import HandResult, JointResult


def _hand(mci, jsw: dict[str, float | None], unit="mm") -> HandResult:
    joints = {k: JointResult(joint=k, valid=v is not None, reason=None if v is not None else "no gap", source="automatic",
                             unit=unit, minimum=v, mean=v) for k, v in jsw.items()}
    return HandResult(measurable=True, reason=None, unit=unit, spacing_mm=0.15, joints=joints, mean_MCI=mci)


def test_change_per_year_and_sdc():
    prior = _hand(0.40, {"MCP2": 1.60, "MCP3": 1.50, "MCP4": None})
    current = _hand(0.36, {"MCP2": 1.20, "MCP3": 1.49, "MCP4": 1.4})
    ch = measurement_change(prior, current, "20200101", "20220101")
    assert ch.years == pytest.approx(2.0, abs=0.01)
    mci, mcp2, mcp3 = ch.values
    assert mci.change == pytest.approx(-0.04) and mci.per_year == pytest.approx(-0.02, abs=1e-3)
    assert mci.sdc == pytest.approx(1.96 * math.sqrt(2) * PRECISION_CV["MCI"] * 0.38)
    assert mci.beyond_sdc and mcp2.beyond_sdc and not mcp3.beyond_sdc
    assert ch.left_out == ["JSW MCP4"]
    text = "\n".join(ch.lines())
    assert "mean MCI: 0.400 → 0.360, change -0.040 (-0.020 per year)" in text and "JSW MCP4" in text


def test_no_dates_no_rate_and_units_must_match():
    ch = measurement_change(_hand(None, {"MCP2": 1.6}), _hand(0.3, {"MCP2": 9.0}, unit="px"), None, "20200101")
    assert ch.years is None and ch.values == [] and ch.left_out == ["mean MCI", "JSW MCP2"]
    assert "per year unknown" in " ".join(ch.lines())
    assert years_between("20200101", "20190101") is None

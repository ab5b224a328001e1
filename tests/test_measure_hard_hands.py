"""Two development phantoms (seed 561000, the set where the method's settings are chosen) that
once went wrong: fingers pressed together (no air between them: once "no fingers found"), and a
subluxed MCP whose overlapping bones were given a width (1.18 mm where they overlap by 2 mm)."""
from __future__ import annotations

import pytest

from bench.bench_measure import make_case
from ra_desktop.measure import measure_hand

DEV_SEED = 561000


@pytest.fixture(scope="module")
def touching():
    img, sp, gt, _ = make_case(147, DEV_SEED)
    return measure_hand(img, sp), gt["radiogrammetry"]


def test_fingers_pressed_together_are_still_found(touching):
    res, truth = touching
    assert res.measurable, res.reason
    for name in ("MC2", "MC3", "MC4"):
        assert res.bones[name].valid, res.bones[name].reason
        assert res.bones[name].MCI == pytest.approx(truth["metacarpals"][name]["MCI"], abs=0.02)
    valid = [n for n, j in res.joints.items() if j.valid and n.startswith("MCP")]
    assert len(valid) >= 3
    for name in valid:
        assert res.joints[name].mean == pytest.approx(truth["joints"][name]["mean_mm"], abs=0.15)


def test_overlapping_bones_at_a_subluxed_mcp_get_no_width():
    img, sp, gt, _ = make_case(121, DEV_SEED)
    assert gt["radiogrammetry"]["joints"]["MCP2"]["min_mm"] < -1.0  # the bones overlap by over 1 mm
    joint = measure_hand(img, sp).joints["MCP2"]
    assert not joint.valid and joint.minimum is None and joint.mean is None
    assert joint.reason.startswith("no joint space visible")
    dip = next(c for c in joint.checks if c.name == "joint space darker than both bone ends")
    assert not dip.passed and dip.value < 0.15

"""A second look for the bone beyond a PIP when the first track turned off the finger."""
from __future__ import annotations

import numpy as np
import pytest

from ra_desktop.measure import joints
from ra_desktop.measure.joints import measure_joint
from ra_desktop.phantom.generate import case_rng, generate_case


@pytest.fixture(scope="module")
def hand():
    return generate_case(case_rng(531000, 0), "Normal", 0, "R", 1400, joint_spaces=True)


def _tracks(monkeypatch, first_deg: float, second_deg: float):
    """The first track (reach 1.4) ends ``first_deg`` off the given axis, as on a neighbouring
    finger; the second (narrower) one ``second_deg`` off."""
    real = joints.phalanx_axis

    def fake(image, centre, distal, h, reach=1.4):
        _, p = real(image, centre, distal, h)
        u0 = np.asarray(distal, float) / np.hypot(*distal)
        return joints._rotate(u0, first_deg if reach == 1.4 else second_deg), p

    monkeypatch.setattr(joints, "phalanx_axis", fake)


def _joint(hand, name):
    gt, sp = hand.ground_truth, hand.ground_truth["pixel_spacing_mm"][0]
    return dict(image=hand.image, centre=gt["joints"][name]["center"], spacing_mm=sp,
                axis=gt["radiogrammetry"]["joints"][name]["axis"], joint=name)


def test_a_pip_whose_first_track_turned_off_is_measured_from_the_second(hand, monkeypatch):
    kw = _joint(hand, "PIP3")
    _tracks(monkeypatch, 0.0, 0.0)
    straight = measure_joint(**kw)
    assert straight.valid, straight.reason
    _tracks(monkeypatch, 30.0, 0.0)
    r = measure_joint(**kw)
    assert r.valid, r.reason
    assert (r.minimum, r.mean, r.axis) == (straight.minimum, straight.mean, straight.axis)


def test_a_second_track_is_taken_only_close_to_the_finger_and_never_at_an_mcp(hand, monkeypatch):
    _tracks(monkeypatch, 30.0, 15.0)  # within the PIP's 20 degrees, not within half of it
    r = measure_joint(**_joint(hand, "PIP3"))
    assert not r.valid and "turns 30 degrees" in r.reason and r.mean is None
    _tracks(monkeypatch, 40.0, 0.0)
    r = measure_joint(**_joint(hand, "MCP3"))
    assert not r.valid and "turns 40 degrees" in r.reason and r.mean is None

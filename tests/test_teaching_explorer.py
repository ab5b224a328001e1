"""The marker explorer's core: scenes -> plans, presets, twin alignment, the model's readout."""
from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from ra_desktop.phantom.lesions import _NARROWING, _OSTEOPENIA, _SWELLING_MM, JOINT_NAMES
from ra_desktop.teaching.explorer import (
    DENSITIES,
    MARKER_JOINTS, PRESETS, SEQUENCE, HandSpec, Scene, markers_at, plan_for, preset_scene, render_pair,
)
from ra_desktop.teaching.lane import LatestWins
from ra_desktop.teaching.readout import CAPTION, model_readout

SIZE = 320  # small renders: the tests check pixels and plumbing, not the look


def test_levels_are_the_generators_magnitudes_and_interpolate_between_them():
    scene = (Scene().with_level("MCP2", "narrowing", 2).with_level("MCP2", "osteopenia", 1.5)
             .with_level("radiocarpal", "swelling", 3))
    plan = plan_for(scene)
    assert plan.label == "RA" and plan.severity == 3
    assert plan.joints["MCP2"].narrowing == pytest.approx(_NARROWING[2])
    assert plan.joints["MCP2"].osteopenia == pytest.approx((_OSTEOPENIA[1] + _OSTEOPENIA[2]) / 2)
    assert plan.joints["radiocarpal"].swelling_mm == pytest.approx(_SWELLING_MM[3] * 1.3)  # thicker wrist
    assert all(plan.joints[j].lesion_types() == [] for j in JOINT_NAMES if j not in ("MCP2", "radiocarpal"))
    # Erosions: one bite per severity step; ankylosis fuses the joint.
    plan = plan_for(Scene().with_level("MCP3", "erosion", 2.4).with_level("intercarpal", "ankylosis", 3))
    assert len(plan.joints["MCP3"].erosions) == 3
    assert plan.joints["intercarpal"].ankylosis and plan.joints["intercarpal"].narrowing == 1.0
    # Setting a level to 0 removes it; a marker the phantom does not draw there is refused.
    assert Scene().with_level("MCP2", "erosion", 2).with_level("MCP2", "erosion", 0).levels == ()
    with pytest.raises(ValueError):
        Scene().with_level("PIP2", "deviation", 1)
    assert "deviation" in markers_at("MCP3") and "deviation" not in markers_at("PIP3")
    assert markers_at("DIP2") == ("osteoarthritis",)


def test_presets_follow_the_disease_and_the_oa_contrast_has_no_ra():
    plans = {name: plan_for(preset_scene(name)) for name in SEQUENCE}
    assert set(SEQUENCE) == set(PRESETS)
    assert plans["normal"].label == "Normal" and not plans["normal"].dip_oa
    assert not any(j.erosions for j in plans["early RA"].joints.values())  # soft tissue and density only
    assert any(j.erosions for j in plans["established RA"].joints.values())
    assert plans["late RA"].joints["radiocarpal"].ankylosis and plans["late RA"].joints["MCP2"].subluxation_mm > 0
    oa = plans["osteoarthritis (contrast)"]
    assert oa.label == "Normal" and set(oa.dip_oa) == {"DIP2", "DIP3", "DIP4"}
    assert all(not j.lesion_types() for j in oa.joints.values())
    # Every preset level sits where the phantom draws that marker.
    for levels in PRESETS.values():
        assert all(j in MARKER_JOINTS[m] and 0 < v <= 3 for j, m, v in levels)


def test_the_twin_is_the_same_hand_pixel_for_pixel_outside_the_lesion():
    hand = HandSpec(5, "L")
    healthy = render_pair(Scene(hand), SIZE)
    assert np.array_equal(healthy.image, healthy.twin)
    pair = render_pair(Scene(hand).with_level("MCP3", "erosion", 2).with_level("MCP3", "osteopenia", 2), SIZE)
    assert np.array_equal(pair.twin, healthy.twin)  # the twin never depends on the markers
    differ = np.argwhere(pair.image != pair.twin)
    assert len(differ) > 50  # the lesion shows
    joint = pair.ground_truth["joints"]["MCP3"]
    (cx, cy), r = joint["center"], joint["radius_px"]
    assert np.hypot(differ[:, 1] - cx, differ[:, 0] - cy).max() < 4 * r  # and nothing else moves
    assert pair.ground_truth["laterality"] == "L" and pair.image.shape == (SIZE, round(SIZE * 0.8))
    assert not pair.image.flags.writeable



def test_the_shaped_wrist_is_another_look_of_the_same_hand_and_keeps_the_twin_aligned():
    plain = render_pair(Scene(HandSpec(5)), SIZE)
    scene = Scene(HandSpec(5, anatomy=2)).with_level("radiocarpal", "erosion", 2)
    shaped = render_pair(scene, SIZE)
    assert shaped.ground_truth["anatomy"] == 2 and not np.array_equal(plain.twin, shaped.twin)
    assert np.array_equal(shaped.twin, render_pair(Scene(HandSpec(5, anatomy=2)), SIZE).image)
    differ = np.argwhere(shaped.image != shaped.twin)
    joint = shaped.ground_truth["joints"]["radiocarpal"]
    (cx, cy), r = joint["center"], joint["radius_px"]
    assert len(differ) > 0 and np.hypot(differ[:, 1] - cx, differ[:, 0] - cy).max() < 2 * r  # only at the wrist


def test_an_older_hand_is_the_same_hand_with_fainter_bone():
    drawn = render_pair(Scene(HandSpec(7)), SIZE)
    older = render_pair(Scene(HandSpec(7, density=DENSITIES["low (older hand)"])), SIZE)
    assert older.ground_truth["bone_density"] == 0.7 and "bone_density" not in drawn.ground_truth
    assert older.ground_truth["joints"] == drawn.ground_truth["joints"]  # same hand, same place
    bone = drawn.mask == 0  # compare the bones' brightness away from any lesion
    mc3 = drawn.ground_truth["radiogrammetry"]["metacarpals"]["MC3"]
    (x0, y0), (x1, y1) = mc3["base_end_px"], mc3["head_end_px"]
    cx, cy = int(round((x0 + x1) / 2)), int(round((y0 + y1) / 2))
    patch = np.s_[cy - 3:cy + 4, cx - 3:cx + 4]  # mid-shaft of the third metacarpal
    assert bone[patch].all() and older.image[patch].mean() < drawn.image[patch].mean()
    assert np.array_equal(older.twin, older.image)  # no marker: the twin is the hand itself


def test_drawn_joint_spaces_show_narrowing_and_keep_the_twin_aligned():
    plain = render_pair(Scene(HandSpec(2)).with_level("PIP3", "narrowing", 3), SIZE)
    spaced = render_pair(Scene(HandSpec(2, joint_spaces=True)).with_level("PIP3", "narrowing", 3), SIZE)
    assert not np.array_equal(plain.twin, spaced.twin)  # another look of the same hand
    assert np.array_equal(spaced.twin, render_pair(Scene(HandSpec(2, joint_spaces=True)), SIZE).image)
    differ = np.argwhere(spaced.image != spaced.twin)
    assert len(differ) > 0
    # Narrowing moves the bones beyond the joint (the finger), never the other rays.
    mcp5 = spaced.ground_truth["joints"]["MCP5"]
    (cx, cy), r = mcp5["center"], mcp5["radius_px"]
    assert np.hypot(differ[:, 1] - cx, differ[:, 0] - cy).min() > r


def test_per_marker_logit_changes_with_the_tiny_model(tmp_path):
    from ra_desktop.model import load_model
    from tests.tiny_model import make_tiny_model_folder

    model = load_model(make_tiny_model_folder(tmp_path), "cpu")
    scene = Scene(HandSpec(1, "R")).with_level("MCP2", "erosion", 3).with_level("PIP3", "swelling", 3)
    pair = render_pair(scene, SIZE)
    ro = model_readout(model, pair)
    assert ro.verdict and 0.0 <= ro.probability <= 1.0
    assert ro.logit == pytest.approx(math.log(ro.probability / (1 - ro.probability)), abs=1e-6)
    assert list(ro.marker_changes) == list(scene.present())
    assert all(math.isfinite(v) for v in ro.marker_changes.values())
    assert any(abs(v) > 1e-6 for v in ro.marker_changes.values())  # removing a marker changes the input
    # One bar: removing the only marker gives the twin, so the bar equals the total.
    one = model_readout(model, render_pair(Scene(HandSpec(1, "R")).with_level("MCP2", "osteopenia", 3), SIZE))
    assert list(one.marker_changes) == ["osteopenia"]
    assert one.marker_changes["osteopenia"] == pytest.approx(one.total_change, abs=1e-6)
    # Both totals are against the same healthy twin (same hand and size).
    assert ro.logit - ro.total_change == pytest.approx(one.logit - one.total_change, abs=1e-4)
    assert ro.gradcam is not None and ro.gradcam.shape == pair.image.shape
    assert ro.ood_distance is None and CAPTION in ro.summary()  # the tiny model has no OOD statistics


def test_latest_wins_runs_only_the_newest_pending_request():
    scheduled: list = []
    lane = LatestWins(scheduled.append)  # runs when the test says so
    ran: list[str] = []
    for name in ("a", "b", "c"):
        lane.request(lambda token, n=name: ran.append(n))
    assert len(scheduled) == 1  # one run scheduled, however many requests
    scheduled.pop()()
    assert ran == ["c"]
    # A request while running cancels the running one's token and schedules the next run.
    started, release = threading.Event(), threading.Event()
    seen: list[bool] = []

    def slow(token):
        started.set()
        release.wait(5)
        seen.append(token.cancelled)

    lane.request(slow)
    t = threading.Thread(target=scheduled.pop())
    t.start()
    started.wait(5)
    lane.request(lambda token: ran.append("d"))
    release.set()
    t.join(5)
    assert seen == [True] and len(scheduled) == 1
    scheduled.pop()()
    assert ran == ["c", "d"]


def test_out_of_distribution_there_is_no_verdict(bundled_model):
    from ra_desktop.teaching.explorer import RenderedPair

    real = render_pair(Scene(HandSpec(3)).with_level("MCP2", "erosion", 2), SIZE)
    blank = np.zeros_like(real.image)  # nothing a hand radiograph model can read
    pair = RenderedPair(real.scene, SIZE, blank, blank, real.ground_truth, real.mask)
    ro = model_readout(bundled_model, pair)
    assert not ro.verdict and ro.probability is None and ro.in_distribution is False
    assert ro.gradcam is None and ro.marker_changes == {} and "out of the model's distribution" in ro.reason
    assert ro.summary().startswith("No verdict") and "synthetic phantoms" in ro.summary()

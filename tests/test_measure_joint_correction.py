"""The reader's joint placement (the manual fallback for joint space width) in the worklist
database, and measuring a hand in a worker process with its thread fallback."""
from __future__ import annotations

import concurrent.futures as cf
import sqlite3

import numpy as np
import pytest

from ra_desktop.measure import measure_hand, measure_joint
from ra_desktop.measure.offload import HandMeasurer, measure_with_profiles
from ra_desktop.phantom.generate import case_rng, generate_case
from ra_desktop.worklist import NewCase, WorklistStore
from ra_desktop.worklist.measurements import MeasurementBook, with_joint


@pytest.fixture(scope="module")
def phantom():
    case = generate_case(case_rng(531000, 0), "Normal", 0, "R", 1400, joint_spaces=True)
    sp = case.ground_truth["pixel_spacing_mm"][0]
    return case.image.astype(np.float32), sp, measure_hand(case.image, sp)


def _store(tmp_path) -> tuple[WorklistStore, int]:
    store = WorklistStore(tmp_path / "wl.sqlite")
    (row_id,) = store.add_cases([NewCase(case_id="1.2.3", path=str(tmp_path / "a.dcm"), patient_id="P1")])
    return store, row_id


def _valid_mcp(hand) -> str:
    return next(k for k in ("MCP3", "MCP4", "MCP2", "MCP5") if hand.joints[k].valid)


def test_a_placed_joint_is_stored_with_its_points_kept_and_undone(tmp_path, phantom):
    img, sp, hand = phantom
    name = _valid_mcp(hand)
    auto = hand.joints[name]
    centre = np.asarray(auto.centre)
    toward = centre + np.asarray(auto.axis) * 120.0
    manual = measure_joint(img, centre, sp, toward=toward, joint=name)
    assert manual.valid and manual.source == "manual" and manual.toward == pytest.approx(tuple(toward), abs=0.01)
    assert manual.minimum == pytest.approx(auto.minimum, abs=0.1)
    store, row_id = _store(tmp_path)
    book = MeasurementBook(store)
    book.save_hand(row_id, hand)
    book.set_manual_joint(row_id, manual, "Dr Test")
    got = MeasurementBook(WorklistStore(tmp_path / "wl.sqlite")).load(row_id)
    assert got.corrected_by == {name: "Dr Test"} and got.hand.joints[name] == manual
    row = sqlite3.connect(tmp_path / "wl.sqlite").execute(
        "SELECT ends_json, source, jsw_min FROM measurements WHERE site=?", (name,)).fetchone()
    assert row[1] == "manual" and row[2] == pytest.approx(manual.minimum) and str(round(toward[0], 1))[:4] in row[0]
    book.save_hand(row_id, hand)  # measured again: the reader's joint stays
    assert book.load(row_id).hand.joints[name].source == "manual"
    assert book.revert(row_id, name) and book.load(row_id).hand.joints[name] == auto
    assert not book.revert(row_id, name)
    with pytest.raises(ValueError):
        book.set_manual_joint(row_id, manual.__class__(**{**manual.to_dict(), "joint": "MC3", "checks": ()}), "X")


def test_a_rejected_placement_is_stored_without_a_number_and_a_joint_not_found_can_be_placed(tmp_path, phantom):
    img, sp, hand = phantom
    store, row_id = _store(tmp_path)
    book = MeasurementBook(store)
    no_joints = hand.__class__(**{**hand.__dict__, "joints": {}})
    book.save_hand(row_id, no_joints)
    mc3 = hand.bones["MC3"]
    bad = measure_joint(img, mc3.region[0], sp, toward=mc3.region[1], joint="PIP4")  # on a shaft: no joint
    assert not bad.valid and bad.minimum is None and bad.mean is None and bad.reason
    book.set_manual_joint(row_id, bad, "Dr Test")
    got = book.load(row_id).hand.joints["PIP4"]
    assert not got.valid and got.minimum is None and got.reason == bad.reason
    assert book.revert(row_id, "PIP4") and "PIP4" not in book.load(row_id).hand.joints  # nothing automatic under it
    out = with_joint(no_joints, bad)
    assert list(out.joints) == ["PIP4"] and out.mean_MCI == no_joints.mean_MCI


def test_a_stored_joint_from_before_the_toward_field_loads(tmp_path, phantom):
    _, _, hand = phantom
    store, row_id = _store(tmp_path)
    MeasurementBook(store).save_hand(row_id, hand)
    con = sqlite3.connect(tmp_path / "wl.sqlite")
    import json

    for site, text in con.execute("SELECT site, result_json FROM measurements WHERE kind='joint'").fetchall():
        d = json.loads(text)
        d.pop("toward")
        with con:
            con.execute("UPDATE measurements SET result_json=? WHERE site=?", (json.dumps(d), site))
    assert MeasurementBook(WorklistStore(tmp_path / "wl.sqlite")).load(row_id).hand.joints == hand.joints


def test_a_hand_measured_in_a_worker_process_equals_the_thread_and_falls_back(phantom, monkeypatch):
    img, sp, _ = phantom
    here, profiles = measure_with_profiles(img, (sp, sp), None)
    measurer = HandMeasurer(use_process=True)
    try:
        there, profiles_there = measurer.measure(img, (sp, sp))
        assert measurer.mode == "process" and measurer.start_seconds is not None
    finally:
        measurer.shutdown()
    assert there.bones == here.bones and there.joints == here.joints and there.mean_MCI == here.mean_MCI
    assert set(profiles_there) == set(profiles) and np.allclose(profiles_there["MC3"][1], profiles["MC3"][1])

    def no_process(*a, **k):
        raise OSError("no processes here")

    monkeypatch.setattr(cf, "ProcessPoolExecutor", no_process)
    fallback = HandMeasurer(use_process=True)
    hand, _ = fallback.measure(img, (sp, sp))
    assert fallback.mode == "thread" and "no processes here" in fallback.fallback_reason
    assert hand.bones == here.bones

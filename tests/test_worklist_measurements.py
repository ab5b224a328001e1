"""Radiogrammetry in the worklist database: round trip, the reader's corrections, and an old
database (schema 3) upgraded without losing its cases, scores or markers."""
from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from ra_desktop.measure import measure_bone, measure_hand
from ra_desktop.measure.definitions import METHOD_VERSION
from ra_desktop.phantom.generate import case_rng, generate_case
from ra_desktop.worklist import NewCase, WorklistStore
from ra_desktop.worklist.measurements import MeasurementBook, with_bone
from ra_desktop.worklist.scores import ScoreBook


@pytest.fixture(scope="module")
def phantom():
    case = generate_case(case_rng(531000, 0), "Normal", 0, "R", 1400, joint_spaces=True)
    sp = case.ground_truth["pixel_spacing_mm"][0]
    return case.image.astype(np.float32), sp, measure_hand(case.image, sp)


def _store(tmp_path) -> tuple[WorklistStore, int]:
    store = WorklistStore(tmp_path / "wl.sqlite")
    (row_id,) = store.add_cases([NewCase(case_id="1.2.3", path=str(tmp_path / "a.dcm"), patient_id="P1")])
    return store, row_id


def test_round_trip_keeps_every_value_validity_and_reason(tmp_path, phantom):
    _, _, hand = phantom
    store, row_id = _store(tmp_path)
    book = MeasurementBook(store)
    assert book.load(row_id) is None
    book.save_hand(row_id, hand)
    got = MeasurementBook(WorklistStore(tmp_path / "wl.sqlite")).load(row_id)  # a fresh connection
    assert got.method_version == METHOD_VERSION and got.current and not got.corrected_by
    assert got.hand.unit == hand.unit == "mm" and got.hand.spacing_mm == pytest.approx(hand.spacing_mm)
    assert got.hand.mean_MCI == pytest.approx(hand.mean_MCI)
    assert got.hand.bones == hand.bones  # edges, region, checks: the same frozen dataclasses
    assert got.hand.joints == hand.joints
    invalid = [j for j in hand.joints.values() if not j.valid]
    for j in invalid:  # a rejected result is stored with its reason and no number
        assert got.hand.joints[j.joint].reason == j.reason and got.hand.joints[j.joint].minimum is None
    con = sqlite3.connect(tmp_path / "wl.sqlite")
    rows = dict(con.execute("SELECT site, MCI FROM measurements WHERE kind='bone'").fetchall())
    assert rows["MC3"] == pytest.approx(hand.bones["MC3"].MCI)
    assert con.execute("PRAGMA user_version").fetchone()[0] >= 4  # later versions keep the tables


def test_reader_correction_is_stored_with_its_ends_and_can_be_undone(tmp_path, phantom):
    img, sp, hand = phantom
    store, row_id = _store(tmp_path)
    book = MeasurementBook(store)
    book.save_hand(row_id, hand)
    auto = hand.bones["MC2"]
    a, b = auto.ends
    placed = ((a[0] + 3.0, a[1] + 2.0), b)
    manual = measure_bone(img, *placed, sp, bone="MC2")
    assert manual.valid
    book.set_manual_bone(row_id, manual, "Dr Test")
    got = book.load(row_id)
    assert got.corrected_by == {"MC2": "Dr Test"}
    b2 = got.hand.bones["MC2"]
    assert b2.source == "manual" and b2.ends == manual.ends and b2.MCI == pytest.approx(manual.MCI)
    assert got.hand.mean_MCI == pytest.approx(np.mean([manual.MCI, hand.bones["MC3"].MCI, hand.bones["MC4"].MCI]),
                                              abs=1e-5)
    ends = sqlite3.connect(tmp_path / "wl.sqlite").execute(
        "SELECT ends_json, corrected_by FROM measurements WHERE site='MC2'").fetchone()
    assert "Dr Test" == ends[1] and str(round(placed[0][0], 1))[:4] in ends[0]
    # measuring the hand again keeps the reader's correction
    book.save_hand(row_id, hand)
    assert book.load(row_id).hand.bones["MC2"].source == "manual"
    assert book.revert(row_id, "MC2") and book.load(row_id).hand.bones["MC2"] == auto
    assert not book.revert(row_id, "MC2")


def test_with_bone_never_gives_a_mean_from_a_rejected_bone(phantom):
    _, _, hand = phantom
    bad = measure_bone(np.zeros((200, 200), np.float32), (10, 10), (12, 12), bone="MC3")
    out = with_bone(hand, bad)
    assert not bad.valid and out.mean_MCI is None and out.needs_manual == ("MC3",)


_V3 = """
CREATE TABLE cases (id INTEGER PRIMARY KEY AUTOINCREMENT, case_id TEXT NOT NULL, path TEXT NOT NULL,
    patient_id TEXT, patient_name TEXT, study_date TEXT, laterality TEXT, view TEXT, format TEXT,
    added_at REAL NOT NULL, status TEXT NOT NULL DEFAULT 'new', status_note TEXT,
    probability REAL, label TEXT, threshold REAL, ood_distance REAL, ood_threshold REAL, ood_flag INTEGER,
    timings_json TEXT, model_name TEXT, model_version TEXT, model_sha TEXT, analysed_at REAL,
    verdict TEXT, reader TEXT, reader_note TEXT, signed_at REAL, regions_json TEXT, UNIQUE (case_id, path));
CREATE TABLE scores (case_row INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE, reader TEXT NOT NULL,
    hand TEXT NOT NULL CHECK (hand IN ('L', 'R')), kind TEXT NOT NULL CHECK (kind IN ('erosion', 'jsn')),
    site TEXT NOT NULL, score INTEGER CHECK (score BETWEEN 0 AND 5), not_assessable INTEGER NOT NULL DEFAULT 0,
    scored_at REAL NOT NULL, PRIMARY KEY (case_row, reader, hand, kind, site));
CREATE TABLE markers (case_row INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE, reader TEXT NOT NULL,
    hand TEXT NOT NULL CHECK (hand IN ('L', 'R')), site TEXT NOT NULL, x REAL NOT NULL, y REAL NOT NULL,
    source TEXT NOT NULL, placed_at REAL NOT NULL, PRIMARY KEY (case_row, reader, hand, site));
INSERT INTO cases (case_id, path, patient_id, study_date, added_at, status, probability, label, threshold)
    VALUES ('1.2.3', '/x/a.dcm', 'P1', '20200101', 1.0, 'done', 0.7, 'RA', 0.5);
INSERT INTO scores VALUES (1, 'Dr Old', 'R', 'erosion', 'MCP2', 3, 0, 2.0);
INSERT INTO markers VALUES (1, 'Dr Old', 'R', 'MCP2', 100.0, 200.0, 'reader', 2.0);
PRAGMA user_version=3;
"""


def test_a_schema_3_database_upgrades_without_loss(tmp_path, phantom):
    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path)
    con.executescript(_V3)
    con.close()
    store = WorklistStore(path)
    (row,) = store.rows()
    assert (row.case_id, row.patient_id, row.study_date, row.probability, row.label) == ("1.2.3", "P1", "20200101",
                                                                                          0.7, "RA")
    book = ScoreBook(store)
    assert book.scores(row.id, "Dr Old") == {("R", "erosion", "MCP2"): 3}
    assert book.markers(row.id, "Dr Old")[("R", "MCP2")].x == 100.0
    assert store._con().execute("PRAGMA user_version").fetchone()[0] >= 4
    measures = MeasurementBook(store)
    assert measures.load(row.id) is None
    measures.save_hand(row.id, phantom[2])
    assert measures.load(row.id).hand.mean_MCI == pytest.approx(phantom[2].mean_MCI)
    store.remove([row.id])  # measurements go with their case
    assert store._con().execute("SELECT COUNT(*) FROM measurements").fetchone()[0] == 0

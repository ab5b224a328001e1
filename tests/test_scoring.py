"""Sharp/van der Heijde areas and totals, and scores kept per reader in the worklist database."""
from __future__ import annotations

import sqlite3

import pytest

from ra_desktop.scoring.svdh import (
    AREAS_PER_HAND, EROSION, JSN, NOT_ASSESSABLE, area, check_score, hand_areas, totals,
)
from ra_desktop.worklist import NewCase, WorklistStore
from ra_desktop.worklist.scores import ScoreBook


def test_the_method_as_published():
    hand = hand_areas("R")
    ero, jsn = [a for a in hand if a.kind == EROSION], [a for a in hand if a.kind == JSN]
    assert len(ero) == 16 and len(jsn) == 15 and AREAS_PER_HAND == 31
    assert sum(a.max for a in ero) == 80 and sum(a.max for a in jsn) == 60  # both hands: 160 and 120
    assert {a.site for a in ero} >= {"MCP1", "IP1", "PIP5", "CMC1", "trapezium_trapezoid", "scaphoid",
                                     "lunate", "distal_radius", "distal_ulna"}
    assert {a.site for a in jsn} >= {"CMC3", "CMC4", "CMC5", "trapezium_scaphoid",
                                     "capitate_scaphoid_lunate", "radiocarpal"}
    assert "IP1" not in {a.site for a in jsn}  # the thumb IP is scored for erosion only
    with pytest.raises(ValueError, match="0–4"):
        check_score(area("R", JSN, "MCP2"), 5)
    assert check_score(area("R", EROSION, "MCP2"), 5) == 5
    with pytest.raises(ValueError):
        area("R", JSN, "IP1")


def test_totals_leave_not_assessable_out_and_count_it():
    scores = {("R", EROSION, "MCP2"): 3, ("R", JSN, "MCP2"): 2, ("R", EROSION, "lunate"): NOT_ASSESSABLE,
              ("L", EROSION, "MCP1"): 5}
    right = totals(scores, ["R"])
    assert (right.erosion, right.jsn, right.total) == (3, 2, 5)
    assert right.erosion_max == 75 and right.jsn_max == 60  # the lunate's 5 is not counted
    assert (right.scored, right.not_assessable, right.unscored) == (2, 1, 28) and not right.complete
    both = totals(scores, ["R", "L"])
    assert both.erosion == 8 and both.total_max == 75 + 60 + 80 + 60


def test_scores_and_markers_per_reader_survive_reopening(tmp_path):
    db = tmp_path / "w.sqlite"
    store = WorklistStore(db)
    (row,) = store.add_cases([NewCase("1.2.3", "/x/hand.dcm")])
    book = ScoreBook(store)
    book.set_score(row, "Dr A", "R", EROSION, "MCP2", 2)
    book.set_score(row, "Dr A", "R", JSN, "MCP2", NOT_ASSESSABLE)
    book.set_score(row, "Dr B", "R", EROSION, "MCP2", 3)
    book.set_marker(row, "Dr A", "R", "MCP2", 120.5, 340.25)
    book.set_score(row, "Dr A", "R", EROSION, "MCP2", 4)  # corrected
    store.close()

    book = ScoreBook(WorklistStore(db))
    assert book.scores(row, "Dr A") == {("R", EROSION, "MCP2"): 4, ("R", JSN, "MCP2"): NOT_ASSESSABLE}
    assert book.scores(row, "Dr B") == {("R", EROSION, "MCP2"): 3}
    assert book.readers(row) == ["Dr A", "Dr B"]
    marker = book.markers(row, "Dr A")[("R", "MCP2")]
    assert (marker.x, marker.y, marker.source) == (120.5, 340.25, "reader")
    book.set_score(row, "Dr A", "R", EROSION, "MCP2", None)
    assert ("R", EROSION, "MCP2") not in book.scores(row, "Dr A")
    with pytest.raises(ValueError):
        book.set_score(row, "Dr A", "R", JSN, "MCP2", 5)
    book.store.remove([row])  # a removed case takes its scores and markers with it
    assert book.scores(row, "Dr A") == {} and book.markers(row, "Dr A") == {}


def test_a_version_2_worklist_gains_the_score_tables_and_keeps_its_rows(tmp_path):
    db = tmp_path / "old.sqlite"
    con = sqlite3.connect(db)
    con.executescript("""
        CREATE TABLE cases (id INTEGER PRIMARY KEY AUTOINCREMENT, case_id TEXT NOT NULL, path TEXT NOT NULL,
            patient_id TEXT, patient_name TEXT, study_date TEXT, laterality TEXT, view TEXT, format TEXT,
            added_at REAL NOT NULL, status TEXT NOT NULL DEFAULT 'new', status_note TEXT,
            probability REAL, label TEXT, threshold REAL, ood_distance REAL, ood_threshold REAL,
            ood_flag INTEGER, timings_json TEXT, model_name TEXT, model_version TEXT, model_sha TEXT,
            analysed_at REAL, verdict TEXT, reader TEXT, reader_note TEXT, signed_at REAL,
            regions_json TEXT, UNIQUE (case_id, path));
        INSERT INTO cases (case_id, path, added_at, verdict, reader) VALUES ('1.2.3', '/x/a.dcm', 1.0, 'agree', 'Dr A');
        PRAGMA user_version=2;
    """)
    con.close()
    store = WorklistStore(db)
    (row,) = store.rows()
    assert row.case_id == "1.2.3" and row.verdict == "agree"
    ScoreBook(store).set_score(row.id, "Dr A", "L", EROSION, "MCP1", 1)
    from ra_desktop.worklist.store import SCHEMA_VERSION  # 3 added the score tables; later versions keep them

    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 3


def test_template_fit_recovers_a_known_placement():
    import numpy as np

    from ra_desktop.scoring.template import LANDMARKS, fit_sites, ground_truth_sites, template

    unit = template("L")
    assert unit["MCP1"][0] > unit["MCP5"][0]  # a left hand's thumb is on the image's right
    # A hand drawn 900 px wide, turned 10 degrees, shifted: three landmarks give back every site.
    turn = np.deg2rad(10)
    rot = 900 * np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    place = {s: tuple(rot @ np.array(xy) + (150, 80)) for s, xy in unit.items()}
    fitted = fit_sites("L", {s: place[s] for s in LANDMARKS})
    assert max(np.hypot(fitted[s][0] - place[s][0], fitted[s][1] - place[s][1]) for s in unit) < 1e-6
    two = fit_sites("L", {s: place[s] for s in ("MCP2", "radiocarpal")})  # similarity from two
    assert max(np.hypot(two[s][0] - place[s][0], two[s][1] - place[s][1]) for s in unit) < 1e-6
    with pytest.raises(ValueError, match="two landmarks"):
        fit_sites("L", {"MCP2": (1.0, 2.0)})
    gt = {"joints": {"MCP2": {"center": [10, 20]}, "ulnar_styloid": {"center": [5, 6]}, "DIP2": {"center": [1, 1]}}}
    assert ground_truth_sites(gt) == {"MCP2": (10.0, 20.0), "distal_ulna": (5.0, 6.0)}  # DIPs are not scored


def test_progression_counts_only_areas_scored_twice_and_reads_the_sdc():
    from ra_desktop.scoring.progression import progression, years_between

    prior = {("R", EROSION, "MCP2"): 1, ("R", JSN, "MCP2"): 1, ("R", EROSION, "MCP3"): NOT_ASSESSABLE,
             ("R", EROSION, "PIP2"): 0}
    current = {("R", EROSION, "MCP2"): 3, ("R", JSN, "MCP2"): 2, ("R", EROSION, "MCP3"): 4,
               ("R", EROSION, "PIP2"): 0, ("R", EROSION, "MCP4"): 2}
    p = progression(prior, current, ["R"], "20230301", "20250301", sdc=2.5)
    assert (p.erosion, p.jsn, p.total()) == (2, 1, 3)
    assert len(p.changes) == 3 and p.left_out == 31 - 3  # MCP3 (n/a once) and MCP4 (new) left out
    assert p.years == pytest.approx(731 / 365.25) and p.per_year == pytest.approx(3 / (731 / 365.25))
    assert p.beyond_sdc is True and "exceeds the smallest detectable change (2.5)" in p.summary()
    assert progression(prior, current, ["R"], sdc=3.0).beyond_sdc is False
    assert progression(prior, current, ["R"]).beyond_sdc is None
    assert years_between("20250301", "20230301") is None and years_between(None, "20230301") is None

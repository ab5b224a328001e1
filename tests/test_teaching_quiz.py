"""The scoring quiz's core: decks, feedback against the phantom's truth, statistics, results, CSV, PDF."""
from __future__ import annotations

import csv
import io
import json
import os

import numpy as np
import pytest

from ra_desktop.scoring.svdh import EROSION, JSN, NOT_ASSESSABLE, hand_areas
from ra_desktop.scoring.truth import truth_scores
from ra_desktop.teaching import deck as deckmod
from ra_desktop.teaching.deck import DeckFileError, load_deck, make_deck, render_case, save_deck
from ra_desktop.teaching.quiz import (AGREE, MISSED, NOT_GRADED, NOT_SCORED, OVER, UNDER, case_feedback,
                                     session_stats)
from ra_desktop.teaching.results import (CSV_COLUMNS, ResultsFileError, SessionResult, load_session,
                                         load_sessions, save_session, session_csv)


# ---- decks ---------------------------------------------------------------------------------------
def test_a_deck_is_the_same_every_time_and_differs_by_seed_and_difficulty():
    a = make_deck(7, "standard", 10, 600)
    assert a == make_deck(7, "standard", 10, 600)
    assert a != make_deck(8, "standard", 10, 600)
    assert a.cases != make_deck(7, "hard", 10, 600).cases
    assert len(a.cases) == 10 and len({(c.seed, c.index) for c in a.cases}) == 10


def test_difficulties_hold_what_they_promise():
    easy = make_deck(3, "easy", 10, 600).cases
    assert sorted((c.label, c.severity) for c in easy) == [("Normal", 0)] * 5 + [("RA", 3)] * 5
    for c in easy:  # "clear normals": the generator's own draw adds no incidental finding
        assert not (c.label == "Normal" and deckmod._plan_findings(c.seed, c.index, c.label, c.severity))
    hard = make_deck(3, "hard", 10, 600).cases
    assert all(c.severity == 1 for c in hard if c.label == "RA")
    assert all(c.findings == ("dip_oa",) for c in hard if c.label == "Normal")
    assert sum(c.label == "Normal" for c in hard) == 4


def test_the_finding_probe_agrees_with_the_generator_and_a_case_renders_the_same_pixels():
    spec = next(c for c in make_deck(11, "standard", 10, 400).cases if c.label == "Normal")
    first, second = render_case(spec), render_case(spec)
    assert np.array_equal(first.image, second.image) and first.image.shape[0] == 400
    assert first.ground_truth["seed"] == [spec.seed, spec.index]
    probe = [deckmod._plan_findings(spec.seed, i, "Normal", 0) for i in range(40)]
    assert any(probe) and not all(probe)  # the probe discriminates: check it against a rendered case
    i = probe.index(True)
    drawn = render_case(deckmod.CaseSpec(spec.seed, i, "Normal", 0, "R", 400))
    assert drawn.ground_truth["other_findings"]


def test_deck_file_round_trip(tmp_path):
    deck = make_deck(5, "hard", 6, 800)
    path = save_deck(deck, tmp_path / "class.json")
    assert load_deck(path) == deck
    assert json.loads(path.read_text())["version"] == deckmod.DECK_VERSION
    assert not list(tmp_path.glob(".*.part"))


@pytest.mark.parametrize("content, reason", [
    (None, "no such file"),
    (b"\xff\xfe\x00binary", "not a text file"),
    (b'{"format": "ra-desktop quiz deck", "version": 1, "seed": 1, "cas', "not valid JSON"),
    (b'{"format": "some other tool", "cases": []}', "not a quiz deck"),
    (b'[1, 2, 3]', "not a quiz deck"),
    (b'{"format": "ra-desktop quiz deck", "version": 99, "seed": 1}', "version 99"),
    (b'{"format": "ra-desktop quiz deck", "version": 1, "seed": -1, "difficulty": "x", "cases": []}', '"seed"'),
    (b'{"format": "ra-desktop quiz deck", "version": 1, "seed": 1, "difficulty": "x", "cases": []}', '"cases"'),
    (b'{"format": "ra-desktop quiz deck", "version": 1, "seed": 1, "difficulty": "x", "cases": [{"seed": 1, '
     b'"index": 0, "label": "RA", "severity": 9, "side": "R", "size": 800}]}', 'case 1: "severity"'),
    (b'{"format": "ra-desktop quiz deck", "version": 1, "seed": 1, "difficulty": "x", "cases": [{"seed": 1, '
     b'"index": 0, "label": "Normal", "severity": 0, "side": "R", "size": 99999}]}', 'case 1: "size"'),
])
def test_a_bad_deck_file_names_the_file_and_the_reason(tmp_path, content, reason):
    path = tmp_path / "deck.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DeckFileError) as err:
        load_deck(path)
    assert str(path) in str(err.value) and reason in str(err.value), str(err.value)
    assert content is None or path.read_bytes() == content  # never changed


# ---- feedback and statistics ----------------------------------------------------------------------
def _truth(**grades) -> dict:
    """Right hand, all 0 except ``E_MCP2=2``-style grades ("NA" for not defined)."""
    out = {a.key: 0 for a in hand_areas("R")}
    for name, v in grades.items():
        kind, site = name.split("_", 1)
        out[("R", EROSION if kind == "E" else JSN, site)] = v
    return out


def _e(site):
    return ("R", EROSION, site)


def _n(site):
    return ("R", JSN, site)


CASE1_TRUTH = _truth(E_MCP2=2, E_MCP3=1, N_PIP2=3, N_CMC3=NOT_ASSESSABLE)
CASE1_LEARNER = {_e("MCP2"): 2, _e("MCP3"): 0, _n("PIP2"): 1, _e("MCP1"): 1, _n("CMC3"): 2,
                 _e("lunate"): NOT_ASSESSABLE}
CASE2_TRUTH = _truth(E_PIP2=1)
CASE2_LEARNER = {_e("PIP2"): 1, _e("PIP3"): 0}


def test_feedback_per_area_and_totals():
    fb = case_feedback(CASE1_LEARNER, CASE1_TRUTH)
    by = {a.area.key: a.verdict for a in fb.areas}
    assert len(fb.areas) == 31 and fb.hand == "R"
    assert by[_e("MCP2")] == AGREE and by[_e("MCP3")] == MISSED and by[_n("PIP2")] == UNDER
    assert by[_e("MCP1")] == OVER and by[_n("CMC3")] == NOT_GRADED and by[_e("lunate")] == NOT_SCORED
    assert by[_n("PIP3")] == NOT_SCORED  # unscored, nothing there
    assert case_feedback({}, CASE1_TRUTH).count(MISSED) == 3  # unscored damage is a miss
    # truth 2+1+3 = 6 (CMC3 not graded); learner 2+0+1+1 = 4 (CMC3 left out with its truth)
    assert (fb.truth_total, fb.learner_total, fb.total_difference) == (6, 4, -2)
    assert [m.area.site for m in fb.misses] == ["MCP3"]


def test_session_statistics_by_hand():
    one = session_stats([case_feedback(CASE1_LEARNER, CASE1_TRUTH)])
    # pairs (learner, truth): (2,2) (0,1) (1,3) (1,0); means 1 and 1.5; cov 0.25; var 0.5, 1.25
    # kappa = 2*0.25 / (0.5 + 1.25 + 0.5**2) = 0.25
    assert (one.cases, one.compared) == (1, 4)
    assert one.kappa == pytest.approx(0.25) and one.mad_total == 2 and one.exact_share == 0.25
    two = session_stats([case_feedback(CASE1_LEARNER, CASE1_TRUTH), case_feedback(CASE2_LEARNER, CASE2_TRUTH)])
    # pooled: learner 2,0,1,1,1,0 / truth 2,1,3,0,1,0: means 5/6, 7/6; cov 13/36; var 17/36, 41/36
    # kappa = (26/36) / (17/36 + 41/36 + (2/6)**2) = 26/62
    assert two.compared == 6 and two.kappa == pytest.approx(26 / 62)
    assert two.mad_total == pytest.approx(1.0) and two.exact_share == pytest.approx(0.5)
    assert "2 cases" in two.summary() and "0.42" in two.summary()
    none = session_stats([])
    assert none.kappa is None and none.mad_total is None and "No case" in none.summary()


def test_misses_are_drawn_at_the_phantoms_joints():
    spec = deckmod.CaseSpec(4, 0, "RA", 3, "L", 400)
    case = render_case(spec)
    truth = truth_scores(case.ground_truth)
    fb = case_feedback({}, truth, case.ground_truth)
    missed = {m.area.site for m in fb.misses}
    assert missed and set(fb.miss_positions) == missed
    h, w = case.image.shape
    for site, (x, y) in fb.miss_positions.items():
        assert 0 <= x < w and 0 <= y < h, site
        if site in case.ground_truth["joints"]:  # the phantom's own joint centre, not a template guess
            assert (x, y) == tuple(case.ground_truth["joints"][site]["center"])


# ---- results ---------------------------------------------------------------------------------------
def _session(learner="Dr Ada") -> SessionResult:
    deck = make_deck(2, "standard", 3, 600)
    s = SessionResult(learner, deck)
    s.answer(1, deck.cases[0], CASE1_LEARNER, CASE1_TRUTH)
    s.answer(2, deck.cases[1], CASE2_LEARNER, CASE2_TRUTH)
    return s


def test_a_session_saves_and_loads_and_a_corrupt_file_loses_nothing(tmp_path):
    s = _session()
    path = save_session(s)  # the app's data folder (RA_DESKTOP_HOME in tests)
    tmp_path = path.parent
    assert tmp_path.name == "quiz-results" and str(tmp_path).startswith(os.environ["RA_DESKTOP_HOME"])
    assert save_session(s) == path and len(list(tmp_path.iterdir())) == 1  # its own file, replaced
    back = load_session(path)
    assert back.learner == "Dr Ada" and back.deck == s.deck and back.session_id == s.session_id
    assert [(a.number, a.scores, a.truth) for a in back.answers] == [(a.number, a.scores, a.truth) for a in s.answers]
    assert back.stats() == s.stats()
    assert json.loads(path.read_text())["stats"]["kappa"] == pytest.approx(26 / 62)

    broken = tmp_path / "quiz_20261206T000000_x_deadbeef.json"
    broken.write_bytes(path.read_bytes()[:200])  # truncated
    foreign = tmp_path / "quiz_20261206T000001_y_cafecafe.json"
    foreign.write_text('{"format": "ra-desktop quiz session", "version": 1, "learner": "y", "started": "s", '
                       '"deck": ' + json.dumps(json.loads(path.read_text())["deck"]) +
                       ', "answers": [{"number": 1, "spec": {}, "scores": [], "truth": []}]}')
    sessions, problems = load_sessions()
    assert [x.session_id for x in sessions] == [s.session_id]
    assert sorted(p.path.name for p in problems) == [broken.name, foreign.name]
    assert all(isinstance(p, ResultsFileError) for p in problems)
    assert "not valid JSON" in str(next(p for p in problems if p.path == broken))
    assert broken.stat().st_size == 200  # read, never repaired or removed


def test_csv_one_row_per_case_and_area_spreadsheet_safe():
    s = _session(learner="=HYPERLINK(\"x\")")
    rows = list(csv.reader(io.StringIO(session_csv(s))))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == 1 + 2 * 31
    body = [dict(zip(CSV_COLUMNS, r)) for r in rows[1:]]
    assert all(r["learner"].startswith("'=") for r in body)
    mcp3 = next(r for r in body if r["case"] == "1" and r["kind"] == "erosion" and r["area"] == "MCP 3")
    assert (mcp3["learner_score"], mcp3["truth"], mcp3["verdict"]) == ("0", "1", MISSED)
    cmc3 = next(r for r in body if r["case"] == "1" and r["kind"] == "jsn" and r["area"] == "CMC 3")
    assert (cmc3["learner_score"], cmc3["truth"], cmc3["verdict"]) == ("2", "NA", NOT_GRADED)
    assert {(r["case"], r["case_total_learner"], r["case_total_truth"]) for r in body} == {("1", "4", "6"),
                                                                                          ("2", "1", "1")}


def test_the_session_pdf(tmp_path):
    from pypdf import PdfReader

    from ra_desktop.report.quiz import write_quiz_pdf

    path = write_quiz_pdf(_session(), tmp_path / "quiz.pdf")
    reader = PdfReader(str(path))
    text = reader.pages[0].extract_text()
    assert len(reader.pages) == 1
    for expected in ("Dr Ada", "standard", "seed 2", "0.42", "not patients", "Learner total", "-2"):
        assert expected in text, expected


def test_new_decks_draw_the_shaped_wrist_and_old_deck_files_keep_theirs(tmp_path):
    import json

    from ra_desktop.teaching.deck import load_deck, make_deck, render_case, save_deck

    deck = make_deck(4, "easy", n=2, size=400)
    assert {c.anatomy for c in deck.cases} == {2}
    assert render_case(deck.cases[0]).ground_truth["anatomy"] == 2
    path = save_deck(deck, tmp_path / "deck.json")
    assert load_deck(path) == deck
    data = json.loads(path.read_text())
    for case in data["cases"]:
        del case["anatomy"]  # a deck file written before anatomy 2
    path.write_text(json.dumps(data))
    assert {c.anatomy for c in load_deck(path).cases} == {1}
    data["cases"][0]["anatomy"] = 3
    path.write_text(json.dumps(data))
    with pytest.raises(deckmod.DeckFileError, match="case 1.*anatomy"):
        load_deck(path)

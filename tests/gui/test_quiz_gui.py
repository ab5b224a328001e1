"""The scoring quiz as a learner uses it: score a phantom on the worksheet, submit, see the feedback and
the missed lesions on the image, go on, and find the results saved and exportable."""
from __future__ import annotations

import csv

import pytest
from PySide6.QtCore import Qt

from ra_desktop.scoring.svdh import hand_areas
from ra_desktop.teaching.deck import make_deck, save_deck
from ra_desktop.teaching.quiz import AGREE, MISSED, verdict
from ra_desktop.teaching.results import load_sessions
from ra_desktop.ui import plain
from ra_desktop.ui.quiz_window import VERDICT_COLOURS, open_quiz
from ra_desktop.ui.scoring_panel import score_text

pytestmark = pytest.mark.gui


@pytest.fixture
def quiz(qtbot, monkeypatch):
    shown: list[str] = []
    monkeypatch.setattr(plain, "message", lambda parent, icon, title, text: shown.append(text))
    q = open_quiz(None)
    q.messages = shown
    qtbot.addWidget(q)
    yield q  # qtbot closes it (and the window deletes itself on close)


def _first_ra_seed(n: int = 2) -> int:
    return next(s for s in range(50) if make_deck(s, "easy", n).cases[0].label == "RA")


def test_a_quiz_case_scored_submitted_drawn_saved_and_exported(quiz, qtbot, tmp_path):
    seed = _first_ra_seed()
    qtbot.keyClicks(quiz.learner, "Ada Lovelace")
    quiz.seed.setValue(seed)
    quiz.difficulty.setCurrentIndex(quiz.difficulty.findData("easy"))
    quiz.cases.setValue(2)
    qtbot.mouseClick(quiz.new_button, Qt.MouseButton.LeftButton)
    assert not quiz.loaded  # generated off the GUI thread, not in the click
    qtbot.waitUntil(lambda: quiz.loaded, timeout=20000)
    assert quiz.viewer.radiograph.patient_name is None and quiz.viewer.radiograph.patient_id is None
    assert "Case 1 of 2" in quiz.panel.case_label.text()
    assert quiz.panel.table.isColumnHidden(4)  # no truth before Submit
    assert not quiz.next_button.isEnabled() and quiz.submit_button.isEnabled()

    hand = quiz.deck.cases[0].side
    areas = hand_areas(hand)
    for key in (Qt.Key.Key_2, Qt.Key.Key_0, Qt.Key.Key_0):  # erosion MCP1, MCP2, MCP3
        qtbot.keyClick(quiz.panel.table, key)
    mine = {areas[0].key: 2, areas[1].key: 0, areas[2].key: 0}
    assert quiz.panel.scores() == mine
    qtbot.mouseClick(quiz.submit_button, Qt.MouseButton.LeftButton)

    fb = quiz.feedback
    truth = quiz.truth
    table = quiz.panel.table
    assert fb is not None and not table.isColumnHidden(4)
    for i, a in enumerate(areas):
        assert table.item(i, 4).text() == score_text(truth[a.key])
        expected = VERDICT_COLOURS.get(verdict(mine.get(a.key), truth[a.key]))
        if expected is not None:
            assert table.item(i, 2).background().color() == expected, a.label
    assert fb.count(MISSED) > 0  # severe RA, three areas scored: lesions were missed
    drawn = quiz.viewer.markers.positions()
    assert set(drawn) == set(fb.miss_positions) and drawn
    site, (x, y) = next(iter(fb.miss_positions.items()))
    assert drawn[site] == pytest.approx((x, y))
    label = quiz.viewer.markers.items[site].label.text()  # the truth's grade at the joint, e.g. "MCP3: E2 N3"
    assert any(f"{'E' if m.area.kind == 'erosion' else 'N'}{m.truth}" in label for m in fb.misses if m.area.site == site)
    assert f"your total {fb.learner_total}, truth {fb.truth_total}" in quiz.result_label.text()
    assert quiz.stats_label.text().startswith("1 case")
    qtbot.keyClick(table, Qt.Key.Key_5)  # the answer is in: keys no longer change it
    assert quiz.panel.scores() == mine

    # saved at Submit, in the learner's data folder
    sessions, problems = load_sessions()
    assert not problems and len(sessions) == 1
    saved = sessions[0]
    assert saved.learner == "Ada Lovelace" and saved.deck == quiz.deck
    assert [(a.number, a.scores, a.truth) for a in saved.answers] == [(1, mine, truth)]

    qtbot.mouseClick(quiz.next_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: quiz.loaded, timeout=20000)
    assert "Case 2 of 2" in quiz.panel.case_label.text() and not quiz.viewer.markers.positions()
    assert quiz.panel.table.isColumnHidden(4) and quiz.panel.scores() == {}
    qtbot.mouseClick(quiz.submit_button, Qt.MouseButton.LeftButton)
    assert quiz.stats_label.text().startswith("2 cases") and not quiz.next_button.isEnabled()
    qtbot.mouseClick(quiz.save_button, Qt.MouseButton.LeftButton)
    assert str(quiz.saved_path) in quiz.statusBar().currentMessage()
    assert len(load_sessions()[0][0].answers) == 2

    out_csv = quiz.export_csv(str(tmp_path / "class.csv"))
    rows = list(csv.DictReader(out_csv.open(encoding="utf-8")))
    assert len(rows) == 2 * 31 and {r["learner"] for r in rows} == {"Ada Lovelace"}
    first = next(r for r in rows if r["case"] == "1" and r["kind"] == "erosion" and r["area"] == areas[0].label)
    assert first["learner_score"] == "2" and first["truth"] == str(truth[areas[0].key])
    assert quiz.export_pdf(str(tmp_path / "class.pdf")).read_bytes().startswith(b"%PDF-")


def test_a_deck_file_opens_and_a_bad_one_is_named(quiz, qtbot, tmp_path):
    deck = make_deck(9, "hard", 1, 400)
    deck_file = save_deck(deck, tmp_path / "deck.json")
    assert quiz.open_deck(str(deck_file)) is None and quiz.deck is None  # no learner name yet
    assert "name" in quiz.statusBar().currentMessage()
    qtbot.keyClicks(quiz.learner, "Bo")
    bad = tmp_path / "broken-deck.json"
    bad.write_text('{"format": "ra-desktop quiz deck", "vers')
    assert quiz.open_deck(str(bad)) is None
    assert str(bad) in quiz.messages[-1] and "not valid JSON" in quiz.messages[-1]
    assert quiz.deck is None
    assert quiz.open_deck(str(deck_file)) == deck
    qtbot.waitUntil(lambda: quiz.loaded, timeout=20000)
    assert quiz.viewer.radiograph.pixels.shape[0] == 400 and "Case 1 of 1" in quiz.panel.case_label.text()
    assert quiz.save_deck(str(tmp_path / "again.json")).read_text() == (tmp_path / "deck.json").read_text()
    fb = quiz.submit()
    assert fb is not None and quiz.feedback is fb
    assert fb.count(AGREE) == 0 and fb.learner_total == 0  # nothing scored: nothing agrees
    assert not quiz.submit_button.isEnabled()

"""The self-test's ``teaching`` step: the marker explorer and the scoring quiz, without a window.

Kept beside :mod:`ra_desktop.cli.self_test` (which runs it) so that module stays one screen of steps.
An installation passes only if its teaching tools work as the menus would use them: the phantom
generator, the model's readout of a phantom hand, a quiz case scored, saved, exported as CSV and PDF,
and both windows importable (a frozen app that left a module out fails here, not in a class).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

EXPLORER_SIZE = 480  # the explorer's preview size: the check takes seconds, not a minute


def check(model: Any, tmp: Path) -> str:
    """Run the teaching tools end to end into ``tmp``; a one-line summary, or an exception."""
    # lazy: the generator, fpdf and the Qt windows load when the step runs, not for --help
    from ra_desktop.report.quiz import write_quiz_pdf
    from ra_desktop.scoring.truth import truth_scores
    from ra_desktop.teaching.deck import make_deck, render_case
    from ra_desktop.teaching.explorer import preset_scene, render_pair
    from ra_desktop.teaching.quiz import case_feedback
    from ra_desktop.teaching.readout import model_readout
    from ra_desktop.teaching.results import SessionResult, load_session, save_session, write_csv
    import ra_desktop.ui.explorer_window  # noqa: F401 - in the bundle, as the Teaching menu needs
    import ra_desktop.ui.quiz_window  # noqa: F401

    pair = render_pair(preset_scene("established RA"), EXPLORER_SIZE)
    lesioned, twin = pair.image, pair.twin
    if lesioned.shape != twin.shape or np.array_equal(lesioned, twin):
        raise RuntimeError("the explorer's hand and its healthy twin do not form a pair "
                           f"({lesioned.shape} vs {twin.shape}, identical={np.array_equal(lesioned, twin)})")
    readout = model_readout(model, pair, markers=True)
    if readout.verdict and not readout.marker_changes:
        raise RuntimeError("the model read the explorer's hand but gave no per-marker change")

    deck = make_deck(0, "standard", n=2, size=480)
    case = render_case(deck.cases[0])
    truth = truth_scores(case.ground_truth)
    learner = {key: 0 for key in truth}  # a learner who scores every area normal
    session = SessionResult("self-test", deck)
    session.answer(1, deck.cases[0], learner, truth)
    saved = save_session(session, tmp / "quiz-results")
    if load_session(saved).answers[0].scores != learner:
        raise RuntimeError(f"the quiz session {saved} did not read back what was saved")
    feedback = case_feedback(learner, truth, case.ground_truth)
    csv_path = write_csv(session, tmp / "quiz.csv")
    pdf = write_quiz_pdf(session, tmp / "quiz.pdf")
    if not Path(pdf).read_bytes().startswith(b"%PDF-"):
        raise RuntimeError(f"{pdf} is not a PDF")
    return (f"explorer: {readout.summary()}, {len(readout.marker_changes)} marker bars; "
            f"quiz: case 1 total difference {feedback.total_difference}, saved, "
            f"{Path(csv_path).name} and {Path(pdf).name} written")

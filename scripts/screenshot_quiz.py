"""Screenshots of the scoring quiz after a submitted case (docs/quiz-feedback.png).

Run under a display of at least the largest size, with a throwaway data folder:

    RA_DESKTOP_HOME=$(mktemp -d) xvfb-run -s "-screen 0 1920x1080x24" \
        .venv/bin/python scripts/screenshot_quiz.py OUT_DIR

Writes ``quiz-feedback-<W>x<H>.png`` for 1366x768 and 1920x1080 into OUT_DIR.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from ra_desktop.teaching.deck import make_deck


def main(out: Path) -> None:
    if not os.environ.get("RA_DESKTOP_HOME"):
        sys.exit("set RA_DESKTOP_HOME to a temporary folder: the screenshot saves a quiz session")
    from ra_desktop.app import load_stylesheet
    from ra_desktop.ui.quiz_window import open_quiz

    app = QApplication.instance() or QApplication(sys.argv)
    app.setStyleSheet(load_stylesheet("dark"))
    out.mkdir(parents=True, exist_ok=True)
    seed = next(s for s in range(50) if make_deck(s, "standard", 10).cases[0].label == "RA"
                and make_deck(s, "standard", 10).cases[0].severity == 2)
    for w, h in ((1366, 768), (1920, 1080)):
        quiz = open_quiz(None)
        quiz.setWindowState(Qt.WindowState.WindowNoState)
        quiz.resize(w, h)
        quiz.move(0, 0)
        quiz.learner.setText("Ada Lovelace")
        quiz.seed.setValue(seed)
        quiz.start_new_deck()
        while not quiz.loaded:
            QTest.qWait(50)
        # a learner who finds the MCP erosions but grades some low and skips the wrist
        table = quiz.panel.table
        for key in "1121000010" + "00000":
            QTest.keyClick(table, getattr(Qt.Key, f"Key_{key}"))
        quiz.submit()
        QTest.qWait(300)
        quiz.grab().save(str(out / f"quiz-feedback-{w}x{h}.png"))
        quiz.close()
        QTest.qWait(100)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "."))

"""The scoring quiz: a learner scores a deck of phantoms on the product's one worksheet, case by case.

Each case is generated off the GUI thread (latest wins: a stale case never replaces the one asked
for) and shown in the viewer with no patient field: the phantom has none and the window prints
"Phantom" only. The learner scores with :class:`ScoringPanel` as in a reading; Submit shows the
truth beside each area, colours it by verdict (agree, over, under, missed), draws the missed
lesions on the image at their joints and updates the running statistics. Each submitted case is
saved at once to the learner's session file (nothing lost on a crash); Export writes the CSV or
the one-page PDF. The core is :mod:`ra_desktop.teaching` (deck, quiz, results).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QMainWindow, QMessageBox, QPushButton,
    QSpinBox, QSplitter, QVBoxLayout, QWidget,
)

from ra_desktop.errors import DataError
from ra_desktop.scoring.svdh import EROSION, hand_areas, short_label
from ra_desktop.teaching.deck import DIFFICULTIES, Deck, load_deck, make_deck, render_case, save_deck
from ra_desktop.teaching.quiz import AGREE, MISSED, NOT_GRADED, NOT_SCORED, OVER, UNDER, CaseFeedback, case_feedback
from ra_desktop.teaching.results import SessionResult, save_session, write_csv
from ra_desktop.ui import plain
from ra_desktop.ui.scoring_panel import ScoringPanel, score_text
from ra_desktop.ui.viewer import ViewerWidget
from ra_desktop.values.radiograph import Radiograph
from ra_desktop.worker.task import TaskThread

#: Row colours of the worksheet after Submit (background of the Score and Truth cells).
VERDICT_COLOURS = {AGREE: QColor(40, 110, 60), OVER: QColor(150, 95, 20), UNDER: QColor(120, 110, 30),
                   MISSED: QColor(150, 40, 40)}
_LEGEND = ("After Submit: " + " · ".join(
    f"<span style='color:{VERDICT_COLOURS[v].lighter(150).name()}'>■</span> {text}"
    for v, text in ((AGREE, "agree"), (OVER, "over"), (UNDER, "under"), (MISSED, "missed lesion (drawn on the image)")))
    + " · Truth column: the phantom's grade")
NOTICE = "Synthetic phantoms with known lesions, not patients: teaching, not a clinical assessment."


def _phantom_radiograph(spec, image: np.ndarray) -> Radiograph:
    pixels = np.asarray(image)
    pixels.setflags(write=False)
    # No patient fields: the phantom has none. Its spacing makes the viewer's ruler true.
    return Radiograph(pixels=pixels, source_path=Path("phantom"), format="PNG",
                      case_id=f"quiz-phantom-{spec.seed}-{spec.index}", bits_stored=12,
                      laterality=spec.side, view_position="PA")


class QuizWindow(QMainWindow):
    """One quiz session: a learner, a deck, one case at a time."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Scoring quiz — RA Desktop")
        self.setObjectName("quizWindow")
        self.deck: Deck | None = None
        self.session: SessionResult | None = None
        self.number = 0  # 1-based number of the case on screen, 0 before the first
        self.case = None  # the PhantomCase on screen
        self.truth: dict | None = None
        self.feedback: CaseFeedback | None = None
        self.saved_path: Path | None = None
        self._generation = 0
        self._tasks: list[TaskThread] = []

        self.learner = QLineEdit(placeholderText="Your name (kept with your results on this computer)")
        self.learner.setMaxLength(80)
        self.seed = QSpinBox(minimum=0, maximum=999_999, value=1)
        self.difficulty = QComboBox()
        for i, (name, (about, _)) in enumerate(DIFFICULTIES.items()):
            self.difficulty.addItem(name, name)
            self.difficulty.setItemData(i, about, Qt.ItemDataRole.ToolTipRole)
        self.difficulty.setCurrentIndex(list(DIFFICULTIES).index("standard"))
        self.cases = QSpinBox(minimum=1, maximum=50, value=10)
        self.new_button = QPushButton("New deck")
        self.open_button = QPushButton("Open deck…")
        self.save_deck_button = QPushButton("Save deck…")
        self.new_button.clicked.connect(self.start_new_deck)
        self.open_button.clicked.connect(lambda: self.open_deck())
        self.save_deck_button.clicked.connect(lambda: self.save_deck())

        # One row: the worksheet below needs the height more than these controls need room.
        top = QHBoxLayout()
        self.learner.setMinimumWidth(160)
        self.difficulty.setToolTip("\n".join(f"{n}: {about}" for n, (about, _) in DIFFICULTIES.items()))
        self.seed.setFixedWidth(100)
        self.cases.setFixedWidth(70)
        for label, w, stretch in (("Learner", self.learner, 2), ("Seed", self.seed, 0),
                                  ("Difficulty", self.difficulty, 0), ("Cases", self.cases, 0)):
            top.addWidget(QLabel(label))
            top.addWidget(w, stretch)
        for b in (self.new_button, self.open_button, self.save_deck_button):
            top.addWidget(b)

        self.viewer = ViewerWidget()
        self.viewer.controls.hide()  # no model layers and no ground-truth switch: the truth waits for Submit
        self.viewer.markers.editable = False
        self.panel = ScoringPanel()
        for w in (self.panel.markers_button, self.panel.fit_button, self.panel.show_markers):
            w.hide()  # markers here are the quiz's feedback, not the learner's
        self.panel.hand_changed.connect(lambda _hand: self.colour_rows())  # the table refills on H
        # The area table gets the height on a laptop screen: the learner scores the imaged hand
        # (the case line names it; H still switches) and the learner's name is above.
        self.panel.diagram.setMaximumHeight(150)
        for w in (self.panel.reader_label, self.panel.right, self.panel.left):
            w.hide()
        self.result_label = QLabel("", wordWrap=True, objectName="quizFeedback")
        self.result_label.setTextFormat(Qt.TextFormat.PlainText)
        self.legend = QLabel(_LEGEND, wordWrap=True, objectName="muted")
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.stats_label = QLabel("No case answered yet.", wordWrap=True, objectName="quizStats")
        self.stats_label.setTextFormat(Qt.TextFormat.PlainText)
        self.submit_button = QPushButton("Submit")
        self.next_button = QPushButton("Next case")
        self.submit_button.setDefault(True)
        self.submit_button.clicked.connect(self.submit)
        self.next_button.clicked.connect(self.next_case)
        self.save_button = QPushButton("Save results")
        self.csv_button = QPushButton("Export CSV…")
        self.pdf_button = QPushButton("PDF…")
        self.save_button.clicked.connect(lambda: self.save_results())
        self.csv_button.clicked.connect(lambda: self.export_csv())
        self.pdf_button.clicked.connect(lambda: self.export_pdf())

        side = QWidget(objectName="quizSide")
        side_lay = QVBoxLayout(side)
        side_lay.setContentsMargins(4, 0, 0, 0)
        side_lay.addWidget(self.panel, 1)
        side_lay.addWidget(self.result_label)
        side_lay.addWidget(self.legend)
        row = QHBoxLayout()
        row.addWidget(self.submit_button)
        row.addWidget(self.next_button)
        side_lay.addLayout(row)
        side_lay.addWidget(self.stats_label)
        row = QHBoxLayout()
        for b in (self.save_button, self.csv_button, self.pdf_button):
            row.addWidget(b)
        side_lay.addLayout(row)
        for b in (self.submit_button, self.next_button, self.save_button, self.csv_button, self.pdf_button,
                  self.new_button, self.open_button, self.save_deck_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys belong to the worksheet

        split = QSplitter()
        split.addWidget(self.viewer)
        split.addWidget(side)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 0)
        side.setMinimumWidth(360)
        split.setSizes([900, 420])
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        self.setCentralWidget(central)
        self.statusBar().addPermanentWidget(QLabel(NOTICE, objectName="muted"))
        self.resize(1280, 800)
        self._update_buttons()

    # ---- the deck --------------------------------------------------------------------------------
    def start_new_deck(self) -> None:
        self.start(make_deck(self.seed.value(), self.difficulty.currentData(), self.cases.value()))

    def open_deck(self, path: str | None = None) -> Deck | None:
        """Open a deck file (asked for unless given) and start it; a bad file is named with the reason."""
        path = path or QFileDialog.getOpenFileName(self, "Open a quiz deck", "", "Quiz decks (*.json)")[0]
        if not path:
            return None
        try:
            deck = load_deck(path)
        except DataError as exc:
            plain.message(self, QMessageBox.Icon.Warning, "Quiz deck", str(exc))
            return None
        self.start(deck)
        return deck if self.deck is deck else None  # None: not started (no learner name yet)

    def save_deck(self, path: str | None = None) -> Path | None:
        """Save the deck on screen for a class (no results in it)."""
        if self.deck is None:
            self._status("Start or open a deck first")
            return None
        path = path or QFileDialog.getSaveFileName(self, "Save the quiz deck", f"quiz-deck-{self.deck.difficulty}-"
                                                   f"{self.deck.seed}.json", "Quiz decks (*.json)")[0]
        return self._write(path, lambda p: save_deck(self.deck, p), "Quiz deck", "Deck saved")

    def start(self, deck: Deck) -> None:
        """A new session of ``deck`` for the learner named above (asked for first)."""
        name = self.learner.text().strip()
        if not name:
            self._status("Type your name first: your results are kept under it")
            self.learner.setFocus()
            return
        self.deck, self.session, self.saved_path = deck, SessionResult(name, deck), None
        self.learner.setReadOnly(True)  # one learner per session
        self.stats_label.setText(self.session.stats().summary())
        self.show_case(1)

    # ---- one case ----------------------------------------------------------------------------------
    def show_case(self, number: int) -> TaskThread:
        """Generate case ``number`` (1-based) of the deck off the GUI thread, then show it."""
        assert self.deck is not None
        self._generation += 1
        generation, spec = self._generation, self.deck.cases[number - 1]
        self.number, self.case, self.truth, self.feedback = number, None, None, None
        self.viewer.clear()
        self.panel.clear()
        self.panel.case_label.setText(f"Case {number} of {len(self.deck.cases)} · generating the phantom…")
        self.result_label.setText("")
        self._update_buttons()

        def work(_progress, _token):
            from ra_desktop.scoring.truth import truth_scores

            case = render_case(spec)
            return case, truth_scores(case.ground_truth)

        task = TaskThread(work, self)
        task.succeeded.connect(lambda result: self._shown(generation, spec, *result))
        task.failed.connect(lambda reason: generation == self._generation and self.panel.case_label.setText(
            f"Case {number}: the phantom could not be generated: {reason}"))
        task.finished.connect(lambda: self._tasks.remove(task))
        self._tasks.append(task)
        task.start()
        return task

    def _shown(self, generation: int, spec, case, truth: dict) -> None:
        if generation != self._generation:  # the learner moved on meanwhile
            return
        self.case, self.truth = case, truth
        self.viewer.set_radiograph(_phantom_radiograph(spec, case.image))
        side = "right" if spec.side == "R" else "left"
        self.panel.load(f"Case {self.number} of {len(self.deck.cases)} · phantom, {side} hand",
                        self.session.learner, {}, spec.side)
        self.panel.hint.show()
        self.panel.table.setFocus()
        self._update_buttons()

    @property
    def loaded(self) -> bool:
        return self.case is not None

    def submit(self) -> CaseFeedback | None:
        """Compare the worksheet with the truth; show it, draw the misses, save the session."""
        if not self.loaded or self.feedback is not None:
            return None
        spec = self.deck.cases[self.number - 1]
        scores = self.panel.scores()
        fb = case_feedback(scores, self.truth, self.case.ground_truth)
        self.feedback = fb
        self.session.answer(self.number, spec, scores, self.truth)
        self.panel.enabled_case = False  # the answer is in: keys no longer change it
        self.panel.hint.hide()
        self.panel.set_hand(fb.hand, emit=False)
        self.panel.set_truth(self.truth)
        self.panel.table.setCurrentCell(-1, -1)  # no selection hiding a row's colour
        self.colour_rows()
        self.panel.table.scrollToTop()
        self.viewer.markers.set_markers(
            fb.miss_positions, {site: self._miss_text(fb, site) for site in fb.miss_positions})
        diff = fb.total_difference
        self.result_label.setText(
            f"Case {self.number}: your total {fb.learner_total}, truth {fb.truth_total} "
            f"({'+' if diff > 0 else ''}{diff}) · agree {fb.count(AGREE)} · over {fb.count(OVER)} · "
            f"under {fb.count(UNDER)} · missed {fb.count(MISSED)}"
            + (f" · {fb.count(NOT_SCORED)} left unscored" if fb.count(NOT_SCORED) else "")
            + (f" · {fb.count(NOT_GRADED)} not graded by the phantom" if fb.count(NOT_GRADED) else ""))
        self.stats_label.setText(self.session.stats().summary())
        self.save_results(quiet=True)
        self._update_buttons()
        return fb

    @staticmethod
    def _miss_text(fb: CaseFeedback, site: str) -> str:
        parts = [f"{'E' if a.area.kind == EROSION else 'N'}{a.truth}" for a in fb.misses if a.area.site == site]
        return f"{short_label(site)}: {' '.join(parts)}"  # short: wrist labels sit close together

    def colour_rows(self) -> None:
        """Colour the Score and Truth cells of each area by its verdict (tooltips say it in words)."""
        if self.feedback is None or self.panel.hand != self.feedback.hand:
            return
        verdicts = {a.area.key: a for a in self.feedback.areas}
        for i, a in enumerate(hand_areas(self.panel.hand)):
            fb = verdicts[a.key]
            colour = VERDICT_COLOURS.get(fb.verdict)
            for col in (2, 4):
                item = self.panel.table.item(i, col)
                if item is None:
                    continue
                item.setToolTip(f"{a.label}: yours {score_text(fb.learner)}, truth {score_text(fb.truth)} "
                                f"— {fb.verdict}")
                if colour is not None:
                    item.setBackground(QBrush(colour))
                    item.setForeground(QBrush(QColor(255, 255, 255)))

    def next_case(self) -> None:
        if self.deck is None:
            return
        if self.number >= len(self.deck.cases):
            self._status("That was the last case of the deck: save or export your results")
            return
        self.show_case(self.number + 1)

    # ---- results -------------------------------------------------------------------------------------
    def save_results(self, quiet: bool = False) -> Path | None:
        """Write the session to the learner's results folder (also done after every Submit)."""
        if self.session is None:
            return None
        try:
            self.saved_path = save_session(self.session)
        except OSError as exc:
            plain.message(self, QMessageBox.Icon.Warning, "Quiz results",
                          f"Your results could not be saved: {exc.strerror or exc}")
            return None
        if not quiet:
            self._status(f"Results saved: {self.saved_path}")
        return self.saved_path

    def _export_path(self, path: str | None, caption: str, suffix: str, pattern: str) -> str | None:
        if self.session is None or not self.session.answers:
            self._status("Submit at least one case first")
            return None
        stem = self.session.file_name.removesuffix(".json")
        return path or QFileDialog.getSaveFileName(self, caption, f"{stem}{suffix}", pattern)[0] or None

    def export_csv(self, path: str | None = None) -> Path | None:
        """The session as CSV, one row per case × area."""
        return self._export(path, "Export the quiz results (CSV)", ".csv", "CSV (*.csv)", "CSV", write_csv)

    def export_pdf(self, path: str | None = None) -> Path | None:
        """The session's one-page PDF."""
        from ra_desktop.report.quiz import write_quiz_pdf  # fpdf loads when a page is asked for

        return self._export(path, "The quiz session as a PDF page", ".pdf", "PDF (*.pdf)", "PDF", write_quiz_pdf)

    def _export(self, path: str | None, caption: str, suffix: str, pattern: str, what: str, write) -> Path | None:
        path = self._export_path(path, caption, suffix, pattern)
        return self._write(path, lambda p: write(self.session, p), "Quiz results", f"{what} written")

    def _write(self, path: str | None, write, title: str, done: str) -> Path | None:
        """``write(path)`` for a file the reader named: where it went, or what went wrong, said."""
        if not path:
            return None
        try:
            out = write(path)
        except OSError as exc:
            plain.message(self, QMessageBox.Icon.Warning, title, f"{path}: {exc.strerror or exc}")
            return None
        self._status(f"{done}: {out}")
        return out

    # ---- state ---------------------------------------------------------------------------------------
    def _update_buttons(self) -> None:
        answered = self.feedback is not None
        self.submit_button.setEnabled(self.loaded and not answered)
        self.next_button.setEnabled(answered and self.deck is not None and self.number < len(self.deck.cases))
        has_results = self.session is not None and bool(self.session.answers)
        for b in (self.save_button, self.csv_button, self.pdf_button):
            b.setEnabled(has_results)
        self.save_deck_button.setEnabled(self.deck is not None)
        self.legend.setVisible(answered)

    def _status(self, text: str, ms: int = 10000) -> None:
        self.statusBar().showMessage(text, ms)

    def wait(self) -> None:
        """Let any phantom still being generated finish (closing, tests)."""
        for task in list(self._tasks):
            task.wait()

    def closeEvent(self, event) -> None:  # noqa: N802
        self._generation += 1  # a late phantom is not shown in a closing window
        self.wait()
        super().closeEvent(event)


def open_quiz(window=None) -> QuizWindow:
    """Open a scoring-quiz window (Teaching menu); kept alive by ``window`` while open."""
    quiz = QuizWindow(window)
    quiz.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    quiz.setWindowFlag(Qt.WindowType.Window, True)
    if window is not None:
        window._quiz_window = quiz
    quiz.show()
    return quiz

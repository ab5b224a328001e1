"""Findings: probability against the threshold, label, OOD, regions, model provenance, sign-off."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (
    QButtonGroup, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton,
    QRadioButton, QSizePolicy, QVBoxLayout, QWidget,
)

from ra_desktop.results import NO_VERDICT, no_verdict_reason, probability_texts
from ra_desktop.ui.plain import escape, plain_children, tooltip
from ra_desktop.worklist import CaseRow

NAME_CHARS = 44  # what fits the panel's narrowest width in the header's bold font


def elide_middle(text: str, limit: int) -> str:
    """``text`` at most ``limit`` characters, keeping its start and its (distinguishing) end."""
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2
    return text[:head] + "…" + text[-(limit - 1 - head):]


WITHHELD_REGIONS = "<i>not shown: the model does not apply to this image</i>"
NO_RA_REGIONS = "<i>none: no region pushes the score toward RA (the Grad-CAM map is empty)</i>"


class ProbabilityBar(QWidget):
    """A 0–100 % bar filled to P(RA), with the model's decision threshold marked."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.probability: float | None = None
        self.threshold: float | None = None
        self.setMinimumHeight(34)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_values(self, probability: float | None, threshold: float | None) -> None:
        self.probability, self.threshold = probability, threshold
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        bar = QRectF(1, 4, self.width() - 2, 16)
        p.setPen(QPen(QColor("#56606c")))
        p.setBrush(QColor("#20252b"))
        p.drawRoundedRect(bar, 3, 3)
        if self.probability is not None:
            above = self.threshold is not None and self.probability >= self.threshold
            fill = QRectF(bar.left(), bar.top(), bar.width() * max(0.0, min(1.0, self.probability)), bar.height())
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor("#e05252" if above else "#4fa3d9"))
            p.drawRoundedRect(fill, 3, 3)
        if self.threshold is not None:
            x = bar.left() + bar.width() * self.threshold
            p.setPen(QPen(QColor("#ffffff"), 2))
            p.drawLine(int(x), int(bar.top() - 3), int(x), int(bar.bottom() + 3))
            p.setFont(QFont(self.font().family(), 8))
            # Enough decimals to compare with the shown P(RA); without one, one decimal (99.8, not 100).
            t_text = (probability_texts(self.probability, self.threshold, percent=True, decimals=0)[1]
                      if self.probability is not None else f"{self.threshold * 100:.1f}")
            # Centred under the mark, but kept inside the widget: a 99.8 % threshold sits at the edge.
            left = min(max(x - 60, 0.0), self.width() - 120.0)
            p.drawText(QRectF(left, bar.bottom() + 1, 120, 12), Qt.AlignmentFlag.AlignCenter,
                       f"threshold {t_text}%")
        p.end()


def _ms(v: float) -> str:
    return f"{v / 1000:.1f} s" if v >= 1000 else f"{v:.0f} ms"


class FindingsPanel(QWidget):
    sign_off_requested = Signal(str, str)  # verdict ("agree"/"disagree"), note
    research_requested = Signal()  # "show anyway (research)" on a case the model does not apply to

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("findingsPanel")
        self._row: CaseRow | None = None
        self._no_verdict: str | None = None
        self.research = False
        self.notice = QLabel(objectName="syntheticNotice", wordWrap=True)
        self.notice.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.notice.hide()
        self.model_label = QLabel("No model loaded", wordWrap=True, objectName="muted")
        self.case_label = QLabel("No case open", wordWrap=True, objectName="caseHeader")

        self.bar = ProbabilityBar()
        self.prob_label = QLabel("—", objectName="probability")
        self.label_label = QLabel("", objectName="aiLabel")
        self.ood_label = QLabel("", wordWrap=True)
        self.regions_label = QLabel("", wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.timings_label = QLabel("", wordWrap=True, objectName="muted")
        self.stage_label = QLabel("", objectName="muted", wordWrap=True)
        ai = QGroupBox("AI result (decision support)")
        form = QVBoxLayout(ai)
        row = QHBoxLayout()
        row.addWidget(self.prob_label)
        row.addStretch(1)
        row.addWidget(self.label_label)
        form.addLayout(row)
        form.addWidget(self.bar)
        form.addWidget(self.ood_label)
        self.research_button = QPushButton("Show anyway (research, not a verdict)")
        self.research_button.setToolTip("Show the model's probability, label and maps for this image "
                                        "although the model does not apply to it")
        self.research_button.clicked.connect(self._reveal)
        self.research_button.hide()
        form.addWidget(self.research_button)
        form.addWidget(QLabel("Where the model looked (top regions):", objectName="muted"))
        form.addWidget(self.regions_label)
        form.addWidget(self.stage_label)
        form.addWidget(self.timings_label)

        signoff = QGroupBox("Reader sign-off")
        sl = QFormLayout(signoff)
        self.reader_label = QLabel("")
        self.agree = QRadioButton("Agree with AI")
        self.disagree = QRadioButton("Disagree")
        self.verdicts = QButtonGroup(self)
        self.verdicts.addButton(self.agree)
        self.verdicts.addButton(self.disagree)
        vb = QHBoxLayout()
        vb.addWidget(self.agree)
        vb.addWidget(self.disagree)
        self.note = QPlainTextEdit(placeholderText="Reader's note (optional)")
        self.note.setMaximumHeight(70)
        self.sign_button = QPushButton("Sign off", objectName="primary")
        self.signed_label = QLabel("", wordWrap=True, objectName="muted")
        sl.addRow("Reader", self.reader_label)
        sl.addRow(vb)
        sl.addRow(self.note)
        sl.addRow(self.sign_button)
        sl.addRow(self.signed_label)
        self.sign_button.clicked.connect(self._sign)

        lay = QVBoxLayout(self)
        lay.addWidget(self.notice)
        lay.addWidget(self.case_label)
        lay.addWidget(ai)
        lay.addWidget(signoff)
        lay.addWidget(self.model_label)
        lay.addStretch(1)
        # Names, notes and model text come from files: shown as text. The two rich labels
        # (bold file name, italic hints) escape every value they hold.
        plain_children(self, except_=(self.case_label, self.regions_label))
        self.case_label.setTextFormat(Qt.TextFormat.RichText)
        self.set_reader("")
        self.show_row(None)

    # ---- model / reader --------------------------------------------------------------------------
    def set_model(self, manifest: Any | None, sha256: str = "", device: str = "") -> None:
        if manifest is None:
            self.model_label.setText("No model loaded")
            self.notice.hide()
            return
        self.model_label.setText(
            f"Model: {manifest.name} {manifest.version}  ·  sha256 {sha256[:12] or '?'}  ·  {device}")
        synthetic = bool(getattr(manifest, "synthetic_training_data", False))
        text = getattr(manifest, "notice", "") or ""
        if synthetic and "synthetic" not in text.lower():
            text = ("Trained on synthetic phantoms — not for clinical use. " + text).strip()
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    def summary(self) -> str:
        """One line for reading mode's findings strip: the case, the verdict or why there is none."""
        row = self._row
        if row is None:
            return "No case open"
        parts = [elide_middle(row.file_name, NAME_CHARS), self.prob_label.text(), self.label_label.text()]
        if self.ood_label.text():
            parts.append(self.ood_label.text())
        if self.notice.isVisibleTo(self) and self.notice.text():
            parts.append(self.notice.text().split(".")[0])
        return "   ·   ".join(p for p in parts if p)

    def set_reader(self, name: str) -> None:
        self.reader_label.setText(name or "(set your name in Settings)")

    # ---- case content ----------------------------------------------------------------------------
    @property
    def not_applicable(self) -> bool:
        """True when the model does not apply to this case, research view or not."""
        return self._no_verdict is not None

    @property
    def withheld(self) -> bool:
        """True while this case's AI result is withheld (the model does not apply, no research view)."""
        return self._no_verdict is not None and not self.research

    def show_row(self, row: CaseRow | None) -> None:
        """Fill from the worklist row (what the database knows); live results refine it."""
        if row is None or self._row is None or row.id != self._row.id:
            self.research = False  # the research view is asked for per case, never carried over
        self._row = row
        self.regions_label.setText("")  # never leave the previous case's findings on screen
        self.timings_label.setText("")
        self.stage_label.setText("")
        enabled = row is not None
        self.sign_button.setEnabled(enabled and row.probability is not None)
        self.agree.setEnabled(enabled)
        self.disagree.setEnabled(enabled)
        self.note.setEnabled(enabled)
        if row is None:
            self.case_label.setText("No case open")
            self._set_prediction(None, None, None, None)
            self.signed_label.setText("")
            return
        who = " · ".join(x for x in (row.patient_id, row.laterality, row.view) if x)
        # a long unbroken name would widen the panel past the window: keep both ends, full name on hover
        text = f"<b>{escape(elide_middle(row.file_name, NAME_CHARS))}</b><br>{escape(elide_middle(who, NAME_CHARS))}"
        self.case_label.setToolTip(tooltip(f"{row.path}\n{who}"))
        if row.status == "failed" and row.status_note:
            text += f"<br><span style='color:#ff6b6b'>Failed: {escape(row.status_note)}</span>"
        self.case_label.setText(text)
        self._set_prediction(row.probability, row.threshold, row.label,
                             None if row.ood_flag is None else (row.ood_distance, row.ood_threshold, row.ood_flag))
        self.timings_label.setText(self._timings(row.timings))
        # stored top regions: a batch result shows them before (or without) a live re-analysis
        stored = list(getattr(row, "regions", None) or [])[:5]
        analysed = row.probability is not None
        self.regions_label.setText("<br>".join(f"{escape(n)}: {v:+.2f}" for n, v in stored)
                                   or (NO_RA_REGIONS if analysed else ""))
        if self.withheld:
            self.regions_label.setText(WITHHELD_REGIONS)
        self._show_signoff(row)

    def show_result(self, result: Any, stage: str = "") -> None:
        ood = getattr(result, "ood", None)
        self._set_prediction(result.probability, result.threshold, result.label,
                             None if ood is None else (ood.distance, ood.threshold, not ood.in_distribution))
        regions = list(getattr(result, "regions", None) or [])[:5]
        # An all-zero Grad-CAM is an answer, not a failure: nothing in the image pushes toward RA.
        empty = NO_RA_REGIONS if "gradcam" in (getattr(result, "heatmaps", None) or {}) else "<i>not available</i>"
        self.regions_label.setText("<br>".join(f"{escape(r.name)}: {r.score:+.2f}" for r in regions) or empty)
        if self.withheld:
            self.regions_label.setText(WITHHELD_REGIONS)
        self.timings_label.setText(self._timings(getattr(result, "timings_ms", None) or {}))
        if self._row is not None:
            self.sign_button.setEnabled(not self.withheld)

    def set_stage(self, text: str) -> None:
        self.stage_label.setText(text)

    def _set_prediction(self, p, threshold, label, ood) -> None:
        self._no_verdict = None if ood is None else no_verdict_reason(*ood)
        self.research_button.setVisible(self._no_verdict is not None and not self.research)
        if self.withheld:  # the model does not apply: no number, no bar, no label
            self.bar.set_values(None, None)
            self.prob_label.setText("P(RA): not shown")
            self.label_label.setText(NO_VERDICT)
            self.label_label.setProperty("kind", "none")
            self.ood_label.setText(f"⚠ No verdict: {self._no_verdict}.")
            self.ood_label.setProperty("kind", "warn")
            self._repolish()
            for w in (self.agree, self.disagree, self.sign_button):  # no AI result to agree with
                w.setEnabled(False)
            return
        self.bar.set_values(p, threshold)
        if p is None:
            self.prob_label.setText("P(RA): —")
            self.label_label.setText("not analysed")
            self.label_label.setProperty("kind", "none")
            self.ood_label.setText("")
        else:
            p_text = probability_texts(p, threshold, percent=True, decimals=1)[0] if threshold is not None \
                else f"{p * 100:.1f}"
            research = " (research only, not a verdict)" if self._no_verdict else ""
            self.prob_label.setText(f"P(RA): {p_text}%{research}")
            self.label_label.setText(str(label))
            self.label_label.setProperty("kind", "ra" if label == "RA" else "normal")
            if ood is None:
                self.ood_label.setText("Out-of-distribution check: not available")
                self.ood_label.setProperty("kind", "none")
            else:
                dist, thr, flagged = ood
                if flagged:
                    self.ood_label.setText(f"⚠ OUT OF DISTRIBUTION (distance {dist:.2f} > {thr:.2f}): "
                                           "image unlike the training data, result unreliable")
                else:
                    self.ood_label.setText(f"In distribution (distance {dist:.2f} ≤ {thr:.2f})")
                self.ood_label.setProperty("kind", "warn" if flagged else "ok")
        self._repolish()

    def _repolish(self) -> None:
        for w in (self.label_label, self.ood_label):  # re-polish: QSS depends on the property
            w.style().unpolish(w)
            w.style().polish(w)

    def _reveal(self) -> None:
        self.research = True
        self.research_button.hide()
        self.research_requested.emit()

    @staticmethod
    def _timings(t: dict[str, float]) -> str:
        return "Timings: " + " · ".join(f"{k} {_ms(v)}" for k, v in t.items()) if t else ""

    def _show_signoff(self, row: CaseRow) -> None:
        self.verdicts.setExclusive(False)  # lets us clear both radio buttons
        self.agree.setChecked(row.verdict == "agree")
        self.disagree.setChecked(row.verdict == "disagree")
        self.verdicts.setExclusive(True)
        self.note.setPlainText(row.reader_note or "")
        if row.verdict:
            when = datetime.fromtimestamp(row.signed_at).strftime("%Y-%m-%d %H:%M") if row.signed_at else ""
            self.signed_label.setText(f"Signed off: {row.verdict} by {row.reader or '?'} at {when}")
        else:
            self.signed_label.setText("Not signed off")

    def _sign(self) -> None:
        verdict = "agree" if self.agree.isChecked() else "disagree" if self.disagree.isChecked() else ""
        if not verdict:
            self.signed_label.setText("Choose Agree or Disagree first")
            return
        self.sign_off_requested.emit(verdict, self.note.toPlainText().strip())

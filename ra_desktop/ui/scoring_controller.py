"""The scoring workflow of the open case: worksheet, stored scores, joint markers on the image.

The window tells it which case is open and when its image is shown; it stores every score and
marker as it is made (ScoreBook), writes the audit trail, and keeps the panel and the viewer's
markers in step. The hand on screen is the worksheet's hand.
"""
from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import QObject

from ra_desktop import audit
from ra_desktop.scoring.csvio import ScoresFileError, read_scores_csv, write_scores_csv
from ra_desktop.scoring.progression import progression
from ra_desktop.scoring.svdh import short_label
from ra_desktop.scoring.template import fit_sites, ground_truth_sites
from ra_desktop.scoring.truth import TruthUnavailable, truth_scores
from ra_desktop.ui.compare_window import prior_of
from ra_desktop.ui.scoring_panel import ScoringPanel, score_text
from ra_desktop.worklist import CaseRow
from ra_desktop.worklist.scores import Marker, ScoreBook

_TAGS = (("erosion", "E"), ("jsn", "N"))


def _tagged(tag: str, value) -> str:
    """A marker's score text: "E2", or "E n/a" for not assessable."""
    text = score_text(value)
    return f"{tag} {text}" if text == "n/a" else f"{tag}{text}"


def attention_at(values, markers: dict[str, Marker], radius_fraction: float = 0.025) -> dict[str, float]:
    """Mean of a map (H×W, NaN where unseen) in a disc around each marker: what the model looked
    at near each joint. A disc of 2.5% of the image's long side covers a finger joint."""
    import numpy as np

    values = np.asarray(values, dtype=np.float32)
    h, w = values.shape
    r = max(2, round(radius_fraction * max(h, w)))
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    disc = xx ** 2 + yy ** 2 <= r * r
    out = {}
    for site, m in markers.items():
        x, y = int(round(m.x)), int(round(m.y))
        if not (0 <= x < w and 0 <= y < h):
            continue
        y0, y1, x0, x1 = max(y - r, 0), min(y + r + 1, h), max(x - r, 0), min(x + r + 1, w)
        patch = values[y0:y1, x0:x1][disc[y0 - y + r:y1 - y + r, x0 - x + r:x1 - x + r]]
        patch = patch[np.isfinite(patch)]
        if patch.size:
            out[site] = float(patch.mean())
    return out


class ScoringController(QObject):
    def __init__(self, panel: ScoringPanel, viewer, book: ScoreBook, reader: Callable[[], str],
                 record: Callable[..., None], status: Callable[[str, int], None], parent=None) -> None:
        super().__init__(parent)
        self.panel, self.viewer, self.book = panel, viewer, book
        self._reader, self._record, self._status = reader, record, status
        self.row: CaseRow | None = None
        self.markers_left_out = 0  # by the last export_csv
        self.ground_truth: dict | None = None
        self._gradcam = None
        self.markers = getattr(viewer, "markers", None)  # absent from the fallback viewer
        panel.score_set.connect(self._on_score_set)
        panel.hand_changed.connect(lambda _hand: self.show_markers())
        panel.area_selected.connect(lambda _h, _k, site: self.markers and self.markers.set_selected(site))
        panel.place_markers_toggled.connect(self._on_place_markers)
        panel.show_markers_toggled.connect(lambda on: self.markers and self.markers.set_visible(on))
        panel.fit_requested.connect(self.fit_markers)
        if self.markers is not None:
            self.markers.placed.connect(self._on_marker_placed)
            self.markers.picked.connect(panel.select_site)
        controls = getattr(viewer, "controls", None)
        if controls is not None:  # educator mode: the ground-truth layer's switch
            controls.ground_truth_toggled.connect(self.truth_shown)

    # ---- the open case ---------------------------------------------------------------------------
    def open(self, row: CaseRow) -> None:
        self.row, self.ground_truth, self._gradcam = row, None, None
        scores = self.book.scores(row.id, self._reader())
        scored = sorted({k[0] for k in scores})
        hand = row.laterality if row.laterality in ("L", "R") else (scored[0] if scored else "R")
        who = " · ".join(x for x in (row.patient_id, row.file_name) if x)
        self.panel.load(who, self._reader(), scores, hand)

    def image_shown(self, ground_truth: dict | None) -> None:
        self.ground_truth = ground_truth
        controls = getattr(self.viewer, "controls", None)  # the layer's switch is educator mode
        self.truth_shown(bool(ground_truth) and controls is not None and controls.gt_check.isChecked())
        if ground_truth:
            hand = ground_truth.get("laterality")
            # a phantom saved as PNG has no laterality tag, but its truth knows the hand
            if self.row is not None and self.row.laterality not in ("L", "R") and hand in ("L", "R") \
                    and not self.panel.scores():
                self.panel.set_hand(hand, emit=False)
            self._suggest_from(ground_truth)
        self.show_markers()

    # ---- beside the scores: the model's attention, a phantom's truth --------------------------------
    def model_map(self, gradcam) -> None:
        """The open case's Grad-CAM map (image space), or None where the model does not apply."""
        self._gradcam = gradcam
        self._update_attention()

    def _update_attention(self) -> None:
        self.panel.set_attention(attention_at(self._gradcam, self.hand_markers()) if self._gradcam is not None
                                 else None)

    def truth_shown(self, on: bool) -> None:
        truth = None
        if on and self.ground_truth:
            try:
                truth = truth_scores(self.ground_truth)
            except TruthUnavailable as exc:
                self._status(f"No Sharp/van der Heijde truth for this phantom: {exc}", 8000)
        self.panel.set_truth(truth)

    # ---- scores ------------------------------------------------------------------------------------
    def _on_score_set(self, hand: str, kind: str, site: str, value) -> None:
        if self.row is None:
            return
        try:
            self.book.set_score(self.row.id, self._reader(), hand, kind, site, value)
        except ValueError as exc:  # the panel checks ranges first: say it, keep going
            self._status(f"Score not stored: {exc}", 8000)
            return
        self._record(audit.SCORED, self.row.case_id, hand=hand, kind=kind, site=site, score=value)
        self.show_markers()

    def report_sheet(self, row: CaseRow, rows: list[CaseRow], sdc: float = 0.0):
        """The reader's sheet, markers and progression since the prior study of a case, for its
        report; None when the case is not scored."""
        from ra_desktop.report.model import ScoreSheetData  # pulls fpdf: only for a report

        reader = self._reader()
        scores = self.book.scores(row.id, reader)
        if not scores:
            return None
        markers = {k: (m.x, m.y) for k, m in self.book.markers(row.id, reader).items()}
        text = ""
        prior = prior_of(row, rows)
        if prior is not None and prior.laterality == row.laterality and (prior.study_date or "") < (row.study_date or ""):
            hands = sorted({k[0] for k in scores})
            p = progression(self.book.scores(prior.id, reader), scores, hands, prior.study_date, row.study_date,
                            sdc or None)
            if p.changes:
                # The prior is not named (date, file): the report may be de-identified; the interval says enough.
                text = f"Since the prior study of this hand ({reader}): {p.summary()}. A measurement of change, not a diagnosis."
        return ScoreSheetData(reader, scores, markers, text)

    # ---- CSV for trials: one row per area ---------------------------------------------------------
    def export_csv(self, path: str) -> int:
        """Every reader's sheet and markers of the open case into ``path``; returns the number of readers."""
        if self.row is None:
            return 0
        readers = self.book.readers(self.row.id)
        if not readers or (self._reader() not in readers and self.book.markers(self.row.id, self._reader())):
            readers.append(self._reader())  # the open reader's markers, also before any score
        sheets = {r: self.book.scores(self.row.id, r) for r in readers}
        markers = {r: {k: (m.x, m.y) for k, m in self.book.markers(self.row.id, r).items()} for r in readers}
        # a template fit can put a marker off the image (negative pixels): no site position, and
        # a scores file refuses it, so it is left out and counted (menu_actions says so)
        kept = {r: {k: xy for k, xy in ms.items() if all(math.isfinite(v) and v >= 0 for v in xy)}
                for r, ms in markers.items()}
        self.markers_left_out = sum(len(markers[r]) - len(kept[r]) for r in readers)
        markers = kept
        # a hand only marked (not yet scored) is written too, or its markers would be lost
        keys = [k for s in (*sheets.values(), *markers.values()) for k in s]
        hands = tuple(h for h in ("R", "L") if any(k[0] == h for k in keys)) or (self.panel.hand,)
        write_scores_csv(path, self.row.case_id, sheets, {r: self.book.scored_at(self.row.id, r) for r in readers},
                         hands, markers)
        self._record(audit.EXPORTED, self.row.case_id, kind="scores csv", readers=len(readers),
                     markers=sum(map(len, markers.values())), markers_left_out=self.markers_left_out)
        return len(readers)

    def import_csv(self, path: str) -> list[str]:
        """Readings of the open case from ``path``, each replacing that reader's sheet; returns the
        readers imported. Rows of another case are refused, never stored under this one."""
        if self.row is None:
            return []
        readings = read_scores_csv(path)  # ScoresFileError names the file, line and reason
        other = sorted({r.case_id for r in readings if r.case_id != self.row.case_id})
        if other:
            raise ScoresFileError(path, None, f"holds scores of another case ({', '.join(other)[:200]}); "
                                              f"the open case is {self.row.case_id}")
        for reading in readings:
            self.book.replace_scores(self.row.id, reading.reader, reading.scores)
            self._record(audit.SCORED, self.row.case_id, imported_for=reading.reader, areas=len(reading.scores))
            if reading.markers is not None:  # None: a file from before marker columns keeps the markers
                # "imported", not "reader": the file does not say who placed them, and measuring
                # takes only a reader's own markers as joint positions
                self.book.replace_markers(self.row.id, reading.reader, reading.markers, "imported")
                self._record(audit.MARKED, self.row.case_id, imported_for=reading.reader,
                             markers=len(reading.markers), placed_by="imported")
        self.open(self.row)
        self.show_markers()
        return [r.reader for r in readings]

    # ---- markers -----------------------------------------------------------------------------------
    def hand_markers(self) -> dict[str, Marker]:
        if self.row is None:
            return {}
        return {site: m for (hand, site), m in self.book.markers(self.row.id, self._reader()).items()
                if hand == self.panel.hand}

    def show_markers(self) -> None:
        markers = self.hand_markers()
        self.panel.set_markers(set(markers))
        if self.markers is None:
            return
        scores, hand = self.panel.scores(), self.panel.hand

        def text(site: str) -> str:
            return " ".join([short_label(site)] + [_tagged(tag, scores[(hand, kind, site)]) for kind, tag in _TAGS
                                      if (hand, kind, site) in scores])

        self.markers.set_markers({s: (m.x, m.y) for s, m in markers.items()}, {s: text(s) for s in markers})
        if self._gradcam is not None:
            self._update_attention()
        self.markers.set_selected(self.panel.current.site if self.panel.enabled_case else None)

    def _on_place_markers(self, on: bool) -> None:
        if hasattr(self.viewer, "use_mark_tool"):
            self.viewer.use_mark_tool() if on else self.viewer.use_window_tool()

    def _on_marker_placed(self, site: str, x: float, y: float) -> None:
        self._store_marker(site, x, y, "reader")
        self.show_markers()

    def _store_marker(self, site: str, x: float, y: float, source: str, hand: str | None = None,
                      audited: bool = True) -> None:
        if self.row is None:
            return
        hand = hand or self.panel.hand
        self.book.set_marker(self.row.id, self._reader(), hand, site, x, y, source)
        if audited:
            self._record(audit.MARKED, self.row.case_id, hand=hand, site=site, placed_by=source)

    def fit_markers(self) -> None:
        """Every missing marker from the hand template, fitted to the ones already placed."""
        placed = {s: (m.x, m.y) for s, m in self.hand_markers().items()}
        try:
            fitted = fit_sites(self.panel.hand, placed)
        except ValueError as exc:
            self._status(f"Markers: {exc}", 8000)
            return
        for site, (x, y) in fitted.items():
            if site not in placed:
                self._store_marker(site, x, y, "template")
        self._status(f"{len(fitted) - len(placed)} markers placed from the hand template: drag any that "
                     "are off", 8000)
        self.show_markers()

    def _suggest_from(self, gt: dict) -> None:
        """A phantom knows where its joints are: those markers from its truth, the rest fitted."""
        hand = gt.get("laterality")
        if self.row is None or hand not in ("L", "R") or self.book.markers(self.row.id, self._reader()):
            return
        landmarks = ground_truth_sites(gt)
        if len(landmarks) < 2:
            return
        fitted = fit_sites(hand, landmarks)
        for site, (x, y) in fitted.items():
            self._store_marker(site, x, y, "ground truth" if site in landmarks else "template", hand, audited=False)
        self._record(audit.MARKED, self.row.case_id, hand=hand, placed_by="suggested from the phantom's truth",
                     sites=len(fitted))

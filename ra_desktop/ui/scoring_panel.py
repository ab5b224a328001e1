"""The Sharp/van der Heijde worksheet: a hand diagram and the area table, scored from the keyboard.

One key per area: a digit sets the score and moves to the next area in the standard order
(erosions, then narrowing), so a whole hand is 31 key presses. N (or .) marks an area not
assessable, Delete clears it, Tab/Shift+Tab and the arrow keys move without scoring, H switches
hand, K toggles placing markers on the image. The panel holds what is on screen; the window
stores every change as it is made.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QKeyEvent, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView, QButtonGroup, QCheckBox, QGridLayout, QHBoxLayout, QHeaderView, QLabel, QPushButton, QSizePolicy,
    QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from ra_desktop.scoring.svdh import EROSION, NOT_ASSESSABLE, Area, hand_areas, totals
from ra_desktop.scoring.template import template
from ra_desktop.ui.plain import plain_children

_DIGITS = {getattr(Qt.Key, f"Key_{d}"): d for d in range(10)}
_NEXT = (Qt.Key.Key_Tab, Qt.Key.Key_Down, Qt.Key.Key_Right)
_PREVIOUS = (Qt.Key.Key_Backtab, Qt.Key.Key_Up, Qt.Key.Key_Left)
_NONE_INK = QColor(120, 120, 120)
HINT = "Digits score and move on · N not assessable · Delete clears · Tab/arrows move · H other hand · K markers"
_NA_INK = QColor(150, 150, 210)


def score_text(value) -> str:
    if value is None:
        return "·"
    return "n/a" if value == NOT_ASSESSABLE else str(value)


def _score_colour(value, maximum: int) -> QColor:
    if value is None:
        return _NONE_INK
    if value == NOT_ASSESSABLE:
        return _NA_INK
    t = value / maximum  # 0 green .. max red: damage at a glance, the number is in the table
    return QColor(int(60 + 195 * t), int(200 - 150 * t), 70)


class _AreaTable(QTableWidget):
    """The 31 areas of one hand; keys score and move, as a reader's worksheet."""

    key_score = Signal(object)  # int, NOT_ASSESSABLE or None (clear)
    key_move = Signal(int)  # +1 next, -1 previous
    key_hand = Signal()
    key_markers = Signal()

    _OWN_KEYS = frozenset((*_DIGITS, Qt.Key.Key_N, Qt.Key.Key_Period, Qt.Key.Key_Delete, Qt.Key.Key_Backspace,
                           *_NEXT, *_PREVIOUS, Qt.Key.Key_H, Qt.Key.Key_K))

    def event(self, event) -> bool:  # noqa: D401 - Qt API
        # The viewer's keys work window-wide; while the worksheet has focus its own keys win.
        if event.type() == QEvent.Type.ShortcutOverride and event.key() in self._OWN_KEYS and not (
                event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier & ~Qt.KeyboardModifier.ShiftModifier):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key, mods = event.key(), event.modifiers()
        if mods & ~Qt.KeyboardModifier.KeypadModifier & ~Qt.KeyboardModifier.ShiftModifier:
            super().keyPressEvent(event)  # Ctrl/Alt shortcuts belong to the window
            return
        if key in _DIGITS:
            self.key_score.emit(_DIGITS[key])
        elif key in (Qt.Key.Key_N, Qt.Key.Key_Period):
            self.key_score.emit(NOT_ASSESSABLE)
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.key_score.emit(None)
        elif key in _NEXT:
            self.key_move.emit(+1)
        elif key in _PREVIOUS:
            self.key_move.emit(-1)
        elif key == Qt.Key.Key_H:
            self.key_hand.emit()
        elif key == Qt.Key.Key_K:
            self.key_markers.emit()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def focusNextPrevChild(self, next: bool) -> bool:  # noqa: N802, A002 - Qt's name
        return False  # Tab moves between areas, not out of the worksheet


class HandDiagram(QWidget):
    """A schematic hand: one dot per site, coloured by its worst score; click to select."""

    site_clicked = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setMinimumSize(170, 190)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.hand = "R"
        self.selected: str | None = None
        self.inks: dict[str, QColor] = {}
        self.markers: set[str] = set()

    def _box(self) -> QRectF:
        side = min(self.width(), self.height() * 0.9) - 8
        return QRectF((self.width() - side) / 2, 4, side, side / 0.9)

    def _point(self, xy: tuple[float, float]) -> QPointF:
        box = self._box()
        return QPointF(box.left() + xy[0] * box.width(), box.top() + xy[1] * box.height())

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(self.font())
        font.setPointSizeF(7)
        p.setFont(font)
        r = max(4.0, self._box().width() / 40)
        for site, xy in template(self.hand).items():
            c = self._point(xy)
            p.setPen(QPen(QColor(230, 230, 230) if site in self.markers else QColor(90, 90, 90), 1.2))
            p.setBrush(self.inks.get(site, _NONE_INK))
            p.drawEllipse(c, r, r)
            if site == self.selected:
                p.setPen(QPen(QColor(255, 210, 40), 2.5))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawEllipse(c, r + 4, r + 4)
        p.setPen(QColor(160, 160, 160))
        p.drawText(QRectF(0, 0, self.width() - 4, 14), Qt.AlignmentFlag.AlignRight,
                   "right hand" if self.hand == "R" else "left hand")
        p.end()

    def site_at(self, pos: QPointF) -> str | None:
        best, best_d = None, (self._box().width() / 18) ** 2
        for site, xy in template(self.hand).items():
            c = self._point(xy)
            d = (c.x() - pos.x()) ** 2 + (c.y() - pos.y()) ** 2
            if d < best_d:
                best, best_d = site, d
        return best

    def mousePressEvent(self, event) -> None:  # noqa: N802
        site = self.site_at(event.position())
        if site:
            self.site_clicked.emit(site)


class ScoringPanel(QWidget):
    """Worksheet for one case and one reader. Emits every change; the window stores it."""

    score_set = Signal(str, str, str, object)  # hand, kind, site, value (int, "NA" or None)
    area_selected = Signal(str, str, str)  # hand, kind, site
    hand_changed = Signal(str)
    place_markers_toggled = Signal(bool)
    show_markers_toggled = Signal(bool)
    fit_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("scoringPanel")
        self.hand = "R"
        self._scores: dict[tuple[str, str, str], int | str] = {}
        self._areas: tuple[Area, ...] = hand_areas("R")
        self.enabled_case = False

        self.case_label = QLabel("No case open", wordWrap=True, objectName="caseHeader")
        self.reader_label = QLabel("", objectName="muted")
        self.right = QPushButton("Right hand", checkable=True)
        self.left = QPushButton("Left hand", checkable=True)
        hands = QButtonGroup(self)
        for b in (self.right, self.left):
            hands.addButton(b)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.right.setChecked(True)
        self.right.clicked.connect(lambda: self.set_hand("R"))
        self.left.clicked.connect(lambda: self.set_hand("L"))
        self.diagram = HandDiagram()
        self.diagram.site_clicked.connect(self.select_site)

        self.table = _AreaTable(0, 5)
        self.table.setHorizontalHeaderLabels(["", "Area", "Score", "Attention", "Truth"])
        model_head = self.table.horizontalHeaderItem(3)
        model_head.setToolTip("Where the model looked: its Grad-CAM map near this joint's marker (0–1). "
                              "The model's attention, not a score; shown only where the model applies.")
        self.table.horizontalHeaderItem(4).setToolTip("The phantom's true grade (educator mode)")
        self.table.setColumnHidden(3, True)
        self.table.setColumnHidden(4, True)
        self._attention: dict[str, float] = {}
        self._truth: dict = {}
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for col in (0, 2, 3, 4):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.table.key_score.connect(self.score_current)
        self.table.key_move.connect(self.move)
        self.table.key_hand.connect(lambda: self.set_hand("L" if self.hand == "R" else "R"))
        self.table.key_markers.connect(lambda: self.markers_button.toggle())
        self.table.currentCellChanged.connect(lambda row, *_: self._on_row(row))

        self.markers_button = QPushButton("Place markers (K)", checkable=True)
        self.markers_button.setToolTip("Click the image to put the selected area's marker there; "
                                       "click near a marker to select it, drag to correct it")
        self.markers_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.markers_button.toggled.connect(self.place_markers_toggled)
        self.fit_button = QPushButton("Place the rest")
        self.fit_button.setToolTip("Put every missing marker where the hand template says, fitted to the "
                                   "markers already placed (two or three: MCP2, MCP5, radiocarpal); drag "
                                   "any that are off")
        self.fit_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.fit_button.clicked.connect(self.fit_requested)
        self.show_markers = QCheckBox("Show markers", checked=True)
        self.show_markers.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.show_markers.toggled.connect(self.show_markers_toggled)
        self.totals_label = QLabel("", wordWrap=True)
        self.hint = QLabel(HINT, wordWrap=True, objectName="muted")
        # The column's own label, where a header wide enough for it would squeeze the area names
        self.attention_note = QLabel("Attention: where the model looked near each marker; not a score.",
                                     wordWrap=True, objectName="muted")
        self.attention_note.hide()

        top = QHBoxLayout()
        top.addWidget(self.right)
        top.addWidget(self.left)
        # Two rows: the side panel stays as narrow as the findings beside the image.
        marks = QGridLayout()
        marks.addWidget(self.show_markers, 0, 0)
        marks.addWidget(self.markers_button, 0, 1)
        marks.addWidget(self.fit_button, 1, 1)
        lay = QVBoxLayout(self)
        lay.addWidget(self.case_label)
        lay.addWidget(self.reader_label)
        lay.addLayout(top)
        lay.addWidget(self.diagram)
        lay.addWidget(self.totals_label)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.attention_note)
        lay.addLayout(marks)
        lay.addWidget(self.hint)
        plain_children(self)  # case names come from files
        self.clear()

    # ---- loading -------------------------------------------------------------------------------
    def clear(self) -> None:
        self.enabled_case = False
        self._attention, self._truth = {}, {}
        self.case_label.setText("No case open")
        self._scores = {}
        self.table.setEnabled(False)
        self._fill()

    def load(self, case_text: str, reader: str, scores: dict, hand: str = "R",
             markers: set[str] | None = None) -> None:
        """Show one case's worksheet for ``reader``; ``hand`` is the one on the image (R if unknown)."""
        self.enabled_case = True
        self._attention, self._truth = {}, {}
        self.table.setColumnHidden(3, True)
        self.table.setColumnHidden(4, True)
        self.case_label.setText(case_text)
        self.reader_label.setText(f"Reader: {reader}")
        self._scores = dict(scores)
        self.diagram.markers = set(markers or ())
        self.table.setEnabled(True)
        self.set_hand(hand if hand in ("R", "L") else "R", emit=False)

    def set_attention(self, attention: dict[str, float] | None) -> None:
        """The model's map summary per site (None: the model does not apply, or no map yet)."""
        self._attention = dict(attention or {})
        self.table.setColumnHidden(3, not self._attention)
        self.attention_note.setVisible(bool(self._attention))
        self._fill_side_columns()

    def set_truth(self, truth: dict | None) -> None:
        """A phantom's true grades beside the reader's (educator mode); None hides the column."""
        self._truth = dict(truth or {})
        self.table.setColumnHidden(4, not self._truth)
        self._fill_side_columns()

    def _fill_side_columns(self) -> None:
        for i, a in enumerate(self._areas):
            att = self._attention.get(a.site)
            item = QTableWidgetItem("" if att is None else f"{att:.2f}")
            item.setForeground(QColor(150, 170, 200))
            self.table.setItem(i, 3, item)
            self.table.setItem(i, 4, QTableWidgetItem(score_text(self._truth[a.key]) if a.key in self._truth else ""))

    def set_markers(self, sites: set[str]) -> None:
        self.diagram.markers = set(sites)
        self.diagram.update()

    # ---- hand and selection -----------------------------------------------------------------------
    def set_hand(self, hand: str, emit: bool = True) -> None:
        self.hand = hand
        (self.right if hand == "R" else self.left).setChecked(True)
        self.diagram.hand = hand
        self._areas = hand_areas(hand)
        self._fill()
        first_unscored = next((i for i, a in enumerate(self._areas) if a.key not in self._scores), 0)
        self.table.setCurrentCell(first_unscored, 2)
        if emit:
            self.hand_changed.emit(hand)

    @property
    def current(self) -> Area:
        return self._areas[max(self.table.currentRow(), 0)]

    def select(self, kind: str, site: str) -> None:
        for i, a in enumerate(self._areas):
            if a.kind == kind and a.site == site:
                self.table.setCurrentCell(i, 2)
                return

    def select_site(self, site: str) -> None:
        """A click on a joint: its area of the kind being scored, else of the other kind."""
        kinds = [self.current.kind] + [k for k in ("erosion", "jsn") if k != self.current.kind]
        for kind in kinds:
            if any(a.kind == kind and a.site == site for a in self._areas):
                self.select(kind, site)
                return

    def move(self, step: int) -> None:
        row = min(max(self.table.currentRow() + step, 0), len(self._areas) - 1)
        self.table.setCurrentCell(row, 2)

    def _on_row(self, row: int) -> None:
        if 0 <= row < len(self._areas):
            a = self._areas[row]
            self.diagram.selected = a.site
            self.diagram.update()
            self.area_selected.emit(a.hand, a.kind, a.site)

    # ---- scoring -------------------------------------------------------------------------------
    def score_current(self, value) -> None:
        if not self.enabled_case:
            return
        a = self.current
        if isinstance(value, int) and value > a.max:
            kind = "erosion" if a.kind == EROSION else "narrowing"
            self.hint.setText(f"{a.label} {kind} is scored 0–{a.max}; {value} not accepted")
            return
        self.hint.setText(HINT)
        if value is None:
            self._scores.pop(a.key, None)
        else:
            self._scores[a.key] = value
        self.score_set.emit(a.hand, a.kind, a.site, value)
        self._update_row(self.table.currentRow())
        self._update_totals()
        if value is not None:
            self.move(+1)

    def scores(self) -> dict:
        return dict(self._scores)

    # ---- drawing -------------------------------------------------------------------------------
    def _fill(self) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(len(self._areas))
        for i, a in enumerate(self._areas):
            first = i == 0 or self._areas[i - 1].kind != a.kind
            kind = ("Erosion 0–5" if a.kind == EROSION else "Narrowing 0–4") if first else ""
            self.table.setItem(i, 0, QTableWidgetItem(kind))
            self.table.setItem(i, 1, QTableWidgetItem(a.label))
            self._update_row(i)
        self._fill_side_columns()
        self.table.blockSignals(False)
        self._update_totals()

    def _update_row(self, i: int) -> None:
        a = self._areas[i]
        value = self._scores.get(a.key)
        item = QTableWidgetItem(score_text(value))
        item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
        item.setForeground(_score_colour(value, a.max))
        self.table.setItem(i, 2, item)
        worst = {}
        for b in self._areas:
            v = self._scores.get(b.key)
            rank = -1 if v is None else (-0.5 if v == NOT_ASSESSABLE else v / b.max)
            if rank > worst.get(b.site, (-2, None))[0]:
                worst[b.site] = (rank, _score_colour(v, b.max))
        self.diagram.inks = {s: c for s, (_, c) in worst.items()}
        self.diagram.update()

    def _update_totals(self) -> None:
        t = totals(self._scores, [self.hand])
        side = "Right" if self.hand == "R" else "Left"
        lines = [f"{side} hand: erosion {t.erosion}/{t.erosion_max} · narrowing {t.jsn}/{t.jsn_max} · "
                 f"total {t.total}/{t.total_max}"
                 + (f" · {t.not_assessable} not assessable" if t.not_assessable else "")
                 + (f" · {t.unscored} to score" if t.unscored else " · complete")]
        hands = sorted({k[0] for k in self._scores} | {self.hand})
        if len(hands) == 2:
            s = totals(self._scores, hands)
            lines.append(f"Study (both hands): erosion {s.erosion}/{s.erosion_max} · narrowing "
                         f"{s.jsn}/{s.jsn_max} · total {s.total}/{s.total_max}")
        self.totals_label.setText("\n".join(lines))

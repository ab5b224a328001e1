"""The worklist table: QAbstractTableModel over WorklistStore rows + filter proxy + search bar."""
from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import (
    QAbstractTableModel, QModelIndex, QPoint, QSortFilterProxyModel, Qt, QTimer, Signal,
)
from PySide6.QtGui import QBrush, QColor, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QStyledItemDelegate, QHBoxLayout, QHeaderView, QLineEdit, QTableView, QVBoxLayout, QWidget,
)

from ra_desktop.results import NO_VERDICT, probability_texts
from ra_desktop.ui.plain import tooltip
from ra_desktop.worklist import ANALYSING, FAILED, QUEUED, STATUSES, CaseRow

# Status is last so it takes the spare width: a failure reason is the longest text in a row.
COLUMNS = ("Patient ID", "Date", "Side", "File", "AI result", "Reader", "Status")
COL_PATIENT, COL_DATE, COL_SIDE, COL_FILE, COL_RESULT, COL_READER, COL_STATUS = range(len(COLUMNS))
ROW_ID_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2

RESULT_FILTERS = ("Any result", "RA", "Normal", "Out of distribution", "Not analysed")
_RED, _AMBER, _GREEN, _GREY = QColor("#ff6b6b"), QColor("#f0b429"), QColor("#5cc98a"), QColor("#8a93a0")


def _date(d: str | None) -> str:
    return f"{d[:4]}-{d[4:6]}-{d[6:8]}" if d and len(d) == 8 and d.isdigit() else (d or "—")


def result_text(r: CaseRow) -> str:
    if r.probability is None:
        return "—"
    if r.ood_flag:  # the model does not apply: no label, no number
        return f"{NO_VERDICT} (OOD)"
    # Whole percent unless that hides the comparison: 0.9981 against a 0.9977 threshold is 99.81%,
    # not a "100%" that reads as certainty.
    pct = (probability_texts(r.probability, r.threshold, percent=True, decimals=0)[0]
           if r.threshold is not None else f"{r.probability * 100:.0f}")
    text = f"{r.label}  {pct}%"
    return text


def status_text(r: CaseRow) -> str:
    if r.status == FAILED and r.status_note:
        return f"failed: {r.status_note}"
    return r.status


def reader_text(r: CaseRow) -> str:
    return f"{r.verdict} · {r.reader or 'reader'}" if r.verdict else ""


def reader_tooltip(r: CaseRow) -> str | None:
    if not r.verdict:
        return None
    when = datetime.fromtimestamp(r.signed_at).strftime("%Y-%m-%d %H:%M") if r.signed_at else "?"
    return f"{r.verdict} by {r.reader or 'reader'} at {when}" + (f"\n{r.reader_note}" if r.reader_note else "")


class WorklistModel(QAbstractTableModel):
    # Around each update_row: the panel keeps the reader's place while the proxy re-sorts.
    row_updating = Signal()
    row_updated = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[CaseRow] = []
        self._index: dict[int, int] = {}  # row id -> position
        self._timeline: dict[int, tuple[int, int]] | None = None  # row id -> (k, n) of its patient
        self._in_flight: set[int] = set()  # rows queued or being analysed (a batch is running)

    def in_flight(self) -> bool:
        """Whether any row is queued or being analysed: results are still to arrive."""
        return bool(self._in_flight)

    def _track(self, row: CaseRow) -> None:
        if row.status in (QUEUED, ANALYSING):
            self._in_flight.add(row.id)
        else:
            self._in_flight.discard(row.id)

    def timeline(self, row: CaseRow) -> tuple[int, int]:
        """(k, n): this is the patient's k-th study of n in the worklist, by study date."""
        if self._timeline is None:
            by_patient: dict[str, list[CaseRow]] = {}
            for r in self._rows:
                if r.patient_id:
                    by_patient.setdefault(r.patient_id, []).append(r)
            self._timeline = {}
            for studies in by_patient.values():
                studies.sort(key=lambda r: (r.study_date or "", r.id))
                for k, r in enumerate(studies, 1):
                    self._timeline[r.id] = (k, len(studies))
        return self._timeline.get(row.id, (1, 1))

    # ---- data ------------------------------------------------------------------------------------
    def set_rows(self, rows: list[CaseRow]) -> None:
        self.beginResetModel()
        self._timeline = None
        self._rows = list(rows)
        self._index = {r.id: i for i, r in enumerate(self._rows)}
        self._in_flight = set()
        for r in self._rows:
            self._track(r)
        self.endResetModel()

    def add_rows(self, rows: list[CaseRow]) -> None:
        rows = [r for r in rows if r.id not in self._index]
        if not rows:
            return
        first = len(self._rows)
        self._timeline = None
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        for r in rows:
            self._index[r.id] = len(self._rows)
            self._rows.append(r)
            self._track(r)
        self.endInsertRows()

    def update_row(self, row: CaseRow) -> None:
        pos = self._index.get(row.id)
        if pos is None:
            self.add_rows([row])
            return
        old = self._rows[pos]
        if (old.patient_id, old.study_date) != (row.patient_id, row.study_date):
            self._timeline = None
        self._track(row)
        self.row_updating.emit()
        self._rows[pos] = row
        self.dataChanged.emit(self.index(pos, 0), self.index(pos, len(COLUMNS) - 1))
        self.row_updated.emit()

    def row(self, row_id: int) -> CaseRow | None:
        pos = self._index.get(row_id)
        return None if pos is None else self._rows[pos]

    def rows(self) -> list[CaseRow]:
        return list(self._rows)

    def row_at(self, pos: int) -> CaseRow:
        return self._rows[pos]

    # ---- Qt model API ----------------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r, col = self._rows[index.row()], index.column()
        if role == ROW_ID_ROLE:
            return r.id
        if role == Qt.ItemDataRole.DisplayRole:
            k, n = self.timeline(r)
            return (r.patient_id or "—", _date(r.study_date) + (f" · {k}/{n}" if n > 1 else ""),
                    " ".join(x for x in (r.laterality, r.view) if x) or "—", r.file_name,
                    result_text(r), reader_text(r), status_text(r))[col]
        if role == SORT_ROLE:
            if col == COL_RESULT:
                return -1.0 if r.probability is None or r.ood_flag else r.probability
            if col == COL_STATUS:
                return STATUSES.index(r.status)
            if col == COL_PATIENT:  # each patient's studies together, oldest first: a timeline
                return f"{(r.patient_id or chr(0x10FFFF)).lower()}\x00{r.study_date or ''}\x00{r.id:09d}"
            return self.data(index).lower()
        if role == Qt.ItemDataRole.ToolTipRole:  # paths, notes and names from files: literal
            if col == COL_FILE:
                return tooltip(r.path)
            if col == COL_DATE and self.timeline(r)[1] > 1:
                k, n = self.timeline(r)
                return f"Study {k} of {n} of this patient here (by date); C opens it beside its prior"
            if col == COL_STATUS and r.status_note:
                return tooltip(r.status_note)
            if col == COL_READER:
                return tooltip(reader_tooltip(r))
            if col == COL_RESULT and r.ood_flag:
                return "No verdict: the model does not apply to this image (unlike its training data)"
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == COL_STATUS and r.status == FAILED:
                return QBrush(_RED)
            if col == COL_RESULT and r.probability is not None:
                return QBrush(_AMBER if r.ood_flag else (_RED if r.label == "RA" else _GREEN))
            if col == COL_STATUS and r.status == "reviewed":
                return QBrush(_GREEN)
            if r.probability is None and col == COL_RESULT:
                return QBrush(_GREY)
        return None


class WorklistFilter(QSortFilterProxyModel):
    """Status filter, result filter and free-text search (patient ID or file name)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.status = ""  # "" = any
        self.result = RESULT_FILTERS[0]
        self.text = ""
        self.setSortRole(SORT_ROLE)

    def set_filters(self, status: str | None = None, result: str | None = None, text: str | None = None) -> None:
        # beginFilterChange/endFilterChange (Qt >= 6.10) replace the deprecated invalidateFilter
        self.beginFilterChange()
        if status is not None:
            self.status = status
        if result is not None:
            self.result = result
        if text is not None:
            self.text = text.strip().lower()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row, source_parent) -> bool:  # noqa: N802 - Qt API
        r = self.sourceModel().row_at(source_row)
        if self.status and r.status != self.status:
            return False
        res = self.result
        if res == "RA" and (r.label != "RA" or r.ood_flag):  # no verdict is neither RA nor normal
            return False
        if res == "Normal" and (r.label is None or r.label == "RA" or r.ood_flag):
            return False
        if res == "Out of distribution" and not r.ood_flag:
            return False
        if res == "Not analysed" and r.probability is not None:
            return False
        if self.text and self.text not in (r.patient_id or "").lower() and self.text not in r.file_name.lower():
            return False
        return True


class _ElideMiddle(QStyledItemDelegate):
    """IDs and file names differ at their ends (…0000-4, …04.dcm): keep both ends visible."""

    def initStyleOption(self, option, index) -> None:  # noqa: N802 - Qt API
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideMiddle


class _Table(QTableView):
    activated_row = Signal()
    compare_row = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.activated_row.emit()
            return
        if event.key() == Qt.Key.Key_C and not event.modifiers():
            self.compare_row.emit()  # one key: this study beside its prior
            return
        if event.key() in (Qt.Key.Key_Home, Qt.Key.Key_End) and self.model() is not None and self.model().rowCount():
            # first/last case, as in any list (Qt's own Home/End move along the row's cells)
            row = 0 if event.key() == Qt.Key.Key_Home else self.model().rowCount() - 1
            index = self.model().index(row, max(self.currentIndex().column(), 0))
            self.setCurrentIndex(index)
            self.scrollTo(index)
            return
        super().keyPressEvent(event)


class WorklistPanel(QWidget):
    """Emits ``case_selected(row_id)`` when the reader settles on a row (arrow keys are
    debounced so holding ↓ does not queue an analysis per row) or presses Enter/double-clicks."""

    case_selected = Signal(int)
    compare_requested = Signal(int)  # C on a row: open it beside the patient's prior study

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.model = WorklistModel(self)
        self.proxy = WorklistFilter(self)
        self.proxy.setSourceModel(self.model)
        self.search = QLineEdit(placeholderText="Search patient ID or file name…", clearButtonEnabled=True)
        self.status_filter = QComboBox()
        self.status_filter.addItems(["Any status", *STATUSES])
        self.result_filter = QComboBox()
        self.result_filter.addItems(RESULT_FILTERS)
        bar = QHBoxLayout()
        bar.addWidget(self.search, 1)
        bar.addWidget(self.status_filter)
        bar.addWidget(self.result_filter)
        self.table = _Table()
        self.table.setObjectName("worklistTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # keep the order files were added
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        # Tab and Shift+Tab leave the table (search > filters > table > image > side panel), never
        # walk its cells, which changed the selected row and so the open case.
        self.table.setTabKeyNavigation(False)
        self.setTabOrder(self.search, self.status_filter)
        self.setTabOrder(self.status_filter, self.result_filter)
        self.setTabOrder(self.result_filter, self.table)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setStretchLastSection(True)
        self._elide_middle = _ElideMiddle(self.table)
        for col in (COL_PATIENT, COL_FILE):
            self.table.setItemDelegateForColumn(col, self._elide_middle)
        for col, width in ((COL_PATIENT, 102), (COL_DATE, 90), (COL_SIDE, 44), (COL_FILE, 108),
                           (COL_RESULT, 92), (COL_READER, 84)):
            self.table.setColumnWidth(col, width)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addWidget(self.table)

        self._debounce = QTimer(self, singleShot=True, interval=150)
        self._debounce.timeout.connect(self._emit_current)
        self._keeping_place = False  # True while an update moves rows: no selection is the reader's
        self._place: tuple[int | None, int | None, int | None] = (None, None, None)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_changed)
        self.model.row_updating.connect(self._before_update)
        self.model.row_updated.connect(self._after_update)
        self.table.activated_row.connect(self._emit_now)
        self.table.compare_row.connect(
            lambda: self.current_row_id() is not None and self.compare_requested.emit(self.current_row_id()))
        self.table.doubleClicked.connect(lambda *_: self._emit_now())
        self.search.textChanged.connect(lambda t: self.proxy.set_filters(text=t))
        self.status_filter.currentIndexChanged.connect(
            lambda i: self.proxy.set_filters(status="" if i == 0 else STATUSES[i - 1]))
        self.result_filter.currentTextChanged.connect(lambda t: self.proxy.set_filters(result=t))
        self._last_emitted: int | None = None

    def current_row_id(self) -> int | None:
        idx = self.table.currentIndex()
        return None if not idx.isValid() else int(idx.data(ROW_ID_ROLE))

    # ---- results arriving: the reader's place stays -------------------------------------------
    # While a batch runs (any row queued or analysing) the order is held: the proxy does not re-sort
    # or re-filter as each result lands, so no row moves under the reader. When the last result is
    # in, the list is sorted and filtered once, the selected case kept and left where it was on
    # screen. A single update outside a batch re-sorts at once, with the same care. The case a
    # row move leaves "current" is never opened: only the reader opens cases.
    def _on_current_changed(self, *_) -> None:
        if not self._keeping_place:
            self._debounce.start()

    def _before_update(self) -> None:
        self._keeping_place = True
        t = self.table
        top = t.indexAt(QPoint(1, 1))
        current = self.current_row_id()
        rect = t.visualRect(t.currentIndex()) if current is not None else None
        in_view = rect is not None and rect.isValid() and 0 <= rect.top() < t.viewport().height()
        self._place = (current, rect.top() if in_view else None,
                       int(top.data(ROW_ID_ROLE)) if top.isValid() else None)
        if self.model.in_flight() and self.proxy.dynamicSortFilter():
            self.proxy.setDynamicSortFilter(False)  # a batch began: hold the order until it ends

    def _after_update(self) -> None:
        try:
            if not self.model.in_flight() and not self.proxy.dynamicSortFilter():
                self.proxy.setDynamicSortFilter(True)
                self.proxy.invalidate()  # the batch is over: sort and filter once
            self._restore_place()
        finally:
            self._keeping_place = False

    def _proxy_row(self, row_id: int | None) -> int | None:
        if row_id is None:
            return None
        pos = self.model._index.get(row_id)
        if pos is None:
            return None
        idx = self.proxy.mapFromSource(self.model.index(pos, 0))
        return idx.row() if idx.isValid() else None

    def _restore_place(self) -> None:
        current, y, top = self._place
        t = self.table
        row = self._proxy_row(current)
        if current is not None:
            if row is None:  # filtered out: select nothing rather than a case the reader did not pick
                t.selectionModel().clear()
                return
            idx = self.proxy.index(row, 0)
            if t.currentIndex().row() != row or not t.selectionModel().isRowSelected(row, idx.parent()):
                t.setCurrentIndex(idx)
        bar = t.verticalScrollBar()
        if row is not None and y is not None:  # the selected case stays at its height on screen
            step = max(t.verticalHeader().defaultSectionSize(), 1) \
                if t.verticalScrollMode() == QAbstractItemView.ScrollMode.ScrollPerItem else 1
            for _ in range(3):  # settles in one step; a clamped scroll bar stops it early
                delta = t.visualRect(t.currentIndex()).top() - y
                if abs(delta) < step:
                    break
                before = bar.value()
                bar.setValue(before + round(delta / step))
                if bar.value() == before:
                    break
        elif (top_row := self._proxy_row(top)) is not None:  # else the same case at the top
            t.scrollTo(self.proxy.index(top_row, 0), QAbstractItemView.ScrollHint.PositionAtTop)

    def select_row(self, row_id: int) -> bool:
        for r in range(self.proxy.rowCount()):
            idx = self.proxy.index(r, 0)
            if idx.data(ROW_ID_ROLE) == row_id:
                self.table.setCurrentIndex(idx)
                self.table.scrollTo(idx)
                return True
        return False

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def step(self, step: int) -> None:
        """Open the next (1) or previous (-1) row in the table's order, as Enter would."""
        n = self.proxy.rowCount()
        if not n:
            return
        cur = self.table.currentIndex()
        row = 0 if not cur.isValid() else min(max(cur.row() + step, 0), n - 1)
        self.table.setCurrentIndex(self.proxy.index(row, 0))
        self.table.scrollTo(self.proxy.index(row, 0))
        self._emit_now()

    def visible_row_ids(self) -> list[int]:
        return [int(self.proxy.index(r, 0).data(ROW_ID_ROLE)) for r in range(self.proxy.rowCount())]

    def _emit_current(self) -> None:
        rid = self.current_row_id()
        if rid is not None and rid != self._last_emitted:
            self._last_emitted = rid
            self.case_selected.emit(rid)

    def _emit_now(self) -> None:
        self._debounce.stop()
        rid = self.current_row_id()
        if rid is not None:
            self._last_emitted = rid
            self.case_selected.emit(rid)

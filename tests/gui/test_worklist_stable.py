"""Results arriving during "Analyse all" do not move the reader's place (issue #23: with a sort
active the rows reordered live and the selected row jumped)."""
from __future__ import annotations

import random
from dataclasses import replace

import pytest
from PySide6.QtCore import QPoint, Qt

from ra_desktop.ui.worklist_panel import COL_RESULT, ROW_ID_ROLE, SORT_ROLE, WorklistPanel
from ra_desktop.worklist.store import ANALYSING, DONE, NEW, QUEUED, CaseRow

pytestmark = pytest.mark.gui


def _rows(n: int = 60) -> list[CaseRow]:
    rng = random.Random(7)
    rows = []
    for i in range(1, n + 1):
        if i % 2:  # every other case already has a result
            p = rng.random()
            rows.append(CaseRow(id=i, case_id=f"c{i}", path=f"/x/case_{i:03d}.png", status=DONE, probability=p,
                                threshold=0.5, label="RA" if p >= 0.5 else "normal"))
        else:
            rows.append(CaseRow(id=i, case_id=f"c{i}", path=f"/x/case_{i:03d}.png"))
    return rows


def _panel(qtbot) -> WorklistPanel:
    panel = WorklistPanel()
    qtbot.addWidget(panel)
    panel.resize(700, 320)  # about a dozen rows in view of 60
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def _place(panel: WorklistPanel) -> tuple[int | None, int, int | None]:
    """(selected case, its y in the viewport, case at the top of the viewport)."""
    t = panel.table
    top = t.indexAt(QPoint(1, 1))
    return panel.current_row_id(), t.visualRect(t.currentIndex()).top(), top.data(ROW_ID_ROLE) if top.isValid() else None


def _in_view(panel: WorklistPanel) -> bool:
    t = panel.table
    rect = t.visualRect(t.currentIndex())
    return rect.isValid() and rect.top() >= 0 and rect.bottom() <= t.viewport().height()


def _sorted_ids(panel: WorklistPanel) -> bool:
    keys = [panel.proxy.index(r, COL_RESULT).data(SORT_ROLE) for r in range(panel.proxy.rowCount())]
    return keys == sorted(keys, reverse=True)


def _open_middle_case(panel, qtbot) -> int:
    panel.table.sortByColumn(COL_RESULT, Qt.SortOrder.DescendingOrder)
    # The reader opens a done case in the middle of the list, scrolled a little down.
    target = panel.proxy.index(20, 0).data(ROW_ID_ROLE)
    panel.select_row(target)
    panel.table.verticalScrollBar().setValue(panel.table.verticalScrollBar().value() + 2)
    panel._emit_now()
    qtbot.wait(200)  # past the selection debounce
    assert panel.current_row_id() == target and _in_view(panel)
    return target


def test_results_arriving_under_a_sort_keep_the_selected_case_and_its_place(qtbot):
    panel = _panel(qtbot)
    rows = _rows()
    panel.model.set_rows(rows)
    target = _open_middle_case(panel, qtbot)
    opened: list[int] = []
    panel.case_selected.connect(opened.append)
    before = _place(panel)

    rng = random.Random(3)
    todo = [r for r in rows if r.status == NEW]
    for r in todo:  # Analyse all: every case without a result is queued...
        panel.model.update_row(replace(r, status=QUEUED))
    assert _place(panel) == before
    for r in todo:  # ...then analysed one by one, many of them scoring above the open case
        panel.model.update_row(replace(r, status=ANALYSING))
        p = rng.random()
        panel.model.update_row(replace(r, status=DONE, probability=p, threshold=0.5,
                                       label="RA" if p >= 0.5 else "normal"))
        qtbot.wait(1)
        if r is not todo[-1]:  # results still to come
            assert _place(panel) == before, "the selected row or the viewport moved while results arrived"
        assert _in_view(panel)
    # The batch is over: the list is sorted again, the open case still selected, in view, where it was.
    qtbot.wait(200)
    assert _sorted_ids(panel)
    assert panel.current_row_id() == target and _in_view(panel)
    assert _place(panel)[1] == before[1]
    assert opened == []  # the open case never changed


def test_a_result_filter_does_not_change_the_open_case_when_the_batch_ends(qtbot):
    panel = _panel(qtbot)
    rows = _rows()
    panel.model.set_rows(rows)
    panel.table.sortByColumn(COL_RESULT, Qt.SortOrder.DescendingOrder)
    panel.result_filter.setCurrentText("Not analysed")
    target = panel.proxy.index(5, 0).data(ROW_ID_ROLE)
    panel.select_row(target)
    panel._emit_now()
    qtbot.wait(200)
    opened: list[int] = []
    panel.case_selected.connect(opened.append)
    todo = [r for r in rows if r.status == NEW]
    for r in todo:
        panel.model.update_row(replace(r, status=QUEUED))
    for r in todo:
        panel.model.update_row(replace(r, status=DONE, probability=0.7, threshold=0.5, label="RA"))
        if r is not todo[-1]:
            assert panel.current_row_id() == target  # held while the batch runs
    qtbot.wait(200)
    assert panel.proxy.rowCount() == 0  # now every case has a result: the filter shows none
    assert panel.current_row_id() is None  # nothing selected in its place...
    assert opened == []  # ...and no other case opened


def test_a_single_result_outside_a_batch_keeps_the_selection_in_view(qtbot):
    panel = _panel(qtbot)
    rows = _rows()
    panel.model.set_rows(rows)
    target = _open_middle_case(panel, qtbot)
    opened: list[int] = []
    panel.case_selected.connect(opened.append)
    y = _place(panel)[1]
    for r in [r for r in rows if r.status == NEW][:10]:  # e.g. a result from another reader's session
        panel.model.update_row(replace(r, status=DONE, probability=0.99, threshold=0.5, label="RA"))
        assert panel.current_row_id() == target and _place(panel)[1] == y
    qtbot.wait(200)
    assert _sorted_ids(panel) and opened == []

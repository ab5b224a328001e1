"""Thumbnails of the patient's other studies under the findings (issue 23): shown only when there
are some, newest first, and a click opens that study beside the current one."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.gui.conftest import wait_rows
from tests.io_fixtures import write_dicom

pytestmark = pytest.mark.gui


def test_other_studies_appear_and_open_beside_the_current(make_window, tmp_path, qtbot):
    rng = np.random.default_rng(2)
    for name, pid, date in (("old", "P-5", "20210301"), ("older", "P-5", "20190301"), ("now", "P-5", "20240301"),
                            ("alone", "P-9", "20240301")):
        write_dicom(tmp_path / f"{name}.dcm", rng.integers(0, 4000, (200, 160)).astype(np.uint16),
                    PatientID=pid, StudyDate=date, ImageLaterality="R")
    w = make_window(None, wait_model=False)
    w.add_paths([str(tmp_path)])
    wait_rows(qtbot, w, 4)
    rows = {r.file_name: r for r in w.worklist.model.rows()}

    w.open_case(rows["alone.dcm"].id)
    assert not w.other_studies.isVisibleTo(w)  # nobody else of P-9

    w.open_case(rows["now.dcm"].id)
    strip = w.other_studies
    assert strip.isVisibleTo(w) and strip.list.count() == 2
    assert [strip.list.item(i).text().split("\n")[0] for i in range(2)] == ["2021-03-01", "2019-03-01"]
    qtbot.waitUntil(lambda: not strip.list.item(0).icon().isNull(), timeout=10000)  # thumbnails off-thread
    rect = strip.list.visualItemRect(strip.list.item(1))
    qtbot.mouseClick(strip.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    win = w._compare_windows[-1]
    assert (win.left.row.id, win.right.row.id) == (rows["older.dcm"].id, rows["now.dcm"].id)
    win.close()

"""A sender that reuses a SOP Instance UID for another image: shown, flagged, never analysed."""
from __future__ import annotations

import numpy as np
import pytest

from ra_desktop.worklist import DONE, FAILED, is_conflict
from tests.gui.conftest import wait_rows
from tests.io_fixtures import write_dicom

pytestmark = pytest.mark.gui

UID = "1.2.826.0.1.3680043.8.498.77"


def test_reused_uid_is_flagged_and_left_out_of_analysis(make_window, tiny_model_dir, tmp_path, qtbot):
    rng = np.random.default_rng(0)
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
        write_dicom(tmp_path / name / "hand.dcm", rng.integers(0, 4000, (96, 80)).astype(np.uint16),
                    SOPInstanceUID=UID)
    w = make_window(tiny_model_dir)
    w.add_paths([str(tmp_path / "first")])
    wait_rows(qtbot, w, 1)
    w.add_paths([str(tmp_path / "second")])
    wait_rows(qtbot, w, 2)
    rows = sorted(w.store.rows(), key=lambda r: r.id)
    assert rows[0].case_id == UID and is_conflict(rows[1].case_id) and rows[1].status == FAILED

    with qtbot.waitSignal(w.jobs.batch_finished, timeout=60000) as sig:
        w.analyse_all()
    assert sig.args[0].done == 1  # only the first image
    first, second = (w.store.get(r.id) for r in rows)
    assert first.status == DONE and second.probability is None and second.status == FAILED

    w.worklist.select_row(second.id)
    w.worklist._emit_now()
    qtbot.waitUntil(lambda: "Image only" in w.findings.stage_label.text(), timeout=10000)
    assert w.viewer.radiograph is not None
    qtbot.wait(300)  # an analysis, had one started, would land within this on the tiny model
    assert w.store.get(second.id).probability is None and w.current_result is None

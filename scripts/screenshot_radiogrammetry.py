"""Screenshot of the Radiogrammetry tab and its layer (docs/screenshot-radiogrammetry.png).

Two joint-space phantom DICOM studies of one patient's right hand (0.18 mm spacing): the earlier
is measured first, so the later shows its change since then. Runs under Xvfb like
scripts/screenshots.py: ``xvfb-run -a -s "-screen 0 1920x1080x24" python scripts/screenshot_radiogrammetry.py``.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    home = Path(tempfile.mkdtemp(prefix="ra-rg-shot-"))
    os.environ["RA_DESKTOP_HOME"] = str(home)  # a fresh worklist and settings, never the user's
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    from PySide6.QtWidgets import QApplication

    from ra_desktop.app import create_window, load_stylesheet
    from ra_desktop.phantom.generate import case_rng, generate_case
    from ra_desktop.phantom.writer import write_case
    from ra_desktop.settings import Settings
    from tests.tiny_model import make_tiny_model_folder

    data = home / "studies"
    for index in (0, 1):
        case = generate_case(case_rng(531000, index), "RA" if index else "Normal", 2 if index else 0, "R", 1600,
                             joint_spaces=True)
        write_case(data, case, 531000, index, formats=("dcm",), patient="P-DEMO-7")
    app = QApplication.instance() or QApplication([])
    app.setStyleSheet(load_stylesheet("dark"))

    def spin(cond, timeout=120.0):
        t0 = time.monotonic()
        while not cond():
            app.processEvents()
            time.sleep(0.01)
            if time.monotonic() - t0 > timeout:
                raise TimeoutError("waited too long")

    w = create_window(Settings(reader_name="Dr A. Reader", model_dir=str(make_tiny_model_folder(home / "model"))))
    w.resize(1860, 1020)
    w.show()
    w.start_services()
    spin(lambda: w.jobs.has_model or not w.banner.isHidden())
    w.add_paths([str(data)])
    spin(lambda: w.worklist.model.rowCount() == 2 and not w._scans)
    ctl = w.radiogrammetry
    w.side_tabs.setCurrentWidget(ctl.scroll)
    for row in sorted(w.worklist.model.rows(), key=lambda r: r.study_date):
        w.worklist.select_row(row.id)
        w.worklist._emit_now()
        spin(lambda r=row: ctl.row is not None and ctl.row.id == r.id and ctl.hand is not None, timeout=60)
    w.splitter.setSizes([330, 900, 630])
    ctl.panel.select_bone("MC3")
    # the measurement layer alone: no model map, no phantom truth, no joint markers
    w.viewer.set_layer_visible("gradcam", False)
    w.viewer.controls.gt_check.setChecked(False)
    w.viewer.markers.set_visible(False)
    from PySide6.QtCore import QPointF

    b, j = ctl.hand.bones["MC3"], ctl.hand.joints["MCP3"]
    (x0, y0), (x1, y1) = b.region
    w.viewer.view.set_zoom(0.95)
    w.viewer.view.center_on(QPointF((x0 + x1) / 2 * 0.5 + j.centre[0] * 0.5, (y0 + y1) / 2 * 0.5 + j.centre[1] * 0.5))
    t0 = time.monotonic()
    while time.monotonic() - t0 < 1.0:
        app.processEvents()
        time.sleep(0.01)
    out = ROOT / "docs" / "screenshot-radiogrammetry.png"
    w.grab().save(str(out))
    print("saved", out, "open:", ctl.open_seconds)
    w.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

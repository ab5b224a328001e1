"""Screenshot of the reader's annotations (docs/screenshot-annotations.png): an angle at an MCP
joint (ulnar deviation), a rectangular and an elliptical ROI with mean/SD/area, an arrow and a text,
drawn through the viewer's annotation tool as a reader's clicks would, on a demo DICOM study.

Runs under Xvfb: ``xvfb-run -a -s "-screen 0 1366x768x24" python scripts/screenshot_annotations.py``
(QT_QPA_PLATFORM=xcb). A fresh user folder: never the user's worklist.
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
    home = Path(tempfile.mkdtemp(prefix="ra-annot-shot-"))
    os.environ["RA_DESKTOP_HOME"] = str(home)
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    from PySide6.QtCore import QPointF
    from PySide6.QtWidgets import QApplication

    from ra_desktop import paths
    from ra_desktop.app import create_window, load_stylesheet
    from ra_desktop.settings import Settings

    app = QApplication.instance() or QApplication([])
    app.setStyleSheet(load_stylesheet("dark"))

    def spin(cond, timeout=120.0):
        t0 = time.monotonic()
        while not cond():
            app.processEvents()
            time.sleep(0.01)
            if time.monotonic() - t0 > timeout:
                raise TimeoutError("waited too long")

    from tests.tiny_model import make_tiny_model_folder

    w = create_window(Settings(reader_name="Dr A. Reader", model_dir=str(make_tiny_model_folder(home / "model"))))
    w.show()
    w.start_services()
    spin(lambda: w.jobs.has_model or not w.banner.isHidden())
    w.add_paths([str(paths.demo_dir() / "RA" / "phantom_900000_000004.dcm")])
    spin(lambda: w.worklist.model.rowCount() == 1 and not w._scans)
    row = w.worklist.model.rows()[0]
    w.worklist.select_row(row.id)
    w.worklist._emit_now()
    spin(lambda: w.annotations.row is not None and w.viewer.radiograph is not None)
    spin(lambda: w.current_result is not None and not w.findings.stage_label.text())  # the analysis is done
    v, layer = w.viewer, w.viewer.annotations
    gt = w.score_sheet.ground_truth or {}
    joints = {k: tuple(j["center"]) for k, j in (gt.get("joints") or {}).items()}
    h, wd = v.radiograph.pixels.shape
    mcp = joints.get("MCP2", (wd * 0.35, h * 0.45))
    pip = joints.get("PIP2", (mcp[0] - wd * 0.03, mcp[1] - h * 0.12))
    mcp3 = joints.get("MCP3", (wd * 0.45, h * 0.42))
    layer.ask_text = lambda parent, current: "erosion? compare with prior"

    def clicks(kind, *points, drag=False):
        v.use_annotation_tool(kind)
        if drag:
            a, b = points
            layer.on_point(QPointF(*a), "start")
            layer.on_point(QPointF(*b), "move")
            layer.on_point(QPointF(*b), "end")
            return
        for p in points:
            layer.on_point(QPointF(*p), "start")
            layer.on_point(QPointF(*p), "end")

    import math

    # the metacarpal's axis, turned 12 degrees off the finger's: an ulnar deviation to measure
    dx, dy, t = mcp[0] - pip[0], mcp[1] - pip[1], math.radians(12)
    base = (mcp[0] + 1.3 * (dx * math.cos(t) - dy * math.sin(t)), mcp[1] + 1.3 * (dx * math.sin(t) + dy * math.cos(t)))
    clicks("angle", base, mcp, pip)
    s = wd * 0.04
    clicks("roi_rect", (mcp3[0] - s * 0.4, mcp3[1] + s * 1.6), (mcp3[0] + s * 0.5, mcp3[1] + s * 3.2), drag=True)
    clicks("roi_ellipse", (mcp[0] - 120, mcp[1] + 70), (mcp[0] - 55, mcp[1] + 170), drag=True)  # soft tissue
    clicks("arrow", (mcp[0] - s * 4.0, mcp[1] - s * 1.2), (mcp[0] - s * 0.6, mcp[1] - s * 0.2), drag=True)
    clicks("text", (mcp[0] - s * 8.5, mcp[1] - s * 1.6))
    layer.select(layer.items[1])  # the rectangle selected: its handles show
    v.controls.gt_check.setChecked(False)
    v.set_layer_visible("gradcam", False)
    if v.seen_item() is not None:
        v.seen_item().setVisible(False)
    v.view.set_zoom(0.62)
    v.view.center_on(QPointF(mcp[0] + s * 1.5, mcp[1] + s * 3))
    v.markers.set_visible(False)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 1.0:
        app.processEvents()
        time.sleep(0.01)
    out = ROOT / "docs" / "screenshot-annotations.png"
    w.grab().save(str(out))
    print("saved", out, [(i.kind, i.label.text()) for i in layer.items])
    w.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

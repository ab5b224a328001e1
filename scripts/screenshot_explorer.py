"""Screenshots of the marker explorer (docs/explorer.png, docs/explorer-presentation.png).

Run under a display of at least the largest size, with a throwaway data folder:

    RA_DESKTOP_HOME=$(mktemp -d) xvfb-run -s "-screen 0 1920x1080x24" \\
        .venv/bin/python scripts/screenshot_explorer.py OUT_DIR [DOCS_DIR]

Writes ``explorer-<W>x<H>.png`` for 1366x768 and 1920x1080 (the established-RA preset, Grad-CAM on,
the per-marker chart complete) and ``explorer-presentation-1920x1080.png`` (presentation mode on
the same hand) into OUT_DIR; with DOCS_DIR, the 1920x1080 two as ``explorer.png`` and
``explorer-presentation.png`` there, quantised to 256 colours (octree, no dither: the heat map keeps
its colours) to stay under 400 KB. The bundled demo model runs on a lane of its own, as in the bench.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from PySide6.QtWidgets import QApplication


def _wait(app, cond, timeout_s: float = 120.0) -> None:
    end = time.perf_counter() + timeout_s
    while not cond():
        if time.perf_counter() > end:
            raise TimeoutError("the explorer did not settle")
        app.processEvents()
        time.sleep(0.01)
    for _ in range(100):  # let layout and the last paint happen
        app.processEvents()
        time.sleep(0.01)


def main(out: Path) -> None:
    if not os.environ.get("RA_DESKTOP_HOME"):
        sys.exit("set RA_DESKTOP_HOME to a temporary folder")
    from ra_desktop.app import load_stylesheet
    from ra_desktop.model import load_model
    from ra_desktop.paths import default_model_dir
    from ra_desktop.teaching.lane import ModelLane
    from ra_desktop.ui.explorer_window import ExplorerWindow

    app = QApplication.instance() or QApplication(sys.argv)
    app.setStyleSheet(load_stylesheet("dark"))
    out.mkdir(parents=True, exist_ok=True)
    lane = ModelLane(load_model(default_model_dir(), "cpu"))

    def settled(w) -> bool:
        ro = w.readout
        return (w.shown is not None and w.shown.size == w.full_size and w.shown.scene == w.scene
                and ro is not None and ro[0] is w.shown and bool(w.bars.rows()))

    for width, height in ((1366, 768), (1920, 1080)):
        w = ExplorerWindow(lane)
        w.resize(width, height)
        w.move(0, 0)
        w.show()
        w.apply_preset("established RA")
        w.select_joint("MCP2")
        _wait(app, lambda w=w: settled(w))
        w.grab().save(str(out / f"explorer-{width}x{height}.png"))
        if width == 1920:
            w.enter_presentation()
            w.setGeometry(0, 0, width, height)  # no window manager under xvfb to size it
            w.go_to(2)
            _wait(app, lambda w=w: settled(w))
            w.grab().save(str(out / f"explorer-presentation-{width}x{height}.png"))
            w.leave_presentation()
        w.close()
    lane.shutdown()


def for_docs(out: Path, docs: Path) -> None:
    from PIL import Image

    for src, dst in (("explorer-1920x1080.png", "explorer.png"),
                     ("explorer-presentation-1920x1080.png", "explorer-presentation.png")):
        image = Image.open(out / src).convert("RGB")
        image.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(docs / dst, optimize=True)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "."))
    if len(sys.argv) > 2:
        for_docs(Path(sys.argv[1]), Path(sys.argv[2]))

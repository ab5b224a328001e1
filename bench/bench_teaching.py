"""The marker explorer, measured through its window as a teacher uses it (issue 21).

One slider move at a time at MCP2 (osteopenia and erosion alternately, each to a level not used
before, so every move is a new hand and nothing comes from the window's remembered readouts), from
the slider's new value to: the preview on screen (goal 1 s), the full-size image on screen
(includes the window's rest delay, ``settle_ms``, that tells "still moving" from "stopped"), the
demo model's P(RA) and Grad-CAM, and its per-marker bars (one render and network input per marker
set); and the preview again for a move made while the model is still reading the last hand.
Medians of ``repeats`` moves, after one untimed; offscreen Qt, the bundled model on its own lane
(the main window uses its inference lane instead), CPU.
"""
from __future__ import annotations

import time

from bench._common import load, row

SETTLE_MS = 300


def run(repeats: int = 5) -> list[dict]:
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from ra_desktop.teaching.explorer import FULL_SIZE, PREVIEW_SIZE
    from ra_desktop.teaching.lane import ModelLane
    from ra_desktop.ui.explorer_window import ExplorerWindow

    app = QApplication.instance() or QApplication([])
    model, note = load()
    lane = ModelLane(model)
    w = ExplorerWindow(lane, settle_ms=SETTLE_MS)
    w.resize(1366, 768)
    w.show()

    def until(cond, timeout_s: float = 60.0) -> float:
        end = time.perf_counter() + timeout_s
        while not cond():
            if time.perf_counter() > end:
                raise TimeoutError("the explorer did not update in time")
            app.processEvents()
            time.sleep(0.002)
        return time.perf_counter()

    def readout_of_shown(bars: bool) -> bool:
        ro = w.readout
        return ro is not None and ro[0] is w.shown and (not bars or bool(w.bars.rows()))

    until(lambda: w.shown is not None and w.shown.size == FULL_SIZE and readout_of_shown(False))
    w.select_joint("MCP2")
    times: dict[str, list[float]] = {"preview": [], "full": [], "p": [], "bars": []}
    for i in range(repeats + 1):
        marker = ("osteopenia", "erosion")[i % 2]
        level = 0.5 + 0.2 * i  # never a level used before: each move is a new hand (no remembered readout)
        t0 = time.perf_counter()
        w.set_level(marker, level)
        scene = w.scene
        t_prev = until(lambda: w.shown is not None and w.shown.scene == scene)
        t_full = until(lambda: w.shown.scene == scene and w.shown.size == FULL_SIZE)
        t_p = until(lambda: readout_of_shown(False))
        t_bars = until(lambda: readout_of_shown(True))
        if i:  # the first move is untimed (warm-up)
            for k, t in (("preview", t_prev), ("full", t_full), ("p", t_p), ("bars", t_bars)):
                times[k].append((t - t0) * 1000.0)
    # The same move while the model is still reading the last hand (both compete for the CPU).
    busy: list[float] = []
    for i in range(repeats):
        w.set_level("swelling", 1.0 + 0.1 * i)
        until(lambda: w.shown.scene == w.scene and w.shown.size == FULL_SIZE)  # its readout starts now
        t0 = time.perf_counter()
        w.set_level("swelling", 2.0 + 0.1 * i)
        scene = w.scene
        busy.append((until(lambda: w.shown.scene == scene) - t0) * 1000.0)
        until(lambda: w.shown.size == FULL_SIZE and readout_of_shown(True))
    w.close()
    lane.shutdown()
    setup = f"{note}, CPU, preview {PREVIEW_SIZE} px, full {FULL_SIZE} px"
    preview_ok = sorted(times["preview"])[len(times["preview"]) // 2] <= 1000.0
    return [
        row("teaching", "slider -> preview image", None, "ms", samples=times["preview"], goal="<= 1000 ms",
            ok=preview_ok, note=setup),
        row("teaching", "slider -> preview, model busy", None, "ms", samples=busy, goal="<= 1000 ms",
            ok=sorted(busy)[len(busy) // 2] <= 1000.0, note="moved while the model reads the last hand"),
        row("teaching", "slider -> full image", None, "ms", samples=times["full"],
            note=f"includes the {SETTLE_MS} ms rest that ends a slider move"),
        row("teaching", "slider -> P(RA) + Grad-CAM", None, "ms", samples=times["p"], note=setup),
        row("teaching", "slider -> per-marker bars", None, "ms", samples=times["bars"],
            note="one render + one network input per marker set (2 here)"),
    ]

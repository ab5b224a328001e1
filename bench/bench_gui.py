"""GUI responsiveness during a batch: the longest event-loop stall (goal < 50 ms).

A QTimer ticks every 5 ms on the GUI thread and records the largest gap between ticks, first
while the window is idle (baseline, same run, same machine) and then while "Analyse all" runs
the model on a folder of generated radiographs (and while the folder is scanned). The ratio to
the idle baseline says how much the work costs the reader, independent of machine speed.

``python -m bench.bench_gui`` prints the rows; ``run()`` returns them for ``python -m bench``.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

GOAL_MS = 50.0
TICK_MS = 5


class _StallMeter:
    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.reset()

    def reset(self) -> None:
        self.last = time.perf_counter()
        self.max_gap_ms = 0.0
        self.gaps: list[float] = []

    def _tick(self) -> None:
        now = time.perf_counter()
        gap = (now - self.last) * 1000.0
        self.last = now
        self.gaps.append(gap)
        self.max_gap_ms = max(self.max_gap_ms, gap)

    def p99(self) -> float:
        if not self.gaps:
            return 0.0
        g = sorted(self.gaps)
        return g[min(len(g) - 1, int(0.99 * len(g)))]


def _images(folder: Path, n: int, size: tuple[int, int]) -> None:
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    for i in range(n):
        img = 9000 + 28000 * np.exp(-((yy - h / 2) ** 2 + (xx - w / 2) ** 2) / (2 * (h / 5) ** 2))
        Image.fromarray((img + rng.normal(0, 900, img.shape)).clip(0, 65535).astype(np.uint16)).save(
            folder / f"bench_{i:03d}.png")
    (folder / "broken.png").write_bytes(b"not an image")


def run(n_images: int = 16, size: tuple[int, int] = (1024, 820), explanations: tuple[str, ...] = ("gradcam",)) -> list[dict]:
    home = Path(tempfile.mkdtemp(prefix="ra-bench-gui-"))
    old_home = os.environ.get("RA_DESKTOP_HOME")
    os.environ["RA_DESKTOP_HOME"] = str(home)  # a throw-away worklist, never the user's
    try:
        return _run(home, n_images, size, explanations)
    finally:
        if old_home is None:
            os.environ.pop("RA_DESKTOP_HOME", None)
        else:
            os.environ["RA_DESKTOP_HOME"] = old_home
        shutil.rmtree(home, ignore_errors=True)


def _run(home: Path, n_images: int, size: tuple[int, int], explanations: tuple[str, ...]) -> list[dict]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    root = Path(__file__).resolve().parent.parent
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from PySide6.QtWidgets import QApplication

    from ra_desktop import paths
    from ra_desktop.app import create_window
    from ra_desktop.settings import Settings

    app = QApplication.instance() or QApplication([])
    model_dir = paths.default_model_dir()
    model_note = "bundled model"
    if not (model_dir / "manifest.json").exists():
        from tests.tiny_model import make_tiny_model_folder

        model_dir, model_note = make_tiny_model_folder(home / "model"), "tiny random test model (VGG8)"
    folder = home / "images"
    _images(folder, n_images, size)

    def spin(cond, timeout=900.0):
        t0 = time.monotonic()
        while not cond():
            app.processEvents()
            time.sleep(0.001)
            if time.monotonic() - t0 > timeout:
                raise TimeoutError("benchmark step timed out")

    w = create_window(Settings(model_dir=str(model_dir), explanations=explanations,
                               batch_explanations=explanations))
    w.resize(1400, 900)
    w.show()
    w.start_services()
    spin(lambda: w.jobs.has_model)

    # Each phase runs inside a real event loop (the meter needs one). A local QEventLoop, not
    # app.exec(): QGuiApplication.quit() first tries to close every window, which is not wanted.
    meter = _StallMeter()

    def phase(start, done, min_s=0.0):
        from PySide6.QtCore import QEventLoop, QTimer

        t0 = time.perf_counter()
        meter.reset()
        meter.timer.start()
        start()
        poll, loop = QTimer(), QEventLoop()

        def check() -> None:
            if done() and time.perf_counter() - t0 >= min_s:
                loop.quit()

        poll.timeout.connect(check)
        poll.start(20)
        loop.exec()
        poll.stop()
        meter.timer.stop()
        return time.perf_counter() - t0, meter.max_gap_ms, meter.p99()

    phase(lambda: None, lambda: True, min_s=0.5)  # warm-up: first paint and layout of the window
    _, idle_max, idle_p99 = phase(lambda: None, lambda: True, min_s=2.0)
    # adding the folder also opens its first case (viewer + Grad-CAM): wait for that too
    scan_s, scan_max, _ = phase(lambda: w.add_paths([str(folder)]),
                                lambda: w.worklist.model.rowCount() >= n_images + 1 and not w._scans
                                and w.current_result is not None and not w.findings.stage_label.text())
    batch_s, batch_max, batch_p99 = phase(w.analyse_all, lambda: not w.jobs.batch_running)
    last = w.worklist.model.rows()[n_images - 1]
    open_s, open_max, _ = phase(lambda: (w.worklist.select_row(last.id), w.worklist._emit_now()),
                                lambda: w.current_result is not None and w.current_row_id == last.id
                                and not w.findings.stage_label.text())
    done = sum(1 for r in w.store.rows() if r.probability is not None)
    failed = sum(1 for r in w.store.rows() if r.status == "failed")
    w.close()

    setup = f"{n_images} PNG {size[0]}x{size[1]} 16-bit + 1 broken; {model_note}; explanations={','.join(explanations)}"

    def row(metric, value, unit, goal=None, note=""):
        return {"bench": "gui", "metric": metric, "value": round(value, 2), "unit": unit,
                "goal": goal, "ok": None if goal is None else value < goal, "note": note or setup}

    return [
        row("idle_max_stall_ms", idle_max, "ms", note="baseline: window idle for 2 s"),
        row("scan_max_stall_ms", scan_max, "ms", GOAL_MS,
            f"adding the folder + showing its first case ({scan_s:.1f} s)"),
        row("batch_max_stall_ms", batch_max, "ms", GOAL_MS),
        row("open_case_max_stall_ms", open_max, "ms", GOAL_MS,
            f"opening a {size[0]}x{size[1]} case: image + Grad-CAM layer drawn on the GUI thread ({open_s:.1f} s)"),
        row("batch_p99_tick_gap_ms", batch_p99, "ms", note=f"idle p99 {idle_p99:.1f} ms"),
        row("batch_stall_ratio_vs_idle", batch_max / max(idle_max, 1e-3), "x"),
        row("batch_throughput", done / batch_s, "images/s", note=f"{done} analysed, {failed} failed in {batch_s:.1f} s"),
    ]


if __name__ == "__main__":
    for r in run():
        print(f"{r['metric']:<28} {r['value']:>10} {r['unit']:<9} goal {r['goal']!s:<6} {r['note']}")

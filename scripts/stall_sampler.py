"""Where the GUI thread blocks: a watchdog samples its Python stack whenever its heartbeat is late.

    QT_QPA_PLATFORM=offscreen RA_BENCH_CACHE=.bench-cache .venv/bin/python scripts/stall_sampler.py open|add [N]

``open``: opens N cases of the bench folder one after another in the real window (default 11);
``add``: adds a folder of 200 studies (issue 24's size) to an empty worklist and waits for its
first case (N repetitions). A
2 ms timer on the GUI thread is the heartbeat; a thread checks it every 2 ms and, when it is over
10 ms late, records the GUI thread's stack, or, when the GUI thread is in the event loop itself
(C++ work or waiting for the GIL), what the other threads are running. Prints the longest gaps and
the most frequent stacks. A diagnostic for issue 24's stalls; `python -m bench gui` measures them.
"""
from __future__ import annotations

import collections
import os
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADD_STUDIES = 200
sys.path.insert(0, str(ROOT))


def _where(frame, depth: int) -> str:
    return " <- ".join(f"{Path(f.filename).name}:{f.lineno}:{f.name}" for f in reversed(traceback.extract_stack(frame)[-depth:]))


def main(mode: str, n: int) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from bench.bench_gui import _images
    from ra_desktop import paths
    from ra_desktop.app import create_window
    from ra_desktop.settings import Settings

    app = QApplication.instance() or QApplication([])
    gui = threading.get_ident()
    beat, sampling, gaps, stacks = [time.perf_counter()], [False], [], collections.Counter()

    def watchdog() -> None:
        while True:
            time.sleep(0.002)
            if not sampling[0] or time.perf_counter() - beat[0] <= 0.010:
                continue
            frames = sys._current_frames()
            if gui not in frames:
                continue
            key = _where(frames[gui], 12)
            if "spin" in key.split(" <- ")[0]:  # in the event loop: what else runs?
                others = [_where(f, 4) for t, f in frames.items() if t not in (gui, threading.get_ident())]
                key = "event loop, while: " + " || ".join(o for o in others if "threading.py" not in o.split(" <- ")[0])
            stacks[key] += 1

    threading.Thread(target=watchdog, daemon=True).start()

    def spin(cond, timeout: float = 300.0) -> None:
        t0 = time.monotonic()
        while not cond():
            app.processEvents()
            time.sleep(0.001)
            if time.monotonic() - t0 > timeout:
                raise TimeoutError("the window did not get there in time")

    def window(folder: Path, count: int):
        _images(folder, count)
        w = create_window(Settings(model_dir=str(paths.default_model_dir()), explanations=("gradcam",),
                                   batch_explanations=("gradcam",)))
        w.resize(1400, 900)
        w.show()
        w.start_services()
        spin(lambda: w.jobs.has_model)
        return w

    heartbeat = QTimer()
    heartbeat.setTimerType(Qt.TimerType.PreciseTimer)
    heartbeat.setInterval(2)
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        if sampling[0]:
            gaps.append((now - last[0]) * 1000.0)
        last[0] = beat[0] = now

    heartbeat.timeout.connect(tick)
    heartbeat.start()
    for _ in range(1 if mode == "open" else n):
        os.environ["RA_DESKTOP_HOME"] = home = tempfile.mkdtemp(prefix="ra-stalls-")
        w = window(Path(home) / "images", max(n + 1, 12) if mode == "open" else ADD_STUDIES)
        first_case_done = lambda: (not w._scans and w.current_result is not None  # noqa: E731
                                   and not w.findings.stage_label.text())
        if mode == "open":
            w.add_paths([str(Path(home) / "images")])
            spin(first_case_done)
            sampling[0] = True
            for r in w.worklist.model.rows()[1:n + 1]:
                w.worklist.select_row(r.id)
                w.worklist._emit_now()
                spin(lambda: w.current_row_id == r.id and first_case_done())
        else:
            sampling[0] = True
            w.add_paths([str(Path(home) / "images")])
            spin(lambda: w.worklist.model.rowCount() >= ADD_STUDIES + 1 and first_case_done())
        sampling[0] = False
        w.close()
    g = sorted(gaps)
    print(f"longest gaps (ms): {[round(x, 1) for x in g[-10:]]}")
    for key, count in stacks.most_common(15):
        print(f"{count:4d} x 2 ms  {key[:500]}\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "open", int(sys.argv[2]) if len(sys.argv) > 2 else 11)

"""The real workstation, offscreen, as a subprocess: open a folder, press "Analyse all", quit.

    python tests/crash_batch_app.py MODEL_DIR FOLDER [--hold-after N]

Used by ``tests/test_crash_safety.py``, which kills it with SIGKILL in the middle of the batch
and then runs it again to resume. Only the key presses are scripted here: results reach the
worklist database through the GUI's own code (MainWindow -> JobController -> InferenceThread).
User folders come from ``RA_DESKTOP_HOME``. Prints one JSON line when it exits normally.

``--hold-after N``: once N batch results are saved (the window saves each on the GUI thread
before the batch progress reaches this script), print ``{"event": "held", "done": N}`` and block
the GUI thread, so nothing more is saved: the test kills it there, on an event, not a timer.
"""
from __future__ import annotations

import json
import os
import sys
import threading


def main(model_dir: str, folder: str, hold_after: int | None = None) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from ra_desktop.app import create_window, setup_logging
    from ra_desktop.settings import Settings

    setup_logging()
    app = QApplication(sys.argv[:1])
    settings = Settings(model_dir=model_dir, device="cpu", explanations=("gradcam",),
                        batch_explanations=("gradcam",), reader_name="Dr Crash")
    window = create_window(settings)  # recovers rows a previous (killed) run left behind
    window.show()
    recovered = sum(r.status == "queued" for r in window.store.rows())
    state = {"started": False, "batch": None}

    def finished(progress, cancelled) -> None:
        state["batch"] = {"done": progress.done, "failed": progress.failed, "cancelled": cancelled}
        app.quit()

    def poll() -> None:
        # Polled on the GUI thread: "Analyse all" once the model is warm and the scan has ended.
        if state["started"] or not window.jobs.has_model or window._scans:
            return
        state["started"] = True
        window.analyse_all()
        print(json.dumps({"event": "batch_started", "pid": os.getpid()}), flush=True)
        if not window.jobs.batch_running:
            app.quit()  # nothing left to analyse

    def progress(p) -> None:
        if hold_after is not None and p.done >= hold_after:
            print(json.dumps({"event": "held", "done": p.done, "pid": os.getpid()}), flush=True)
            threading.Event().wait()  # until SIGKILL: the GUI thread saves nothing more

    window.jobs.batch_finished.connect(finished)
    window.jobs.batch_progress.connect(progress)
    timer = QTimer(interval=50)
    timer.timeout.connect(poll)
    timer.start()
    window.start_services()
    window.add_paths([folder])
    code = app.exec()
    timer.stop()
    window.close()
    print(json.dumps({"event": "exit", "recovered_at_start": recovered, "batch": state["batch"]}), flush=True)
    return int(code)


if __name__ == "__main__":
    hold = int(sys.argv[4]) if sys.argv[3:4] == ["--hold-after"] else None
    sys.exit(main(sys.argv[1], sys.argv[2], hold))

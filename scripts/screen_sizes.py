"""The window on a real (virtual) screen of a given size: where it opens, how wide the image is,
and a screenshot. Runs itself under ``xvfb-run`` (a screen of exactly that size, no window
manager) with a fresh user folder and the bundled demo cases.

    python scripts/screen_sizes.py 1366x768 --out docs [--no-model] [--reading-mode]

Prints one JSON line: screen, window geometry, image-area width and share, worklist and side
panel widths, the screenshot's path. ``tests/gui/test_screen_sizes.py`` runs it at four sizes.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", help="screen size, e.g. 1366x768")
    parser.add_argument("--out", default="screenshots", help="folder for the PNG")
    parser.add_argument("--no-model", action="store_true", help="no model (fast: layout only)")
    parser.add_argument("--reading-mode", action="store_true", help="also a screenshot in reading mode (F11)")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    if not os.environ.get("RA_SCREEN_SIZES_CHILD"):
        if shutil.which("xvfb-run") is None:
            sys.exit("xvfb-run not found: run `bash scripts/install-sysdeps.sh` first")
        env = dict(os.environ, RA_SCREEN_SIZES_CHILD="1", QT_QPA_PLATFORM="xcb")
        env.pop("DISPLAY", None)
        cmd = ["xvfb-run", "-a", "-s", f"-screen 0 {width}x{height}x24", sys.executable, __file__, *argv]
        return subprocess.call(cmd, env=env)

    home = Path(tempfile.mkdtemp(prefix="ra-screen-"))
    os.environ["RA_DESKTOP_HOME"] = str(home)  # never the user's layout or worklist
    from PySide6.QtWidgets import QApplication

    from ra_desktop import paths
    from ra_desktop.app import create_window, load_stylesheet
    from ra_desktop.settings import Settings

    app = QApplication(sys.argv[:1])
    app.setStyleSheet(load_stylesheet("dark"))
    model = "/nonexistent/model" if args.no_model else str(paths.default_model_dir())
    w = create_window(Settings(reader_name="Dr A. Reader", model_dir=model, explanations=("gradcam",)))
    w.show()
    w.start_services()

    def spin(cond, timeout=120.0) -> None:
        t0 = time.time()
        while not cond():
            app.processEvents()
            time.sleep(0.01)
            if time.time() - t0 > timeout:
                raise TimeoutError("the window did not get there in time")

    def settle(seconds: float) -> None:
        t0 = time.time()
        while time.time() - t0 < seconds:
            app.processEvents()
            time.sleep(0.01)

    w.add_paths([str(paths.demo_dir() / "RA")])
    spin(lambda: w.worklist.model.rowCount() > 0 and not w._scans)
    if not args.no_model:
        spin(lambda: w.jobs.has_model)
        spin(lambda: w.current_result is not None and not w.findings.stage_label.text())
    settle(1.0)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    shot = out / f"screenshot-reading-room-{width}x{height}.png"
    screen = app.primaryScreen().grabWindow(0)  # the whole screen: what the reader sees
    screen.save(str(shot))
    g = w.frameGeometry()
    image = w.splitter.widget(1).width()
    facts = {"screen": [width, height], "available": list(app.primaryScreen().availableGeometry().getRect()),
             "window": [g.x(), g.y(), g.width(), g.height()], "image_width": image,
             "image_share": round(image / w.width(), 3), "splitter": w.splitter.sizes(), "screenshot": str(shot)}
    if args.reading_mode:
        w.reading_action.trigger()
        settle(1.0)
        rm = out / f"screenshot-reading-mode-{width}x{height}.png"
        app.primaryScreen().grabWindow(0).save(str(rm))
        facts["reading_mode"] = {"image_width": w.splitter.widget(1).width(), "screenshot": str(rm)}
        w.reading_action.trigger()
    print(json.dumps(facts), flush=True)
    w.close()
    shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

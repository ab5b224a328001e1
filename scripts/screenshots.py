"""Screenshots of the real app's main states, for review (``make screenshots``).

Runs the workstation under Xvfb (re-executes itself through ``xvfb-run`` when there is no
display) with a fresh user folder, the bundled demo cases and one broken file, and saves:
worklist with results, viewer with Grad-CAM, viewer with SHAP, the score sheet with joint markers,
a real radiograph the model does not apply to, a current study beside its prior (a phantom and its
healthy twin, scored with their truth), a failed file, settings, gallery, and the "no model" banner. Uses the bundled model, or the tiny random test model (clearly named
"tiny-test-model") when none is installed yet.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _ensure_display(argv: list[str]) -> None:
    if os.environ.get("DISPLAY") or os.environ.get("RA_SCREENSHOTS_CHILD"):
        return
    if shutil.which("xvfb-run") is None:
        sys.exit("xvfb-run not found: run `bash scripts/install-sysdeps.sh` first")
    env = dict(os.environ, RA_SCREENSHOTS_CHILD="1", QT_QPA_PLATFORM="xcb")
    cmd = ["xvfb-run", "-a", "-s", "-screen 0 1920x1080x24", sys.executable, __file__, *argv]
    sys.exit(subprocess.call(cmd, env=env))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="screenshots", help="folder for the PNG files")
    parser.add_argument("--model", help="model folder (default: the bundled one, else the tiny test model)")
    parser.add_argument("--size", default="1680x980", help="window size, e.g. 1366x768 (the screen is 1920x1080)")
    args = parser.parse_args(argv)
    _ensure_display(argv)
    size = tuple(int(v) for v in args.size.lower().split("x"))
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="ra-shots-"))
    os.environ["RA_DESKTOP_HOME"] = str(home)  # a fresh worklist and settings, never the user's
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")

    from PySide6.QtWidgets import QApplication

    from ra_desktop import paths
    from ra_desktop.app import create_window, load_stylesheet
    from ra_desktop.settings import Settings

    model_dir = Path(args.model) if args.model else paths.default_model_dir()
    if not (model_dir / "manifest.json").exists():
        from tests.tiny_model import make_tiny_model_folder

        model_dir = make_tiny_model_folder(home / "model")
        print(f"no bundled model yet: using the tiny random test model {model_dir}")
    broken = home / "extra" / "scan_0042.dcm"
    broken.parent.mkdir()
    broken.write_bytes(b"DICM" + b"\0" * 64)  # a truncated, unreadable DICOM file

    app = QApplication.instance() or QApplication([])
    app.setStyleSheet(load_stylesheet("dark"))

    def spin(cond, timeout=120.0, what="condition"):
        t0 = time.monotonic()
        while not cond():
            app.processEvents()
            time.sleep(0.01)
            if time.monotonic() - t0 > timeout:
                raise TimeoutError(f"waited {timeout:.0f} s for {what}")

    def settle(seconds=0.4):
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            app.processEvents()
            time.sleep(0.01)

    def shot(widget, name):
        settle()
        path = out / name
        widget.grab().save(str(path))
        print("saved", path)

    settings = Settings(reader_name="Dr A. Reader", institution="Demo Hand Clinic", model_dir=str(model_dir))
    w = create_window(settings)
    w.resize(*size)
    w.show()
    w.start_services()
    spin(lambda: w.jobs.has_model or not w.banner.isHidden(), what="the model")
    w.add_paths([str(paths.demo_dir()), str(broken.parent)])
    spin(lambda: w.worklist.model.rowCount() > 0 and not w._scans, what="the scan")
    w.analyse_all()
    spin(lambda: not w.jobs.batch_running, timeout=600, what="the batch")
    rows = w.worklist.model.rows()
    # the first RA phantom the model calls RA (a missed one would show a different story)
    first_ra = next((r for r in rows if "/RA/" in r.path and r.label == "RA"),
                    next((r for r in rows if "/RA/" in r.path and r.probability is not None), rows[0]))
    # sign off one case so the worklist shows a reviewed row
    w.worklist.select_row(first_ra.id)
    w.worklist._emit_now()
    spin(lambda: w.current_result is not None and "gradcam" in w.current_result.heatmaps, what="Grad-CAM")
    w.findings.agree.setChecked(True)
    w.findings.note.setPlainText("Erosions at MCP2/3 confirmed.")
    w.findings.sign_button.click()
    shot(w, "01_worklist_results.png")
    w.viewer.set_layer_visible("gradcam", True)
    w.viewer.set_layer_visible("shap", False)
    shot(w, "02_viewer_gradcam.png")
    spin(lambda: "shap" in w.current_result.heatmaps or "shap" in w.findings.stage_label.text(),
         timeout=300, what="SHAP")
    w.viewer.set_layer_visible("gradcam", False)
    w.viewer.set_layer_visible("shap", True)
    shot(w, "03_viewer_shap.png")
    # the score sheet on the same phantom: markers from its truth, a few areas scored by key
    w.viewer.set_layer_visible("shap", False)
    w.start_scoring()
    for key in "2130021":
        w.scoring.score_current(int(key))
    w.scoring.score_current("NA")
    shot(w, "08_score_sheet.png")
    w.side_tabs.setCurrentIndex(0)
    real = _real_radiograph()
    if real is not None:  # a real CR: out of distribution, so no verdict
        w.add_paths([str(real)])
        spin(lambda: any(r.path == str(real) for r in w.worklist.model.rows()) and not w._scans, what="the CR")
        cr = next(r for r in w.worklist.model.rows() if r.path == str(real))
        w.worklist.select_row(cr.id)
        w.worklist._emit_now()
        # the whole analysis, so the shot shows the finished state (row and findings), not a stage
        spin(lambda: w.store.get(cr.id).ood_flag is not None and w.findings.research_button.isVisible()
             and "Computing" not in w.findings.stage_label.text(), timeout=300, what="the CR's analysis")
        shot(w, "09_out_of_distribution.png")
    _comparison_shot(w, home, spin, settle, shot)
    bad = next((r for r in w.worklist.model.rows() if r.status == "failed"), None)
    if bad is not None:
        w.worklist.select_row(bad.id)
        w.worklist._emit_now()
        settle(1.0)
        shot(w, "04_failed_file.png")

    from ra_desktop.ui.gallery import GalleryDialog
    from ra_desktop.ui.settings_dialog import SettingsDialog

    dlg = SettingsDialog(w.settings, w)
    dlg.show()
    shot(dlg, "05_settings.png")
    dlg.close()
    gal = GalleryDialog(w)
    gal.show()
    spin(lambda: gal.thumbs.isFinished(), what="thumbnails")
    shot(gal, "06_gallery.png")
    gal.close()
    w.close()

    # the first start before any model is installed
    os.environ["RA_DESKTOP_HOME"] = str(home / "nomodel")
    w2 = create_window(Settings(model_dir=str(home / "no-such-model")))
    w2.resize(*size)
    w2.show()
    w2.start_services()
    spin(lambda: not w2.banner.isHidden(), what="the banner")
    w2.add_paths([str(paths.demo_dir() / "Normal")])
    spin(lambda: w2.viewer.radiograph is not None, what="an image")
    shot(w2, "07_no_model_banner.png")
    w2.close()
    shutil.rmtree(home, ignore_errors=True)
    return 0


def _comparison_shot(w, home: Path, spin, settle, shot) -> None:
    """A phantom and its healthy twin (same hand, only the lesions differ) shown as one patient's
    prior (healthy, 2023) and current (RA, 2025) study, each scored with the phantom's truth."""
    import json

    import pydicom

    from ra_desktop.cli import main as cli
    from ra_desktop.scoring.truth import truth_scores
    from ra_desktop.ui import menu_actions
    from ra_desktop.worklist.scores import ScoreBook

    folder = home / "twins"
    cli(["phantom", "--twins", "--n", "2", "--seed", "560000", "--severity", "3", "--size", "1500",
         "--formats", "dcm", "--ra-fraction", "1", "--quiet", "--out", str(folder)])
    dated = {}
    for gt_file in sorted((folder / "ground_truth").glob("*.json")):
        gt = json.loads(gt_file.read_text())
        dcm = folder / gt["files"][0]
        ds = pydicom.dcmread(dcm)
        ds.PatientID, ds.StudyDate = "TWIN-560000", "20250301" if gt["label"] == "RA" else "20230301"
        ds.save_as(dcm)
        dated[str(dcm)] = gt
    w.add_paths([str(folder)])
    spin(lambda: sum(r.patient_id == "TWIN-560000" for r in w.worklist.model.rows()) == 2 and not w._scans,
         what="the twins")
    book = ScoreBook(w.store)
    rows = [r for r in w.worklist.model.rows() if r.patient_id == "TWIN-560000"]
    for r in rows:
        book.replace_scores(r.id, w.reader(), truth_scores(dated[r.path]))
    current = max(rows, key=lambda r: r.study_date)
    for r in sorted(rows, key=lambda r: r.study_date):  # opening each suggests its markers
        w.worklist.select_row(r.id)
        w.worklist._emit_now()
        spin(lambda r=r: w.viewer.radiograph is not None and str(w.viewer.radiograph.source_path) == r.path,
             what="a twin")
        settle(1.0)
    menu_actions.compare(w, current.id)
    win = w._compare_windows[-1]
    win.resize(*w.size().toTuple())
    spin(lambda: win.left.viewer.radiograph is not None and win.right.viewer.radiograph is not None,
         what="both studies")
    settle(0.8)
    win.left.viewer.markers.picked.emit("MCP2")
    shot(win, "10_compare_prior.png")
    win.close()


def _real_radiograph() -> Path | None:
    """pydicom-data's real computed radiograph (a test dependency), when installed."""
    try:
        from pydicom.data import get_testdata_file

        found = get_testdata_file("RG1_UNCR.dcm")
    except Exception:  # noqa: BLE001 - no test data here: the shot is skipped
        return None
    return Path(found) if found else None


if __name__ == "__main__":
    sys.exit(main())

"""Export report(s): thin GUI glue over ``ra_desktop.report`` (written by the report engineer).

The PDF work runs off the GUI thread; the batch shows a progress dialog with a cancel button.
"""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QThread, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog

from ra_desktop.cancel import CancelToken

log = logging.getLogger(__name__)


def _report_api():
    try:
        import ra_desktop.report as report
    except ImportError:
        return None
    return report


class _ExportThread(QThread):
    progress = Signal(int, int, str)  # done, total, current name
    finished_export = Signal(object, str)  # result (list of paths or other), error text ("" if fine)

    def __init__(self, fn, parent=None) -> None:
        super().__init__(parent)
        self._fn = fn
        self.token = CancelToken()

    def run(self) -> None:
        try:
            out = self._fn(self)
        except Exception as exc:  # noqa: BLE001 - shown to the user as a value (STYLE P7)
            log.exception("report export failed")
            self.finished_export.emit(None, f"{type(exc).__name__}: {exc}")
            return
        self.finished_export.emit(out, "")


def export_current(window) -> None:
    report = _report_api()
    fn = getattr(report, "export_report", None) if report else None
    result = getattr(window, "current_result", None)
    row = window.store.get(window.current_row_id) if window.current_row_id is not None else None
    if row is None or result is None:
        QMessageBox.information(window, "Export report", "Open an analysed case first.")
        return
    if fn is None:
        QMessageBox.information(window, "Export report", "Report export is not available in this build.")
        return
    stem = f"{row.patient_id or 'case'}_{Path(row.path).stem}_ra-report.pdf"
    path, _ = QFileDialog.getSaveFileName(window, "Export report", stem, "PDF (*.pdf)")
    if not path:
        return
    manifest = window.jobs.model.manifest if window.jobs.model else None
    thread = _ExportThread(lambda t: fn(result, Path(path), manifest=manifest, signoff=row), window)
    thread.finished_export.connect(lambda out, err: _done_one(window, path, err))
    window._export_thread = thread  # keep a reference until it finishes
    window._status("Writing report…")
    thread.start()


def _done_one(window, path: str, err: str) -> None:
    if err:
        QMessageBox.warning(window, "Export report", f"The report could not be written:\n{err}")
    else:
        window._status(f"Report saved: {path}", 10000)


def export_batch(window) -> None:
    report = _report_api()
    fn = getattr(report, "export_batch", None) if report else None
    if fn is None:
        QMessageBox.information(window, "Export reports", "Batch report export is not available in this build.")
        return
    rows = [r for r in window.worklist.model.rows() if r.probability is not None]
    if not rows:
        QMessageBox.information(window, "Export reports", "No analysed cases to export yet.")
        return
    folder = QFileDialog.getExistingDirectory(window, "Folder for the reports")
    if not folder:
        return
    dlg = QProgressDialog("Writing reports…", "Cancel", 0, len(rows), window)
    dlg.setWindowTitle("Export reports")
    dlg.setMinimumDuration(0)

    def work(t: _ExportThread):
        def progress(done, total, name=""):
            t.progress.emit(int(done), int(total), str(name))
        return fn([r.path for r in rows], Path(folder), model_dir=str(window.settings.model_path()),
                  progress=progress, cancel=t.token, signoffs={r.path: r for r in rows})

    thread = _ExportThread(work, window)
    thread.progress.connect(lambda d, n, name: (dlg.setMaximum(n), dlg.setValue(d), dlg.setLabelText(f"Writing {name}…")))
    dlg.canceled.connect(thread.token.cancel)

    def finished(out, err):
        dlg.close()
        if err:
            QMessageBox.warning(window, "Export reports", f"Export stopped:\n{err}")
        else:
            window._status(f"Reports written to {folder}", 10000)

    thread.finished_export.connect(finished)
    window._export_thread = thread
    thread.start()

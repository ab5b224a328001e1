"""Menu actions that open dialogs and windows: compare with the prior, scores CSV in and out,
naming a patient, the sample gallery, About.

Plain functions of the main window (its worklist, store, settings and score sheet), kept apart
from its layout and wiring.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from ra_desktop import APP_NAME, INTENDED_USE, __version__
from ra_desktop.errors import RADesktopError
from ra_desktop.ui import plain
from ra_desktop.ui.compare_window import CompareWindow, prior_of


def compare(window, row_id: int | None) -> None:
    """Open the study beside the patient's prior (or other) study from the worklist."""
    rows = window.worklist.model.rows()
    row = next((r for r in rows if r.id == row_id), None)
    if row is None:
        return
    other = prior_of(row, rows)
    if other is None:
        why = ("it has no patient ID (Score > Assign patient ID…)" if not row.patient_id
               else f"no other study of {row.patient_id} is in the worklist")
        window._status(f"Nothing to compare with: {why}", 8000)
        return
    same = [r for r in rows if r.patient_id == row.patient_id]
    win = CompareWindow(same, row, other, window.score_sheet.book, window.reader(), window.settings.svdh_sdc, window)
    win.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    window._compare_windows.append(win)
    win.destroyed.connect(lambda _obj=None, w=win: window._compare_windows.remove(w)
                          if w in window._compare_windows else None)
    win.show()


def export_scores(window) -> None:
    row = window.store.get(window.current_row_id) if window.current_row_id is not None else None
    if row is None:
        return
    path, _ = QFileDialog.getSaveFileName(window, "Export scores", f"scores-{Path(row.file_name).stem}.csv",
                                          "CSV (*.csv)")
    if path:
        n = window.score_sheet.export_csv(path)
        window._status(f"Scores of {n} reader(s) written to {path}", 8000)


def import_scores(window) -> None:
    path, _ = QFileDialog.getOpenFileName(window, "Import scores", "", "CSV (*.csv)")
    if not path:
        return
    try:
        readers = window.score_sheet.import_csv(path)
    except RADesktopError as exc:
        plain.message(window, QMessageBox.Icon.Warning, "Import scores", str(exc))
        return
    window._status(f"Scores imported for {', '.join(readers) or 'nobody'}", 8000)


def assign_patient_id(window) -> None:
    row = window.store.get(window.current_row_id) if window.current_row_id is not None else None
    if row is None:
        return
    text, ok = QInputDialog.getText(window, "Assign patient ID", f"Patient ID for {row.file_name}:",
                                    text=row.patient_id or "")
    if ok:
        window.store.set_patient_id(row.id, text)
        window._refresh(row.id)
        window._status(f"Patient ID of {row.file_name}: {text.strip() or 'none'}", 5000)


def show_gallery(window) -> None:
    from ra_desktop.ui.gallery import GalleryDialog  # thumbnails: built only when asked for

    dlg = GalleryDialog(window)
    dlg.case_chosen.connect(window.open_path)
    dlg.show()


def show_about(window) -> None:
    QMessageBox.about(window, f"About {APP_NAME}", f"<b>{APP_NAME} {__version__}</b><p>{INTENDED_USE}</p>")

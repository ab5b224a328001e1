"""Menu actions that open dialogs and windows: compare with the prior, scores CSV in and out,
naming a patient, the sample gallery, About.

Plain functions of the main window (its worklist, store, settings and score sheet), kept apart
from its layout and wiring.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from ra_desktop import APP_NAME, INTENDED_USE, __version__, audit
from ra_desktop.errors import RADesktopError
from ra_desktop.pseudonym import pseudonym
from ra_desktop.settings import save_settings
from ra_desktop.ui import plain
from ra_desktop.ui.compare_window import CompareWindow, prior_of
from ra_desktop.ui.gallery import GalleryDialog
from ra_desktop.ui.viewer._toolbar import SHORTCUTS


def compare(window, row_id: int | None, other_id: int | None = None) -> None:
    """Open the study beside the patient's prior (or other) study from the worklist, or beside
    ``other_id`` (a thumbnail of the patient's other studies)."""
    rows = window.worklist.model.rows()
    row = next((r for r in rows if r.id == row_id), None)
    if row is None:
        return
    other = prior_of(row, rows) if other_id is None else next((r for r in rows if r.id == other_id), None)
    if other is None:
        why = ("it has no patient ID (Score > Assign patient ID…)" if not row.patient_id
               else f"no other study of {row.patient_id} is in the worklist")
        window.show_status(f"Nothing to compare with: {why}", 8000)
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
        off = window.score_sheet.markers_left_out
        window.show_status(f"Scores of {n} reader(s) written to {path}"
                       + (f"; {off} marker(s) off the image left out" if off else ""), 8000)


def import_scores(window) -> None:
    path, _ = QFileDialog.getOpenFileName(window, "Import scores", "", "CSV (*.csv)")
    if not path:
        return
    try:
        readers = window.score_sheet.import_csv(path)
    except RADesktopError as exc:
        plain.message(window, QMessageBox.Icon.Warning, "Import scores", str(exc))
        return
    window.show_status(f"Scores imported for {', '.join(readers) or 'nobody'}", 8000)


def assign_patient_id(window) -> None:
    row = window.store.get(window.current_row_id) if window.current_row_id is not None else None
    if row is None:
        return
    text, ok = QInputDialog.getText(window, "Assign patient ID", f"Patient ID for {row.file_name}:",
                                    text=row.patient_id or "")
    if ok:
        window.store.set_patient_id(row.id, text)
        # Who moved a study to which patient, traceable without writing the IDs themselves
        window.session.audit(audit.IDENTIFIED, row.case_id, previous=_id_pseudonym(row.patient_id),
                             assigned=_id_pseudonym(text.strip()))
        window.refresh_row(row.id)
        window.show_status(f"Patient ID of {row.file_name}: {text.strip() or 'none'}", 5000)


def _id_pseudonym(patient_id: str | None) -> str | None:
    return pseudonym(patient_id) if patient_id else None


def show_gallery(window) -> None:
    dlg = GalleryDialog(window)
    dlg.case_chosen.connect(window.open_path)
    dlg.show()


def show_about(window) -> None:
    QMessageBox.about(window, f"About {APP_NAME}", f"<b>{APP_NAME} {__version__}</b><p>{INTENDED_USE}</p>")


# What each viewer key does, in the reader's words (the keys themselves: viewer/_toolbar.py).
VIEWER_KEYS = {
    ("apply_preset", ("dicom",)): "Window from the file", ("apply_preset", ("auto",)): "Automatic window",
    ("apply_preset", ("bone",)): "Bone window", ("apply_preset", ("full",)): "Full range",
    ("step_window", (0, 1 / 1.15)): "Narrower window", ("step_window", (0, 1.15)): "Wider window",
    ("step_window", (-1, 1.0)): "Darker (lower level)", ("step_window", (1, 1.0)): "Brighter (higher level)",
    ("toggle_invert", ()): "Invert", ("rotate", (90,)): "Rotate right", ("rotate", (-90,)): "Rotate left",
    ("toggle_flip_h", ()): "Flip left–right", ("toggle_flip_v", ()): "Flip top–bottom",
    ("fit", ()): "Fit to window", ("one_to_one", ()): "One image pixel per screen pixel",
    ("toggle_magnifier", ()): "Loupe", ("use_window_tool", ()): "Window/level tool (drag)",
    ("use_pan_tool", ()): "Pan tool", ("use_measure_tool", ()): "Measure distance",
    ("use_mark_tool", ()): "Place joint markers", ("clear_measurements", ()): "Delete measurements",
    ("use_annotation_tool", ("arrow",)): "Annotate: arrow", ("use_annotation_tool", ("text",)): "Annotate: text",
    ("use_annotation_tool", ("angle",)): "Annotate: angle (three clicks)",
    ("use_annotation_tool", ("roi_rect",)): "Annotate: rectangle ROI (mean, SD, area)",
    ("use_annotation_tool", ("roi_ellipse",)): "Annotate: ellipse ROI (mean, SD, area)",
    ("delete_selected", ()): "Delete the selected annotation, else the measurements",
    ("reset_view", ()): "Reset window, orientation and zoom",
    ("toggle_overlays", ()): "Show or hide the corner text (patient, study, window)",
    ("copy_view", ()): "Copy the view to the clipboard", ("export_view_dialog", ()): "Export the view as PNG or JPEG",
}
WORKSHEET_KEYS = [("0–5", "Score the selected area (erosion 0–5, narrowing 0–4)"),
                  ("N or .", "Not assessable"), ("Delete", "Clear the score"),
                  ("Tab / ↓ / →", "Next area"), ("Shift+Tab / ↑ / ←", "Previous area"),
                  ("H", "Other hand"), ("K", "Place the joint markers")]
WORKLIST_KEYS = [("Enter", "Open the selected case"), ("C", "Compare the selected case with its prior")]


def shortcut_sheet(window) -> list[tuple[str, list[tuple[str, str]]]]:
    """Every key of the window, grouped as the help sheet shows them: (group, [(keys, what)])."""
    from PySide6.QtGui import QKeySequence


    menu_keys = []
    for act in window.actions():
        keys = act.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        if keys:
            menu_keys.append((keys, act.text().replace("&", "").rstrip("…")))
    viewer: dict[str, list[str]] = {}
    for seq, method, args in SHORTCUTS:
        viewer.setdefault(VIEWER_KEYS.get((method, args), method.replace("_", " ")), []).append(seq)
    return [("Window", menu_keys),
            ("Image (whenever the window has focus, unless typing)", [(" or ".join(k), d) for d, k in viewer.items()]),
            ("Score sheet (while it has focus)", WORKSHEET_KEYS),
            ("Worklist (while it has focus)", WORKLIST_KEYS)]


def show_shortcuts(window) -> None:
    from PySide6.QtWidgets import QDialog, QTableWidget, QTableWidgetItem, QVBoxLayout

    groups = shortcut_sheet(window)
    dlg = QDialog(window)
    dlg.setWindowTitle("Keyboard shortcuts")
    table = QTableWidget(sum(len(keys) + 1 for _, keys in groups), 2, dlg)
    table.setHorizontalHeaderLabels(["Keys", "Action"])
    table.verticalHeader().hide()
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    row = 0
    for title, keys in groups:
        head = QTableWidgetItem(title)
        font = head.font()
        font.setBold(True)
        head.setFont(font)
        table.setItem(row, 0, head)
        table.setSpan(row, 0, 1, 2)
        row += 1
        for k, what in keys:
            table.setItem(row, 0, QTableWidgetItem(k))
            table.setItem(row, 1, QTableWidgetItem(what))
            row += 1
    table.resizeColumnsToContents()
    table.horizontalHeader().setStretchLastSection(True)
    QVBoxLayout(dlg).addWidget(table)
    dlg.resize(620, 640)
    window._shortcut_sheet = dlg
    dlg.show()


def ask_reader_name(window) -> str:
    """The reader's name, asked once (the first sign-off) and kept in the settings; "" if not given."""

    name, ok = QInputDialog.getText(window, "Who is reading?",
                                    "Your name, as sign-offs, scores and reports will show it:")
    name = name.strip() if ok else ""
    if name:
        window.settings = window.settings.replace(reader_name=name)
        save_settings(window.settings)
        window.findings.set_reader(name)
    return name

"""The main window's menus and toolbar, built from its slots. Every action is also added to the
window itself, so its shortcut works with the menu bar hidden (reading mode)."""
from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence

from ra_desktop.ui import dicom_actions, menu_actions, tag_viewer, teaching_actions
from ra_desktop.ui import export


def action(window, menu, text, slot, shortcut=None, tip=None) -> QAction:
    act = QAction(text, window)
    if shortcut:
        act.setShortcut(QKeySequence(shortcut))
    if tip:
        shown = act.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        act.setStatusTip(tip)
        act.setToolTip(f"{tip} ({shown})" if shown else tip)
    act.triggered.connect(slot)
    menu.addAction(act)
    window.addAction(act)
    return act


def build(window) -> None:
    w, add = window, window._action
    mb = w.menuBar()
    f = mb.addMenu("&File")
    open_files = add(f, "Open files…", w.open_files_dialog, QKeySequence.StandardKey.Open)
    open_folder = add(f, "Open folder…", w.open_folder_dialog, "Ctrl+Shift+O")
    gallery = add(f, "Sample gallery…", lambda: menu_actions.show_gallery(w), "Ctrl+G")
    f.addSeparator()
    w.export_action = add(f, "Export report…", lambda: export.export_current(w), "Ctrl+E")
    add(f, "Export worklist reports…", lambda: export.export_batch(w), "Ctrl+Shift+E")
    # Beside the exports it governs, and remembered: a teaching workstation exports this way.
    w.deidentify_action = add(
        f, "De-identify exported reports", w.set_deidentify_reports,
        tip="Leave out name, ID, dates and file names; print the case as this workstation's pseudonym")
    w.deidentify_action.setCheckable(True)
    w.deidentify_action.setChecked(w.settings.deidentify_reports)
    f.addSeparator()
    settings_action = add(f, "Settings…", w.show_settings, "Ctrl+,")
    add(f, "Quit", w.close, QKeySequence.StandardKey.Quit)
    a = mb.addMenu("&Analysis")
    w.analyse_all_action = add(a, "Analyse all", w.analyse_all, "Ctrl+R", "Analyse every case without a result")
    add(a, "Cancel batch", w.cancel_batch)
    sc = mb.addMenu("&Score")
    add(sc, "Score this case (Sharp/van der Heijde)", w.start_scoring, "Ctrl+K",
        "Open the worksheet with the keyboard in it: digits score, Tab moves")
    add(sc, "Compare with prior", lambda: menu_actions.compare(w, w.current_row_id), "Ctrl+Shift+C",
        "This study beside the patient's previous one (C in the worklist)")
    add(sc, "Export scores (CSV)…", lambda: menu_actions.export_scores(w),
        tip="Every reader's sheet of this case, one row per area (for trials)")
    add(sc, "Import scores (CSV)…", lambda: menu_actions.import_scores(w),
        tip="Sheets of this case from a scores CSV; each replaces that reader's sheet")
    add(sc, "Assign patient ID…", lambda: menu_actions.assign_patient_id(w),
        tip="Name the patient of an image without one, so its studies group and compare")
    dicom_actions.install(w, mb)
    v = mb.addMenu("&View")
    p = w.panels
    w.worklist_action = add(v, "Worklist", p.toggle_worklist, "F2", "Show or hide the worklist")
    w.side_action = add(v, "Findings and scores", p.toggle_side, "F3", "Show or hide the findings panel")
    w.reading_action = add(v, "Reading mode", p.toggle_reading_mode, "F11",
                           "Only the image and a one-line findings strip, full screen")
    for act in (w.worklist_action, w.side_action, w.reading_action):
        act.setCheckable(True)
    add(v, "Search the worklist", p.search_worklist, QKeySequence.StandardKey.Find,
        "Put the cursor in the worklist's search box")
    add(v, "Next case", lambda: p.step_case(1), "Alt+Down", "Open the next case of the worklist")
    add(v, "Previous case", lambda: p.step_case(-1), "Alt+Up", "Open the previous case of the worklist")
    add(v, "DICOM tags…", lambda: tag_viewer.show_tags(w), "Ctrl+T", "The open study's DICOM header, searchable")
    v.addSeparator()
    add(v, "Reset layout", w.reset_layout,
        tip="Default window size and position for this screen, and default panel widths")
    t = mb.addMenu("&Teaching")
    add(t, "Marker explorer…", lambda: teaching_actions.show_explorer(w), "Ctrl+Shift+M",
        "Set each RA marker at any joint of a phantom hand and see it beside the healthy twin")
    add(t, "Scoring quiz…", lambda: teaching_actions.show_quiz(w), tip=(
        "Score a deck of phantoms on the Sharp/van der Heijde worksheet; feedback against the known truth"))
    add(t, "Marker atlas (PDF)…", lambda: teaching_actions.write_atlas(w),
        tip="Each radiographic marker of RA at each severity on one phantom hand, beside the normal hand")
    h = mb.addMenu("&Help")
    add(h, "Keyboard shortcuts", lambda: menu_actions.show_shortcuts(w), QKeySequence.StandardKey.HelpContents,
        "Every key of the window and the viewer")
    add(h, "About / intended use", lambda: menu_actions.show_about(w))
    tb = w.addToolBar("Main")
    tb.setObjectName("mainToolbar")
    for act in (open_files, open_folder, w.analyse_all_action, gallery, w.export_action, settings_action):
        tb.addAction(act)
    tb.addSeparator()
    for act in (w.worklist_action, w.side_action, w.reading_action):
        tb.addAction(act)

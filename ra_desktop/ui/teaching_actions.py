"""The window's Teaching menu: the marker explorer, the scoring quiz and the marker atlas handout.

The explorer and the quiz are windows of their own, imported when first opened (they pull in the
phantom generator), so the reading window starts no slower for them.

The atlas renders about 20 phantoms (several seconds), so it runs on a task thread: the window
keeps painting, the status line counts the markers, and a message names the PDF or why it failed.
"""
from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QMessageBox

from ra_desktop.ui import plain
from ra_desktop.worker.task import TaskThread


def write_atlas(window, folder: str | None = None, seed: int = 0, side: str = "R") -> TaskThread | None:
    """Ask for a folder (unless given) and write the marker atlas PDF there, off the GUI thread."""
    folder = folder or QFileDialog.getExistingDirectory(window, "Folder for the marker atlas (PDF)")
    if not folder:
        return None

    def work(progress, _token):
        # lazy: the phantom generator and fpdf load when an atlas is made, not with the window
        from ra_desktop.phantom.atlas import MARKERS, plates
        from ra_desktop.report.atlas import write_atlas as write_pdf

        return write_pdf(plates(seed, side), folder, seed=seed, side=side,
                         progress=lambda n, title: progress(n, len(MARKERS), title))

    task = TaskThread(work, window)
    task.progressed.connect(lambda n, total, title: window.show_status(f"Marker atlas: {title} ({n + 1} of {total})…"))
    task.succeeded.connect(lambda path: (window.show_status(f"Marker atlas written: {path}", 15000),
                                         plain.message(window, QMessageBox.Icon.Information, "Marker atlas",
                                                       f"Written:\n{path}")))
    task.failed.connect(lambda reason: plain.message(window, QMessageBox.Icon.Warning, "Marker atlas",
                                                     f"The atlas could not be written to {folder}:\n{reason}"))
    window._atlas_task = task  # keep it alive while it runs
    window.show_status("Marker atlas: rendering phantoms…")
    task.start()
    return task


def show_explorer(window):
    """Open the marker explorer, or bring back the one already open (it shares the model lane)."""
    from ra_desktop.ui.explorer_window import open_explorer

    current = getattr(window, "_explorer", None)
    try:
        if current is not None and current.isVisible():
            current.showNormal()
            current.raise_()
            current.activateWindow()
            return current
    except RuntimeError:  # its C++ side was deleted with the window it belonged to
        pass
    return open_explorer(window)


def show_quiz(window):
    """Open a scoring quiz window (one per learner session; several may be open)."""
    from ra_desktop.ui.quiz_window import open_quiz

    return open_quiz(window)

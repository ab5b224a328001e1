"""Export report(s): thin GUI glue over ``ra_desktop.report`` (the report engineer's module).

The PDF work runs on the inference lane as a job of the window's JobController (a batch export
re-analyses each study with the warm model, and the model has one lane, STYLE P6); each export
function returns that job's id. The batch shows a progress dialog with Cancel.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QLabel, QMessageBox, QProgressDialog

from ra_desktop import audit
from ra_desktop.cancel import CancelToken
from ra_desktop.pseudonym import pseudonym
from ra_desktop.ui import plain

if TYPE_CHECKING:  # the report package (fpdf, PIL) loads at the first export, not with the window
    from ra_desktop.report.model import ReportOptions


def _analysed(path: str, model, explanations, cancel):
    from ra_desktop.pipeline import analyse, drain  # the analysis stack: off the window's start path

    return drain(analyse(Path(path), model, explanations=explanations, cancel=cancel))


def _options(window) -> ReportOptions:
    from ra_desktop.report.model import ReportOptions  # pulls fpdf: only when a report is made

    return ReportOptions(deidentify=window.settings.deidentify_reports, **_as_on_screen(window, "gradcam"))


def _as_on_screen(window, overlay: str) -> dict:
    """The colour map and opacity the viewer shows ``overlay`` with, so the report draws and names
    what the reader saw (the CLI keeps the report's defaults); empty for a viewer without layers."""
    layer_state = getattr(getattr(window, "viewer", None), "layer_state", None)
    if not callable(layer_state):
        return {}
    try:
        state = layer_state(overlay)
    except (KeyError, ValueError):
        return {}
    return {"cmap": state["cmap"], "opacity": float(state["opacity"])}


def _export_details(options: ReportOptions, case_id: str) -> dict:
    """Audit facts of one export: de-identified or not, and then the pseudonym printed."""
    if not options.deidentify:
        return {"deidentified": False}

    return {"deidentified": True, "pseudonym": pseudonym(case_id, options.pseudonym_key)}


def export_current(window) -> int | None:
    from ra_desktop.report.batch import write_report  # pulls fpdf: only on export

    result = window.current_result
    row = window.store.get(window.current_row_id) if window.current_row_id is not None else None
    if row is None or result is None:
        QMessageBox.information(window, "Export report", "Open an analysed case first.")
        return None
    options = _options(window)  # fixed now: toggling the menu mid-export changes nothing
    deid = " (de-identified)" if options.deidentify else ""
    folder = QFileDialog.getExistingDirectory(window, f"Folder for the report{deid}")
    if not folder:
        return None
    manifest = window.jobs.model.manifest if window.jobs.model else None
    sheet = window.score_sheet.report_sheet(row, window.worklist.model.rows(), window.settings.svdh_sdc)
    measured = window.radiogrammetry.report_data(row)  # the stored radiogrammetry, None if never measured
    notes = window.annotations.report_data(row)  # the reader's annotations, None if none

    def finished(out) -> None:
        window.session.exported(row.case_id, model=audit.model_label(manifest), kind="report",
                                **_export_details(options, row.case_id))
        window.show_status(f"Report saved{deid}: {out}", 15000)

    job_id = window.jobs.submit_export(
        lambda model, progress: write_report(
            result, folder, manifest=manifest, signoff=row, settings=window.settings, options=options, scores=sheet,
            measurements=measured, annotations=notes),
        on_finished=finished,
        on_failed=lambda err: plain.message(window, QMessageBox.Icon.Warning, "Export report",
                                            f"The report could not be written:\n{err}"))
    window.show_status("Writing report…")
    return job_id


def export_batch(window) -> int | None:
    from ra_desktop.report.batch import BatchItem, export_batch as report_batch  # pulls fpdf: only on export

    rows = [r for r in window.worklist.model.rows() if r.probability is not None]
    if not rows:
        QMessageBox.information(window, "Export reports", "No analysed cases to export yet.")
        return None
    if not window.jobs.has_model:
        QMessageBox.information(window, "Export reports", "A model is needed to draw the report images.")
        return None
    options = _options(window)
    deid = " (de-identified)" if options.deidentify else ""
    folder = QFileDialog.getExistingDirectory(window, f"Folder for the reports{deid}")
    if not folder:
        return None
    token = CancelToken()
    dlg = QProgressDialog("Writing reports…", "Cancel", 0, len(rows), window)
    dlg.setLabel(QLabel("Writing reports…", textFormat=Qt.TextFormat.PlainText))  # shows file names
    dlg.setWindowTitle("Export reports")
    dlg.setMinimumDuration(0)
    dlg.canceled.connect(token.cancel)
    explanations = window.settings.batch_explanations
    manifest = window.jobs.model.manifest
    model_label, session = audit.model_label(manifest), window.session

    def written(row, case_id: str) -> None:
        # On the lane, as each PDF lands: the session's export line writes the audit log only.
        session.exported(case_id, model=model_label, kind="report", **_export_details(options, case_id))

    every = window.worklist.model.rows()
    sheets = {r.id: window.score_sheet.report_sheet(r, every, window.settings.svdh_sdc)  # here, not on the lane
              for r in rows}
    measured = {r.id: window.radiogrammetry.report_data(r) for r in rows}  # stored; None if never measured
    measurers = {r.id: window.radiogrammetry.batch_measurer(r) for r in rows if measured[r.id] is None}
    notes = {r.id: window.annotations.report_data(r) for r in rows}  # the reader's annotations; None if none

    def work(model, progress):
        items = [BatchItem(source=r.path, manifest=manifest, signoff=r, scores=sheets[r.id],
                           measurements=measured[r.id], measure=measurers.get(r.id), annotations=notes[r.id],
                           produce=lambda cancel, p=r.path: _analysed(p, model, explanations, cancel))
                 for r in rows]
        return report_batch(items, folder, progress, token,
                            options=options, settings=window.settings, on_written=written)

    def failed(err: str) -> None:
        dlg.close()
        plain.message(window, QMessageBox.Icon.Warning, "Export reports", f"Export stopped:\n{err}")

    def finished(summary) -> None:
        dlg.close()
        # summary.rows follow `rows` one to one; a de-identified summary does not name the file,
        # so this message takes it from the worklist. Each written report is already audited.
        failed = [(wl_row, r) for wl_row, r in zip(rows, summary.rows) if r.status == "failed"]
        msg = f"{len(summary.written)} report(s){deid} written to {folder}"
        if failed:
            msg += f"; {len(failed)} failed:\n" + "\n".join(
                f"{Path(wl_row.path).name}: {r.reason}" for wl_row, r in failed[:10])
        if summary.summary_error:
            msg += f"\nThe batch summary could not be written: {summary.summary_error}"
        if summary.cancelled:
            msg = "Cancelled. " + msg
        plain.message(window, QMessageBox.Icon.Information, "Export reports", msg)  # names files

    job_id = window.jobs.submit_export(
        work, on_finished=finished, on_failed=failed,
        on_progress=lambda d, n, m: (dlg.setMaximum(n), dlg.setValue(d), dlg.setLabelText(m)))
    window._export_dialog = dlg  # keep it alive while the lane works
    return job_id

"""The DICOM menu: query/retrieve, the patient's priors, results sent to PACS or saved as DICOM,
and the listener's switch. Plain functions of the main window, like ui/menu_actions.py.

Objects are built on the inference lane (they draw the report and the overlay with the warm
model, like a report export) and sent from a task thread, so a slow PACS never holds the model;
both steps are one export job of the window's JobController.
"""
from __future__ import annotations

import logging

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from ra_desktop import audit
from ra_desktop.dicomnet.nodes import RemoteNode
from ra_desktop.dicomnet.send import send
from ra_desktop.settings import save_settings
from ra_desktop.ui import plain
from ra_desktop.ui.dicom_node import DicomNode
from ra_desktop.ui.export import _options
from ra_desktop.ui.query_dialog import QueryDialog
from ra_desktop.worklist import NEW, QUEUED, is_conflict

log = logging.getLogger(__name__)
KINDS = ("sr", "sc", "pdf")


def install(window, menubar) -> None:
    """The DICOM menu and the listener (with its status-bar indicator) of ``window``."""
    window.dicom = DicomNode(window)
    window.statusBar().addPermanentWidget(window.dicom.indicator)
    window.dicom.arrived.connect(lambda cases: arrived(window, cases))
    m = menubar.addMenu("&DICOM")
    window._action(m, "Query / retrieve…", lambda: query(window), "Ctrl+Shift+Q",
                   "Find studies on a configured PACS and bring them into the worklist")
    window._action(m, "Get priors of this patient…", lambda: priors(window), "Ctrl+Shift+P",
                   "Earlier hand studies of the open patient, for the comparison view")
    m.addSeparator()
    window._action(m, "Send results to PACS…", lambda: send_results(window), None,
                   "Structured report, secondary capture and PDF of the open case, to a configured node")
    window._action(m, "Save results as DICOM…", lambda: save_results(window), None,
                   "The same objects, written to a folder")
    m.addSeparator()
    window.receive_action = window._action(m, "Receive images", lambda on: set_receiving(window, on), None,
                                           "Listen for images from modalities (Settings > DICOM)")
    window.receive_action.setCheckable(True)
    window.receive_action.setChecked(window.settings.dicom_listener_enabled)


def set_receiving(window, on: bool) -> None:
    window.settings = window.settings.replace(dicom_listener_enabled=bool(on))
    save_settings(window.settings)
    window.dicom.apply(window.settings)
    window.receive_action.setChecked(window.dicom.listener is not None)


def arrived(window, cases) -> None:
    """New instances from the listener: into the worklist, analysed when the settings say so."""
    known = window.store.known_paths()
    fresh = [c for c in cases if c.path not in known]
    if not fresh:
        return
    before = {r.id for r in window.worklist.model.rows()}
    window._on_found(fresh)
    window.show_status(f"Received {len(fresh)} image(s) over DICOM", 8000)
    if window.settings.dicom_auto_analyse and window.jobs.has_model:
        rows = [r for r in window.worklist.model.rows()  # never one whose UID names another image
                if r.id not in before and r.status == NEW and not is_conflict(r.case_id)]
        if rows:
            window.store.set_status([r.id for r in rows], QUEUED)
            for r in rows:
                window.refresh_row(r.id)
            window.jobs.analyse_batch([(r.id, r.path) for r in rows], window.settings.batch_explanations)


# ---- query / retrieve ---------------------------------------------------------------------------
def query(window, *, patient_id: str = "", before: str = "", search: bool = False, priors_of=None):
    dlg = QueryDialog(window.settings, window, patient_id=patient_id, before=before,
                      listening=window.dicom.listener is not None, priors_of=priors_of)
    dlg.retrieved.connect(window.add_paths)
    window._query_dialog = dlg  # one at a time, kept alive while it runs
    dlg.show()
    if search and window.settings.dicom_nodes:
        dlg.search()
    return dlg


def priors(window):
    row = window.store.get(window.current_row_id) if window.current_row_id is not None else None
    if row is None or not row.patient_id:
        window.show_status("Open a case with a patient ID to look for its priors", 8000)
        return None
    if not row.study_date:
        window.show_status("This case has no study date: earlier studies cannot be told apart", 8000)
        return None
    # studies dated before this one (the worklist does not keep the study UID to exclude)
    return query(window, patient_id=row.patient_id, search=True, priors_of=(row.patient_id, row.study_date, ""))


# ---- results as DICOM ---------------------------------------------------------------------------
def _current(window):
    row = window.store.get(window.current_row_id) if window.current_row_id is not None else None
    if row is None or window.current_result is None:
        QMessageBox.information(window, "DICOM", "Open an analysed case first.")
        return None
    return row


def _bundle(window, row):
    """The SR, SC and Encapsulated PDF inputs of the open case, and the report options they use."""
    from ra_desktop.dicomout.bundle import ResultBundle  # pulls pydicom, highdicom, fpdf: only on export

    manifest = window.jobs.model.manifest if window.jobs.model else None
    sheet = window.score_sheet.report_sheet(row, window.worklist.model.rows(), window.settings.svdh_sdc)
    options = _options(window)
    bundle = ResultBundle(result=window.current_result, manifest=manifest, signoff=row, scores=sheet,
                          radiogrammetry=window.radiogrammetry.report_data(row), settings=window.settings,
                          annotations=window.annotations.report_data(row),
                          deidentify=options.deidentify, patient_id=row.patient_id, options=options)
    return bundle, options


def save_results(window) -> int | None:
    """Build (with the warm model) and write the objects on the inference lane; returns the job id."""
    row = _current(window)
    if row is None:
        return None
    folder = QFileDialog.getExistingDirectory(window, "Folder for the DICOM objects")
    if not folder:
        return None
    bundle, options = _bundle(window, row)

    def work(_model, _progress) -> list:
        from ra_desktop.dicomout.bundle import build_objects  # pulls pydicom, highdicom, fpdf: only on export
        from ra_desktop.dicomout.files import file_name, write_dataset

        return [write_dataset(ds, folder, file_name(ds, row.case_id if not options.deidentify else None))
                for ds in build_objects(bundle, kinds=KINDS)[0]]

    def finished(written) -> None:
        window.session.exported(row.case_id, kind="dicom", objects=len(written), deidentified=options.deidentify)
        window.show_status(f"{len(written)} DICOM object(s) saved to {folder}", 15000)

    job_id = window.jobs.submit_export(work, on_finished=finished, on_failed=lambda err: plain.message(
        window, QMessageBox.Icon.Warning, "Save as DICOM", f"Not written:\n{err}"))
    window.show_status("Building DICOM objects…")
    return job_id


def send_results(window) -> int | None:
    """Build on the inference lane, then send from a task thread, as one job; returns its id."""
    row = _current(window)
    if row is None:
        return None
    nodes = list(window.settings.dicom_nodes)
    if not nodes:
        QMessageBox.information(window, "Send to PACS", "No DICOM node is configured (Settings > DICOM).")
        return None
    text, ok = QInputDialog.getItem(window, "Send to PACS", "Send the results of this case to", nodes, 0, False)
    if not ok:
        return None

    node, aet = RemoteNode.parse(text), window.settings.dicom_ae_title
    bundle, options = _bundle(window, row)
    stage = {"built": False}  # a failure before the objects exist is "Not sent", after it "failed"

    def build(_model, _progress) -> list:
        from ra_desktop.dicomout.bundle import build_objects  # pulls pydicom, highdicom, fpdf: only on send

        return build_objects(bundle, kinds=KINDS)[0]

    def send_objects(objects, progress, token):
        return send(node, objects, calling_aet=aet, cancel=token,
                    progress=lambda p: progress(p.done, len(objects), p.current))

    def built(_objects) -> None:
        stage["built"] = True
        window.show_status(f"Sending to {node.ae_title}…")

    def sent(result) -> None:
        window.session.exported(row.case_id, kind="dicom-send", node=node.ae_title, objects=result.sent,
                                deidentified=options.deidentify)
        if result.failed:
            plain.message(window, QMessageBox.Icon.Warning, "Send to PACS",
                          f"{result.sent} sent, {len(result.failed)} refused by {node.ae_title}:\n"
                          + "\n".join(f"{f.source}: {f.error or f'status 0x{f.status or 0:04X}'}" for f in result.failed[:10]))
        else:
            window.show_status(f"{result.sent} DICOM object(s) sent to {node.ae_title}", 15000)

    def failed(reason: str) -> None:
        msg = f"Sending to {text} failed:\n{reason}" if stage["built"] else f"Not sent:\n{reason}"
        plain.message(window, QMessageBox.Icon.Warning, "Send to PACS", msg)

    job_id = window.jobs.submit_export(build, then=send_objects, on_built=built, on_finished=sent, on_failed=failed)
    window.show_status("Building DICOM objects…")
    return job_id

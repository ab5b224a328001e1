"""The workstation window: worklist | viewer | findings. Layout, menus and wiring only."""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QFileDialog, QLabel, QMainWindow, QMessageBox, QScrollArea, QSplitter, QTabWidget, QVBoxLayout,
    QWidget,
)

from ra_desktop import APP_NAME, __version__, audit, paths
from ra_desktop.session import ReadingSession
from ra_desktop.settings import Settings, save_settings
from ra_desktop.ui import annotation_controller, layout, plain, menu_actions, measure_controller, menus, theme
from ra_desktop.ui.findings_panel import FindingsPanel
from ra_desktop.ui.panels import Panels
from ra_desktop.ui.patient_studies import PatientStudies
from ra_desktop.ui.scoring_controller import ScoringController
from ra_desktop.ui.scoring_panel import ScoringPanel
from ra_desktop.ui.settings_dialog import SettingsDialog
from ra_desktop.ui.status import BatchStatus, ModelBanner
from ra_desktop.ui.viewer_host import make_viewer
from ra_desktop.ui.viewer.controls import LAYERS
from ra_desktop.ui.welcome import Welcome
from ra_desktop.ui.worklist_panel import WorklistPanel
from ra_desktop.worker.jobs import JobController
from ra_desktop.worker.scan import ScanThread
from ra_desktop.worklist import FAILED, WorklistStore, is_conflict
from ra_desktop.worklist.scores import ScoreBook

log = logging.getLogger(__name__)
HEATMAPS = ("gradcam", "shap")


class MainWindow(QMainWindow):
    def __init__(self, store: WorklistStore, settings: Settings, jobs: JobController | None = None) -> None:
        super().__init__()
        self.store, self.settings = store, settings
        self.jobs = jobs or JobController(parent=self)
        self.session = ReadingSession(store, lambda: self.settings.reader_name)  # store writes, audit
        self.setWindowTitle(f"{APP_NAME} {__version__} — decision support, not for clinical use")
        self.setAcceptDrops(True)
        self.current_row_id: int | None = None
        self.current_result = None  # the live CaseResult of the open case (for the report)
        self._scans: list[ScanThread] = []
        self._pending_model: str | None = None
        self._pending_device: str | None = None  # saved with the model folder once it has loaded
        self._cpu_fallback = False  # a saved "cuda" that does not work here: the CPU, said once
        self._model_error: str | None = None
        self._stage_notes: list[str] = []
        self._shown_layers: dict = {}
        self._compare_windows: list = []  # open comparison windows (each deletes itself on close)

        self.worklist = WorklistPanel()
        self.viewer = make_viewer()
        self.findings = FindingsPanel()
        self.scoring = ScoringPanel()
        self.banner = ModelBanner()
        centre = QWidget()
        cl = QVBoxLayout(centre)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addWidget(self.banner)
        cl.addWidget(self.viewer, 1)
        self.welcome = Welcome()  # instead of the image while the worklist is empty
        self.welcome.open_folder.connect(self.open_folder_dialog)
        self.welcome.open_samples.connect(lambda: self.add_paths([str(paths.demo_dir())]))
        cl.addWidget(self.welcome, 1)
        self.strip = QLabel("", objectName="findingsStrip")  # reading mode's one line of findings
        cl.addWidget(self.strip)
        scroll = QScrollArea(widgetResizable=True)
        # wrap long texts (failure reasons, notes) instead of scrolling the findings sideways
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.other_studies = PatientStudies()  # thumbnails of the patient's other studies
        self.other_studies.compare_requested.connect(lambda cur, other: menu_actions.compare(self, cur, other))
        side = QWidget()
        sl = QVBoxLayout(side)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addWidget(self.findings, 1)
        sl.addWidget(self.other_studies)
        scroll.setWidget(side)
        scroll.setMinimumWidth(300)
        self.side_tabs = QTabWidget()
        self.side_tabs.addTab(scroll, "Findings")
        self.side_tabs.addTab(self.scoring, "Score (SvdH)")
        # Room for the findings' widest state (no verdict: the bold P(RA) line, the research button)
        # beside its scroll bar, so nothing there is cut at the right edge.
        self.side_tabs.setMinimumWidth(360)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        for w in (self.worklist, centre, self.side_tabs):
            self.splitter.addWidget(w)
        # A smaller window takes a third of the loss from the worklist, none from the side panel
        # (its minimum keeps the findings whole), the rest from the image.
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes(list(layout.DEFAULT_SPLIT))
        self.setCentralWidget(self.splitter)
        self.panels = Panels(self, self.splitter, self.strip)
        self.panels.adopt_layer_controls(self.viewer, self.side_tabs)

        self.status_text = QLabel("Ready")
        self._status_timer = QTimer(self, singleShot=True)
        self._status_timer.timeout.connect(lambda: self.status_text.setText(""))
        self.pixel_label = QLabel("", objectName="muted")
        self.model_status = QLabel("", objectName="muted")
        plain.make_plain(self.status_text, self.pixel_label, self.model_status)  # file names, model text
        self.batch_status = BatchStatus()
        sb = self.statusBar()
        sb.addWidget(self.status_text, 1)
        sb.addPermanentWidget(self.pixel_label)
        sb.addPermanentWidget(self.batch_status)
        sb.addPermanentWidget(self.model_status)
        self._build_actions()
        self._wire()
        self.findings.set_reader(settings.reader_name)
        self.worklist.model.set_rows(store.rows())
        for sig in (self.worklist.model.modelReset, self.worklist.model.rowsInserted, self.worklist.model.rowsRemoved):
            sig.connect(self._show_welcome)
        self._show_welcome()
        self._apply_layer_defaults()
        self._default_state = self.saveState(layout.VERSION)  # the toolbar as built: Reset layout
        layout.restore(self, self.splitter)
        self.panels.sync_actions()

    # ---- construction ----------------------------------------------------------------------------
    def _action(self, menu, text, slot, shortcut=None, tip=None) -> QAction:
        return menus.action(self, menu, text, slot, shortcut, tip)

    def _build_actions(self) -> None:
        menus.build(self)  # ui/menus.py; the DICOM menu and listener: ui/dicom_actions.py

    def _wire(self) -> None:
        j = self.jobs
        self.worklist.case_selected.connect(self.open_case)
        self.findings.sign_off_requested.connect(self.sign_off)
        self.findings.research_requested.connect(self._on_research_requested)
        self.worklist.compare_requested.connect(lambda row_id: menu_actions.compare(self, row_id))
        self.score_sheet = ScoringController(self.scoring, self.viewer, ScoreBook(self.store), self.reader,
                                             self.session.audit, self.show_status, parent=self)
        self.radiogrammetry = measure_controller.install(self)  # its side tab: ui/measure_controller.py
        self.annotations = annotation_controller.install(self)  # arrows, texts, angles, ROIs: stored, audited
        self.banner.open_settings.connect(self.show_settings)
        self.batch_status.cancel_requested.connect(self.cancel_batch)
        if hasattr(self.viewer, "pixel_info"):
            self.viewer.pixel_info.connect(self.pixel_label.setText)
        j.open_preview.connect(self._on_preview)
        j.open_image.connect(self._on_image)
        j.open_stage.connect(self._on_stage)
        j.open_finished.connect(self._on_open_finished)
        j.open_failed.connect(self._on_open_failed)
        j.result_ready.connect(self._on_result)
        j.analysis_failed.connect(self._on_analysis_failed)
        j.row_started.connect(self._on_row_started)
        j.batch_progress.connect(self.batch_status.update_progress)
        j.batch_finished.connect(self._on_batch_finished)
        j.model_loading.connect(lambda d: self._status(f"Loading model… ({Path(d).name})"))
        j.model_ready.connect(self._on_model_ready)
        j.model_failed.connect(self._on_model_failed)

    def _apply_layer_defaults(self) -> None:
        s = self.settings
        for name in HEATMAPS:
            self.viewer.set_layer_opacity(name, s.overlay_opacity)
            self.viewer.set_layer_visible(name, s.default_overlay == name)

    def _show_welcome(self, *_) -> None:
        empty = self.worklist.model.rowCount() == 0
        self.welcome.setVisible(empty)
        self.viewer.setVisible(not empty)

    # ---- layout (kept in the user config folder: ra_desktop/ui/layout.py) -------------------------
    def reset_layout(self) -> None:
        """View > Reset layout: the default window and panel layout for this screen."""
        layout.apply_default(self, self.splitter, self._default_state)

    # ---- lifecycle -------------------------------------------------------------------------------
    def start_services(self) -> None:
        """Called once the window is on screen: the model (and torch) load on the worker thread."""
        self.jobs.start(str(self.settings.model_path()), self.settings.device)
        self.dicom.apply(self.settings)  # listens only when the settings enable it

    def closeEvent(self, event) -> None:  # noqa: N802
        if self.panels.reading:
            self.panels.toggle_reading_mode()  # save the reading room's layout, not full screen
        layout.save(self, self.splitter)  # never from an offscreen run
        self.dicom.stop()  # waits for instances in flight
        for win in list(self._compare_windows):  # waits for their image loads
            win.close()
        self.other_studies.shutdown()
        for scan in self._scans:
            scan.token.cancel()
            scan.wait(5000)
        queued = self.session.queued_ids(self.worklist.model.rows())
        self.jobs.shutdown()
        self.session.app_closed(queued)
        super().closeEvent(event)

    def set_deidentify_reports(self, on: bool) -> None:
        self.settings = self.settings.replace(deidentify_reports=bool(on))
        save_settings(self.settings)
        self.deidentify_action.setChecked(bool(on))
        self._status("Reports will be de-identified" if on else "Reports will carry patient data", 5000)

    def _status(self, text: str, timeout_ms: int = 0) -> None:
        self.status_text.setText(text)
        # a member timer (not a bare singleShot lambda) dies with the window: no call on a deleted label
        self._status_timer.stop()
        if timeout_ms:
            self._status_timer.start(timeout_ms)
    show_status = _status  # public: for the ui glue (export, DICOM) beside the window

    # ---- adding cases ----------------------------------------------------------------------------
    def open_files_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, "Open radiographs", "", "Images (*.dcm *.dicom *.png *.jpg *.jpeg *.bmp *.tif *.tiff);;All files (*)")
        if files:
            self.add_paths(files)

    def open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of radiographs")
        if folder:
            self.add_paths([folder])

    def add_paths(self, paths: list[str]) -> ScanThread:
        scan = ScanThread([str(Path(p).resolve()) for p in paths], self.store.known_paths(), parent=self)
        scan.found.connect(self._on_found)
        scan.progress.connect(lambda n, name: self._status(f"Reading files… {n} ({name})"))
        scan.done.connect(lambda n, cancelled, s=scan: self._on_scan_done(s, n, cancelled))
        self._scans.append(scan)
        self._status("Reading files…")
        scan.start()
        return scan

    def _on_found(self, cases) -> None:
        ids = self.store.add_cases(cases)
        self.worklist.model.add_rows([r for r in (self.store.get(i) for i in ids) if r is not None])
        if self.current_row_id is None and self.worklist.proxy.rowCount():
            self.worklist.table.selectRow(0)

    def _on_scan_done(self, scan: ScanThread, n: int, cancelled: bool) -> None:
        self._scans.remove(scan)
        scan.wait()
        bad = sum(1 for r in self.worklist.model.rows() if r.status == FAILED)
        self._status(f"Worklist: {self.worklist.model.rowCount()} cases ({bad} unreadable or failed)"
                     if not cancelled else "Reading files cancelled", 8000)

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.add_paths(paths)

    # ---- the open case ---------------------------------------------------------------------------
    def open_case(self, row_id: int) -> None:
        row = self.worklist.model.row(row_id)
        if row is None:
            return
        self.current_row_id = row_id
        analyse = self.session.open(row)
        self._stage_notes = []
        self._shown_layers = {}
        self.current_result = None
        self.findings.show_row(row)
        self.other_studies.show_for(row, self.worklist.model.rows())
        self.score_sheet.open(row)
        self.viewer.clear()
        self.findings.set_stage("Loading image…")
        # An image whose UID names another image is shown, never analysed under that UID.
        self.jobs.open_case(row_id, row.path, self.settings.explanations, analyse=analyse,
                            colormaps={m: self.viewer.layer_state(m)["cmap"] for m in self.settings.explanations
                                       if m in LAYERS})

    def _on_preview(self, row_id: int, preview) -> None:  # JPEG 2000: a reduced level, display only
        self.viewer.show_preview(preview)
        self.findings.set_stage("Decoding full resolution…")

    def _on_image(self, row_id: int, radiograph, gt) -> None:
        self.viewer.set_radiograph(radiograph)
        self.viewer.set_ground_truth(gt)
        if row_id == self.current_row_id:
            self.score_sheet.image_shown(gt)
        self.findings.set_stage(self._image_only_reason(row_id) or "Analysing…")

    def _on_stage(self, row_id: int, stage: str, st) -> None:
        if st.status != "ok":  # e.g. SHAP not installed or failed: say so, keep the rest
            self._stage_notes.append(f"{stage}: {st.status}{' — ' + st.message if st.message else ''}")
        self._show_partial(stage, st.result)

    def _show_partial(self, stage: str, partial) -> None:
        self.current_result = partial
        self.findings.show_result(partial)
        self._show_layers(partial)
        todo = [e for e in self.settings.explanations
                if e not in partial.heatmaps and not any(n.startswith(e) for n in self._stage_notes)]
        self.findings.set_stage("\n".join([*self._stage_notes, f"Computing {', '.join(todo)}…" if todo else ""]).strip())

    def _show_layers(self, result) -> None:
        gradcam = result.heatmaps.get("gradcam")
        if self.findings.not_applicable:  # no attention beside the scores, research view or not
            self.score_sheet.model_map(None)
            if self.findings.withheld:  # and no maps at all unless asked for (research)
                return
        elif gradcam is not None and self._shown_layers.get("gradcam") is not gradcam.values:
            self.score_sheet.model_map(gradcam.values)
        # Rendering a full-size overlay costs tens of ms on the GUI thread: hand each map to the
        # viewer once, not again with every later stage or the final result.
        for name, hm in result.heatmaps.items():
            if name in HEATMAPS and self._shown_layers.get(name) is not hm.values:
                self.viewer.set_layer(name, hm.values, hm.signed)
                self._shown_layers[name] = hm.values
        if result.heatmaps and not self._shown_layers.get("seen") and result.geometry is not None:
            self.viewer.set_seen_box(result.geometry.seen_box() or (0, 0, 0, 0))
            self._shown_layers["seen"] = True

    def _on_research_requested(self) -> None:
        """The reader asked to see a result the model gives no verdict on: show it, and audit that."""
        row = self.session.research_view(self.current_row_id)
        if row is None:
            return
        self.findings.show_row(row)
        if self.current_result is not None:
            self.findings.show_result(self.current_result)
            self._show_layers(self.current_result)

    def _on_open_finished(self, row_id: int, result) -> None:
        if result is None:
            self.findings.set_stage(self._image_only_reason(row_id))
            return
        self._show_partial("final", result)
        self.findings.set_stage("\n".join(self._stage_notes))

    # ---- scoring (Sharp/van der Heijde): ui/scoring_controller.py ------------------------------------
    def reader(self) -> str:
        """Who scores: the reader name from the settings, else the computer account."""
        return self.settings.reader_name or audit.os_user()

    def start_scoring(self) -> None:
        self.side_tabs.setCurrentWidget(self.scoring)
        self.scoring.table.setFocus()

    def _image_only_reason(self, row_id: int) -> str:
        """Why an opened case is shown without analysis ("" when it is analysed)."""
        row = self.worklist.model.row(row_id)
        if row is not None and is_conflict(row.case_id):
            return "Image only: its UID names another image (see the row's note)"
        return "" if self.jobs.has_model else "No model installed: image only"

    def _on_open_failed(self, row_id: int, reason: str) -> None:  # reason: in the case header and status bar
        self.viewer.drop_preview()  # the full decode failed: no picture of a case that did not open
        self.findings.set_stage("Could not be analysed.")

    # ---- results into the database ---------------------------------------------------------------
    def refresh_row(self, row_id: int) -> None:
        """Show the stored row again (worklist, and the findings when it is the open case)."""
        row = self.store.get(row_id)
        if row is not None:
            self.worklist.model.update_row(row)
            if row_id == self.current_row_id:
                self.findings.show_row(row)

    def _on_row_started(self, row_id: int) -> None:
        if self.session.started(self.worklist.model.row(row_id)):
            self.refresh_row(row_id)

    def _on_result(self, row_id: int, result, shown_by_open: bool) -> None:
        self.session.analysed(row_id, result, self.jobs.model.sha256 if self.jobs.model else None)
        self.refresh_row(row_id)
        if row_id == self.current_row_id and not shown_by_open:  # a batch result for the case on screen
            self.findings.show_result(result)

    def _on_analysis_failed(self, row_id: int, reason: str) -> None:
        row = self.session.failed(row_id, reason)
        self.refresh_row(row_id)
        self._status(f"{row.file_name if row else row_id}: {reason}", 15000)

    def sign_off(self, verdict: str, note: str) -> None:
        if self.current_row_id is None or not (self.settings.reader_name or menu_actions.ask_reader_name(self)):
            return
        self.session.sign_off(self.current_row_id, verdict, note)
        self.refresh_row(self.current_row_id)
        self._status(f"Signed off: {verdict}", 5000)

    # ---- batch -------------------------------------------------------------------------------------
    def analyse_all(self) -> None:
        if not self.jobs.has_model:
            plain.message(self, QMessageBox.Icon.Information, APP_NAME,
                          self._model_error or "The model is still loading.")
            return
        rows = self.session.queue_batch(self.worklist.model.rows(), self.jobs.batch_row_ids())
        if not rows:
            self._status("Nothing to analyse: every case has a result", 5000)
            return
        for r in rows:
            self.refresh_row(r.id)
        self.jobs.analyse_batch([(r.id, r.path) for r in rows], self.settings.batch_explanations)

    def cancel_batch(self) -> None:
        dropped = self.jobs.cancel_batch()
        self.session.batch_cancelled(dropped)
        for rid in dropped:
            self.refresh_row(rid)

    def _on_batch_finished(self, progress, cancelled: bool) -> None:
        self.batch_status.hide()
        for rid in self.session.batch_finished(self.worklist.model.rows()):
            self.refresh_row(rid)
        self._status(("Batch cancelled" if cancelled else "Batch finished")
                     + f": {progress.done} analysed, {progress.failed} failed", 15000)

    # ---- model -------------------------------------------------------------------------------------
    def _on_model_ready(self, info) -> None:
        self._model_error = None
        self.banner.hide()
        m = info.manifest
        self.findings.set_model(m, info.sha256, info.device)
        self.model_status.setText(f"{m.name} {m.version} · {info.device}")
        self._status(f"Model ready: {m.name} {m.version} on {info.device}", 8000)
        if self._pending_model is not None and Path(self._pending_model) == Path(info.directory):
            self.settings = self.settings.replace(model_dir=self._pending_model,
                                                  device=self._pending_device or self.settings.device)
            save_settings(self.settings)
            self._pending_model = self._pending_device = None
        if self._cpu_fallback:
            self.model_status.setText(f"{m.name} {m.version} · cpu (CUDA not available here)")
        if self.current_row_id is not None:  # analyse the case already on screen
            self.open_case(self.current_row_id)

    def _on_model_failed(self, reason: str, kept_previous: bool) -> None:
        pending, self._pending_model, self._pending_device = self._pending_model, None, None
        if kept_previous:  # the refused folder or device is not saved (_on_model_ready saves)
            self._status("Model not changed: the previous model is still in use", 8000)
            plain.message(self, QMessageBox.Icon.Warning, "Model not imported",
                          f"The model folder {pending or ''} cannot be used:\n\n{reason}\n\n"
                          "The previous model is still in use.")
            return
        if self.settings.device == "cuda" and not self._cpu_fallback:
            self._cpu_fallback = True  # e.g. settings from a GPU workstation: run, and say so
            self._status(f"CUDA is not usable here ({reason}); loading the model on the CPU", 15000)
            self.jobs.load_model(str(self.settings.model_path()), "cpu")
            return
        self._model_error = f"No model installed: {reason}"
        self.banner.show_missing(pending or str(self.settings.model_path()), reason)
        self.model_status.setText("no model")
        self._status("No model installed — see the banner", 8000)

    # ---- dialogs -----------------------------------------------------------------------------------
    def show_settings(self) -> None:
        dlg = SettingsDialog(self.settings, self)
        if not dlg.exec():
            return
        new = dlg.result_settings()
        model_changed = new.model_path() != self.settings.model_path() or new.device != self.settings.device
        if new.theme != self.settings.theme:
            theme.apply_theme(new.theme)
        # the model folder and device are saved only once the model has loaded (_on_model_ready)
        self.settings = new.replace(model_dir=self.settings.model_dir, device=self.settings.device)
        save_settings(self.settings)
        self.findings.set_reader(new.reader_name)
        self._apply_layer_defaults()
        self.dicom.apply(self.settings)
        self.receive_action.setChecked(self.dicom.listener is not None)
        if model_changed:
            self._pending_model, self._pending_device = str(new.model_path()), new.device
            self.jobs.load_model(self._pending_model, new.device)

    def open_path(self, path: str) -> None:
        """Open one file from outside the worklist (gallery): add it if new, then select it."""
        path = str(Path(path).resolve())
        for r in self.worklist.model.rows():
            if r.path == path:
                self.worklist.select_row(r.id)
                self.open_case(r.id)
                return
        scan = self.add_paths([path])
        scan.done.connect(lambda *_: self.open_path(path) if any(
            r.path == path for r in self.worklist.model.rows()) else None)


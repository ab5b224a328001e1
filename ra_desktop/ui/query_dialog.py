"""Query/retrieve: find studies on a configured node (C-FIND), bring the chosen ones here.

Search and retrieval run off the GUI thread (worker/task.py) with progress and Cancel. Retrieved
files go into the user data folder's received images and are added to the worklist like files
opened from a folder. Every text from the peer is shown as plain text.
"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QComboBox, QDialog, QFormLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
    QProgressBar, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout,
)

from ra_desktop.dicomnet.inbox import Inbox
from ra_desktop.dicomnet.nodes import RemoteNode
from ra_desktop.dicomnet.query import find_priors, find_studies
from ra_desktop.dicomnet.retrieve import get_studies, move_studies
from ra_desktop.settings import Settings
from ra_desktop.ui import plain
from ra_desktop.worker.task import TaskThread

COLUMNS = ("Patient ID", "Patient name", "Date", "Modalities", "Description", "Images")
MODALITIES = ("any", "CR", "DX")


class QueryDialog(QDialog):
    """``retrieved`` carries the paths of the instances now on this workstation."""

    retrieved = Signal(list)

    def __init__(self, settings: Settings, parent=None, *, patient_id: str = "", before: str = "",
                 listening: bool = False, priors_of: tuple[str, str, str] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Query / retrieve")
        self.resize(860, 520)
        self._settings = settings
        self._task: TaskThread | None = None
        self.matches: list = []
        self._priors_of = priors_of  # (patient ID, study date, study UID): "Get priors"

        self.node = QComboBox()
        self.node.addItems(list(settings.dicom_nodes))
        self.patient_id = QLineEdit(patient_id, placeholderText="exact, or with * and ?")
        self.patient_name = QLineEdit(placeholderText="e.g. DOE^J*")
        self.date_from = QLineEdit(placeholderText="YYYYMMDD", maxLength=8)
        self.date_to = QLineEdit(before, placeholderText="YYYYMMDD", maxLength=8)
        self.modality = QComboBox()
        self.modality.addItems(list(MODALITIES))
        self.modality.setCurrentText("any")
        dates = QHBoxLayout()
        dates.addWidget(self.date_from)
        dates.addWidget(QLabel("to"))
        dates.addWidget(self.date_to)
        form = QFormLayout()
        form.addRow("Node", self.node)
        form.addRow("Patient ID", self.patient_id)
        form.addRow("Patient name", self.patient_name)
        form.addRow("Study date", dates)
        form.addRow("Modality", self.modality)
        self.by_move = QCheckBox("Retrieve by C-MOVE to this workstation's listener (default: C-GET)")
        self.by_move.setEnabled(listening)  # the node sends to our AE title: it must be listening
        self.by_move.setToolTip("Needs this workstation's AE title, host and port in the PACS's configuration")
        form.addRow("", self.by_move)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(lambda _i: self.retrieve())
        self.search_button = QPushButton("Search")
        self.search_button.setDefault(True)
        self.search_button.clicked.connect(self.search)
        self.retrieve_button = QPushButton("Retrieve selected")
        self.retrieve_button.clicked.connect(self.retrieve)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        self.progress = QProgressBar()
        self.progress.hide()
        self.message = QLabel("", wordWrap=True)
        plain.make_plain(self.message)
        buttons = QHBoxLayout()
        buttons.addWidget(self.search_button)
        buttons.addWidget(self.retrieve_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.progress)
        lay.addWidget(self.message)
        lay.addLayout(buttons)
        if not settings.dicom_nodes:
            self.message.setText("No DICOM node is configured: add the PACS in Settings > DICOM.")
            for b in (self.search_button, self.retrieve_button):
                b.setEnabled(False)

    # ---- running -----------------------------------------------------------------------------------
    def _node(self):
        return RemoteNode.parse(self.node.currentText())

    def _run(self, fn, on_done, busy_text: str) -> TaskThread:
        self.search_button.setEnabled(False)
        self.retrieve_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.message.setText(busy_text)
        task = TaskThread(fn, self)
        task.progressed.connect(self._on_progress)
        task.succeeded.connect(on_done)
        task.failed.connect(lambda reason: self.message.setText(
            "Cancelled." if reason == "cancelled" else f"{busy_text.rstrip('…')} failed: {reason}"))
        task.finished.connect(self._idle)
        self._task = task
        task.start()
        return task

    def _idle(self) -> None:
        self.search_button.setEnabled(True)
        self.retrieve_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.hide()

    def _on_progress(self, done: int, total: int, text: str) -> None:
        self.progress.show()
        self.progress.setRange(0, max(total, 0))
        self.progress.setValue(done)
        if text:
            self.message.setText(text)

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def search(self) -> TaskThread | None:
        modality = self.modality.currentText()
        keys = dict(patient_id=self.patient_id.text().strip(), patient_name=self.patient_name.text().strip(),
                    date_from=self.date_from.text().strip() or None, date_to=self.date_to.text().strip() or None,
                    modality="" if modality == "any" else modality)
        try:
            node = self._node()
        except ValueError as exc:
            self.message.setText(str(exc))
            return None
        aet = self._settings.dicom_ae_title
        if self._priors_of is not None:
            pid, date, uid = self._priors_of
            self._priors_of = None  # once: later searches use the form
            return self._run(lambda _p, token: find_priors(node, pid, date, calling_aet=aet, exclude_study_uid=uid,
                                                           cancel=token),
                             self._show_matches, f"Looking for earlier hand studies of {pid} on {node.ae_title}…")
        return self._run(lambda _p, token: find_studies(node, calling_aet=aet, cancel=token, **keys),
                         self._show_matches, f"Searching {node.ae_title}…")

    def _show_matches(self, matches) -> None:
        self.matches = list(matches)
        self.table.setRowCount(len(self.matches))
        for i, m in enumerate(self.matches):
            values = (m.patient_id, m.patient_name, m.study_date, "\\".join(m.modalities),
                      m.description, "" if m.num_instances is None else str(m.num_instances))
            for j, v in enumerate(values):
                self.table.setItem(i, j, QTableWidgetItem(v or ""))  # items are plain text
        self.message.setText(f"{len(self.matches)} studies found" if self.matches else "No study matches.")
        if self.matches:
            self.table.selectRow(0)

    def retrieve(self) -> TaskThread | None:
        chosen = [self.matches[i] for i in sorted({ix.row() for ix in self.table.selectedIndexes()})]
        if not chosen:
            self.message.setText("Select one or more studies first.")
            return None
        node, aet = self._node(), self._settings.dicom_ae_title
        uids = [m.study_uid for m in chosen]
        by_move = self.by_move.isChecked() and self.by_move.isEnabled()

        def work(progress, token):
            def report(p) -> None:
                total = p.done + (p.remaining or 0)
                progress(p.done, total, f"{p.completed} of {total or '?'} images retrieved"
                         + (f", {p.failed} failed" if p.failed else ""))

            if by_move:  # the instances arrive through the listener, into the worklist as they come
                return by_move, move_studies(node, uids, aet, calling_aet=aet, progress=report, cancel=token)
            return by_move, get_studies(node, uids, Inbox(), calling_aet=aet, progress=report, cancel=token)

        how = "C-MOVE" if by_move else "C-GET"
        return self._run(work, self._on_retrieved, f"Retrieving {len(chosen)} studies from {node.ae_title} ({how})…")

    def _on_retrieved(self, outcome) -> None:
        by_move, results = outcome
        done = sum(r.completed for r in results)
        problems = [r.error or (f"{r.failed} images failed" if r.failed else "") for r in results if not r.ok]
        files = [str(f) for r in results for f in r.files]
        text = (f"{done} images sent to this workstation's listener." if by_move
                else f"{len(files)} images retrieved and added to the worklist.")
        if problems:
            text += " Not all went well: " + "; ".join(p for p in problems if p)[:500]
        self.message.setText(text)
        if files:
            self.retrieved.emit(files)

    def closeEvent(self, event) -> None:  # noqa: N802
        if self._task is not None and self._task.isRunning():
            self._task.cancel()
            self._task.wait(10000)
        super().closeEvent(event)


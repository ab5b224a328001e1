"""The DICOM page of the settings: our node (listener off by default) and the remote nodes.

Nothing here opens a socket but "Test connection", which sends one C-ECHO to the node the user
selected, off the GUI thread.
"""
from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QListWidget, QPushButton,
    QSpinBox, QVBoxLayout, QWidget,
)

from ra_desktop.dicomnet.nodes import RemoteNode, echo
from ra_desktop.settings import Settings, check_ae_title, parse_node
from ra_desktop.ui import plain
from ra_desktop.worker.task import TaskThread


class DicomSettingsPage(QWidget):
    def __init__(self, settings: Settings, parent=None) -> None:
        super().__init__(parent)
        self._settings = settings
        self._echo: TaskThread | None = None

        self.listen = QCheckBox("Receive images (DICOM listener: C-ECHO, C-STORE)")
        self.listen.setChecked(settings.dicom_listener_enabled)
        self.aet = QLineEdit(settings.dicom_ae_title, maxLength=16)
        self.port = QSpinBox(minimum=1, maximum=65535)
        self.port.setValue(settings.dicom_port)
        self.allowed = QLineEdit(" ".join(settings.dicom_allowed_callers),
                                 placeholderText="any caller (list AE titles to accept only those)")
        self.auto_analyse = QCheckBox("Analyse new studies as they arrive")
        self.auto_analyse.setChecked(settings.dicom_auto_analyse)
        ours = QGroupBox("This workstation")
        of = QFormLayout(ours)
        of.addRow(self.listen)
        of.addRow("AE title", self.aet)
        of.addRow("Port", self.port)
        of.addRow("Accept calls from", self.allowed)
        of.addRow(self.auto_analyse)

        self.nodes = QListWidget()
        self.nodes.addItems(list(settings.dicom_nodes))
        self.node_edit = QLineEdit(placeholderText="AETITLE@host:port, e.g. PACS@10.0.0.5:104")
        add = QPushButton("Add")
        add.clicked.connect(self._add_node)
        self.node_edit.returnPressed.connect(self._add_node)
        remove = QPushButton("Remove")
        remove.clicked.connect(self._remove_node)
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = QLabel("", wordWrap=True)
        plain.make_plain(self.test_result)  # peer text: never markup
        row = QHBoxLayout()
        row.addWidget(self.node_edit, 1)
        row.addWidget(add)
        row.addWidget(remove)
        row.addWidget(self.test_button)
        remote = QGroupBox("PACS and other nodes (query, retrieve, send)")
        rl = QVBoxLayout(remote)
        rl.addWidget(self.nodes)
        rl.addLayout(row)
        rl.addWidget(self.test_result)

        note = QLabel("No connection is made to any computer but the nodes listed here, and nothing "
                      "listens for images unless receiving is switched on.", objectName="muted", wordWrap=True)
        lay = QVBoxLayout(self)
        lay.addWidget(ours)
        lay.addWidget(remote, 1)
        lay.addWidget(note)

    # ---- nodes -------------------------------------------------------------------------------------
    def _add_node(self) -> None:
        text = self.node_edit.text().strip()
        try:
            parse_node(text)
        except ValueError as exc:
            self.test_result.setText(str(exc))
            return
        self.nodes.addItem(text)
        self.nodes.setCurrentRow(self.nodes.count() - 1)
        self.node_edit.clear()
        self.test_result.setText("")

    def _remove_node(self) -> None:
        for item in self.nodes.selectedItems():
            self.nodes.takeItem(self.nodes.row(item))

    def test_connection(self) -> TaskThread | None:
        """C-ECHO to the selected node (or the one being typed), off the GUI thread."""

        item = self.nodes.currentItem()
        text = item.text() if item is not None else self.node_edit.text().strip()
        try:
            node = RemoteNode.parse(text)
            calling = check_ae_title(self.aet.text())
        except ValueError as exc:
            self.test_result.setText(str(exc))
            return None
        self.test_button.setEnabled(False)
        self.test_result.setText(f"Echo to {text}…")
        task = TaskThread(lambda _progress, _token: echo(node, calling_aet=calling), self)
        task.succeeded.connect(lambda r: self.test_result.setText(str(r)))
        task.failed.connect(lambda reason, t=text: self.test_result.setText(f"{t}: {reason}"))
        task.finished.connect(lambda: self.test_button.setEnabled(True))
        self._echo = task
        task.start()
        return task

    # ---- result ------------------------------------------------------------------------------------
    def values(self) -> dict:
        """The settings fields of this page; ValueError (a sentence) when one is not valid."""
        allowed = tuple(a for a in self.allowed.text().replace(",", " ").split() if a)
        return dict(
            dicom_listener_enabled=self.listen.isChecked(),
            dicom_ae_title=check_ae_title(self.aet.text()),
            dicom_port=int(self.port.value()),
            dicom_allowed_callers=tuple(check_ae_title(a) for a in allowed),
            dicom_auto_analyse=self.auto_analyse.isChecked(),
            dicom_nodes=tuple(self.nodes.item(i).text() for i in range(self.nodes.count())),
        )

    def wait(self) -> None:
        if self._echo is not None:
            self._echo.wait()

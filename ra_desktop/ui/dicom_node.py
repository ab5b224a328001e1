"""The window's DICOM listener: started and stopped by the settings, shown in the status bar.

Instances arrive on pynetdicom's threads; they reach the window as one batch of worklist entries
every ``FLUSH_MS`` (a queued signal and a timer on the GUI thread), so a modality pushing a
hundred images costs the window a few table inserts, not a hundred repaints.
"""
from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel

from ra_desktop.dicomnet.listener import StoreListener
from ra_desktop.settings import Settings
from ra_desktop.ui import plain
from ra_desktop.worklist.describe import describe

log = logging.getLogger(__name__)
FLUSH_MS = 100


class DicomNode(QObject):
    """Owns the store SCP while the settings enable it; ``arrived`` carries lists of NewCase."""

    arrived = Signal(object)  # list[NewCase], on the GUI thread
    _queued = Signal()  # emitted from pynetdicom's threads: a queued connection to the GUI thread

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.listener = None
        self.received = 0
        self.refused = 0
        self._pending: list = []
        self._lock = threading.Lock()
        self._flush = QTimer(self, singleShot=True, interval=FLUSH_MS)
        self._flush.timeout.connect(self._emit_pending)
        self._queued.connect(self._schedule)
        self.indicator = QLabel("", objectName="muted")
        plain.make_plain(self.indicator)
        self._settings: Settings | None = None

    # ---- lifecycle ---------------------------------------------------------------------------------
    def apply(self, settings: Settings) -> None:
        """Start, restart or stop the listener to match ``settings`` (only what changed)."""
        wanted = (settings.dicom_listener_enabled, settings.dicom_ae_title, settings.dicom_port,
                  settings.dicom_allowed_callers)
        current = None if self._settings is None else (
            self._settings.dicom_listener_enabled, self._settings.dicom_ae_title,
            self._settings.dicom_port, self._settings.dicom_allowed_callers)
        self._settings = settings
        if wanted == current and (self.listener is not None) == settings.dicom_listener_enabled:
            return
        self.stop()
        if settings.dicom_listener_enabled:
            self._start(settings)
        else:
            self._show("DICOM: not receiving", "Receiving is off (Settings > DICOM)", ok=None)

    def _start(self, s: Settings) -> None:
        try:
            self.listener = StoreListener(ae_title=s.dicom_ae_title, port=s.dicom_port,
                                          allowed_callers=s.dicom_allowed_callers,
                                          on_received=self._on_received)
            self.listener.start()
        except Exception as exc:  # noqa: BLE001 - e.g. the port is taken: say so, keep the app
            log.warning("DICOM listener did not start", exc_info=True)
            self.listener = None
            self._show(f"DICOM: not receiving — {exc}", f"The listener could not start: {exc}", ok=False)
            return
        self._show_listening()

    def stop(self) -> None:
        if self.listener is not None:
            self.listener.stop(grace_s=2.0)  # a store being written completes; idle callers are let go
            self.listener = None
        self._emit_pending()

    # ---- arrivals (pynetdicom's threads) ------------------------------------------------------------
    def _on_received(self, outcome) -> None:
        """One C-STORE's outcome (``dicomnet.inbox.Received``), on the association's thread."""

        case = outcome.case
        if case is None and outcome.ok and outcome.path is not None:
            case = describe(outcome.path)  # a duplicate: back in the worklist if its row was removed
        with self._lock:
            if case is not None:
                self._pending.append(case)
            if not outcome.ok:
                self.refused += 1
        self._queued.emit()

    def _schedule(self) -> None:
        if not self._flush.isActive():
            self._flush.start()

    def _emit_pending(self) -> None:
        with self._lock:
            cases, self._pending = self._pending, []
        if cases:
            self.received += len(cases)
            self.arrived.emit(cases)
        if self.listener is not None:
            self._show_listening()

    # ---- indicator ---------------------------------------------------------------------------------
    def _show_listening(self) -> None:
        s = self._settings
        callers = ", ".join(s.dicom_allowed_callers) if s.dicom_allowed_callers else "any caller"
        refused = f", {self.refused} refused" if self.refused else ""
        self._show(f"● DICOM {s.dicom_ae_title}:{s.dicom_port} · {self.received} received{refused}",
                   f"Receiving as {s.dicom_ae_title} on port {s.dicom_port} from {callers}", ok=True)

    def _show(self, text: str, tip: str, ok: bool | None) -> None:
        self.indicator.setText(text)
        self.indicator.setToolTip(plain.tooltip(tip))
        self.indicator.setObjectName({True: "ok", False: "error", None: "muted"}[ok])
        colour = {True: "#3a3", False: "#d33", None: ""}[ok]
        self.indicator.setStyleSheet(f"color: {colour}" if colour else "")

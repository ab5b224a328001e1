"""One plain function run off the GUI thread, with progress, cancel and its result as signals.

For network work (C-ECHO, C-FIND, retrieval, sending) that may wait seconds on a peer: the window
keeps painting, and a dead peer costs the user a status line, never a frozen window.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from PySide6.QtCore import QThread, Signal

from ra_desktop.cancel import CancelToken
from ra_desktop.errors import Cancelled

log = logging.getLogger(__name__)


class TaskThread(QThread):
    """Runs ``fn(progress, token)``; ``progress(done, total, text)`` may be called from ``fn``.

    Exactly one of ``succeeded`` or ``failed`` is emitted (``failed`` with "cancelled" when the
    token stopped it), then QThread's own ``finished``.
    """

    progressed = Signal(int, int, str)
    succeeded = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable[[Callable[[int, int, str], None], CancelToken], Any], parent=None):
        super().__init__(parent)
        self._fn = fn
        self.token = CancelToken()

    def run(self) -> None:
        try:
            result = self._fn(lambda done, total, text="": self.progressed.emit(done, total, text), self.token)
        except Cancelled:
            self.failed.emit("cancelled")
        except Exception as exc:  # noqa: BLE001 - a peer's failure is a message, never a crash
            log.warning("background task failed", exc_info=True)
            self.failed.emit(str(exc) or type(exc).__name__)
        else:
            self.succeeded.emit(result)

    def cancel(self) -> None:
        self.token.cancel()

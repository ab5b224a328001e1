"""Cooperative cancellation shared by the pipeline, explanations, training and batch jobs."""
from __future__ import annotations

import threading

from ra_desktop.errors import Cancelled


class CancelToken:
    """A thread-safe flag checked between steps; ``check()`` raises :class:`Cancelled` once set."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled")


def check(token: CancelToken | None) -> None:
    """Raise :class:`Cancelled` if ``token`` is set; a ``None`` token never cancels."""
    if token is not None:
        token.check()

"""Latest-wins work for the explorer: only the newest request runs, an older one is dropped or cancelled.

While a slider moves, each position asks for a new image and readout; rendering them all would
leave the screen behind the hand. :class:`LatestWins` keeps one pending request: a newer one
replaces it and cancels the running one's token (checked between its steps), and at most one run
is ever scheduled, so a busy lane (the model's, shared with the open case) never fills with stale
work. The scheduler is any ``schedule(run)`` that calls ``run(*args)`` later on another thread:
a one-thread executor for rendering, the inference lane's ``submit_task`` (``run(model)``) for the
model. Plain Python, no Qt (the window turns the results into signals).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ra_desktop.cancel import CancelToken
from ra_desktop.errors import Cancelled

log = logging.getLogger(__name__)

Work = Callable[..., None]  # work(token, *args): the args are the scheduler's (the model)


class LatestWins:
    """At most one pending and one running piece of work; the newest request wins."""

    def __init__(self, schedule: Callable[[Callable[..., None]], Any]) -> None:
        self._schedule = schedule
        self._lock = threading.Lock()
        self._pending: Work | None = None
        self._scheduled = False
        self._token = CancelToken()
        self.runs = 0  # pieces of work that ran (tests: stale ones were dropped)

    def request(self, work: Work) -> None:
        """Run ``work(token, *args)`` soon, replacing any pending work and cancelling the running one."""
        with self._lock:
            self._pending = work
            self._token.cancel()
            if self._scheduled:
                return
            self._scheduled = True
        self._schedule(self._run)

    def cancel(self) -> None:
        """Drop the pending work and cancel the running one."""
        with self._lock:
            self._pending = None
            self._token.cancel()

    def _run(self, *args: Any) -> None:
        with self._lock:
            work, self._pending = self._pending, None
            self._scheduled = False
            token = self._token = CancelToken()
        if work is None:
            return
        self.runs += 1
        try:
            work(token, *args)
        except Cancelled:
            pass
        except Exception:  # noqa: BLE001 - the lane must survive anything; the window shows the last good state
            log.exception("explorer work failed")


class RenderLane:
    """One background thread for rendering, latest-wins (:class:`LatestWins` over an executor)."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="ra-explorer")
        self.latest = LatestWins(lambda run: self._pool.submit(run))

    def request(self, work: Work) -> None:
        self.latest.request(work)

    def shutdown(self, wait: bool = True) -> None:
        self.latest.cancel()
        self._pool.shutdown(wait=wait, cancel_futures=True)


class ModelLane:
    """A model of one's own on one background thread, for an explorer outside the main window
    (tests, the bench): ``submit_task(fn)`` runs ``fn(model)`` there, as the inference lane does."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="ra-explorer-model")

    def submit_task(self, fn: Callable[[Any], None]) -> None:
        self._pool.submit(fn, self.model)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=True)

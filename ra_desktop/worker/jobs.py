"""GUI-side job bookkeeping: job ids, latest-wins filtering and batch progress (STYLE P5).

The JobController lives on the GUI thread. It hands out increasing job ids, remembers which
open job is current and forwards only *its* results, so a slow result for a case the reader has
already left can never be drawn over the next case.
"""
from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal

from ra_desktop.io import offdecode
from ra_desktop.worker.inference import BATCH, OPEN, InferenceThread, Job, ModelInfo
from ra_desktop.worker.task import TaskThread

log = logging.getLogger(__name__)
Progress = Callable[[int, int, str], None]


@dataclass
class _Export:
    """An export in flight: its callbacks (GUI thread) and, while sending, its task thread."""

    then: Callable | None
    on_built: Callable | None
    on_progress: Callable | None
    on_finished: Callable | None
    on_failed: Callable | None
    task: TaskThread | None = None


@dataclass
class BatchProgress:
    total: int
    done: int = 0
    failed: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def finished(self) -> int:
        return self.done + self.failed

    def eta_s(self) -> float | None:
        """Seconds left, from the mean time per finished item; None until one has finished."""
        if self.finished == 0:
            return None
        per_item = (time.monotonic() - self.started) / self.finished
        return per_item * (self.total - self.finished)


class JobController(QObject):
    # the case on screen (row id first): only the current open job gets through
    open_preview = Signal(int, object)  # row id, io.preview.Preview: a picture until open_image
    open_image = Signal(int, object, object)  # row id, Radiograph, ground truth
    open_stage = Signal(int, str, object)  # row id, stage name, StageResult
    open_finished = Signal(int, object)  # row id, CaseResult | None
    open_failed = Signal(int, str)  # row id, reason
    # every analysis result, open or batch, for the worklist database; the flag is True when the
    # same result follows as open_finished (the case on screen), so it is drawn by that path only
    result_ready = Signal(int, object, bool)  # row id, CaseResult, shown by open_finished
    analysis_failed = Signal(int, str)  # row id, reason
    row_started = Signal(int)  # row id now analysing
    batch_progress = Signal(object)  # BatchProgress
    batch_finished = Signal(object, bool)  # BatchProgress, cancelled
    model_loading = Signal(str)
    model_ready = Signal(object)  # ModelInfo
    model_failed = Signal(str, bool)
    # exports (reports, DICOM objects) by job id, on the GUI thread
    export_progress = Signal(int, int, int, str)  # job id, done, total, text
    export_finished = Signal(int, object)  # job id, what the export returned
    export_failed = Signal(int, str)  # job id, reason
    # emitted on the lane or a task thread; this object lives on the GUI thread, so it is queued
    _export_event = Signal(int, str, object)  # job id, "progress" | "built" | "done" | "failed", payload

    def __init__(self, thread: InferenceThread | None = None, parent=None) -> None:
        super().__init__(parent)
        self.thread = thread or InferenceThread()
        self._ids = itertools.count(1)
        self._jobs: dict[int, Job] = {}
        self.current_open_id: int | None = None
        self.batch: BatchProgress | None = None
        self.model: ModelInfo | None = None
        self._exports: dict[int, _Export] = {}
        self._export_event.connect(self._on_export_event)
        t = self.thread
        # Signals emitted on the worker thread reach these slots through queued connections,
        # because this object lives on the GUI thread (AutoConnection picks queued).
        t.job_started.connect(self._on_started)
        t.image_preview.connect(self._on_preview)
        t.image_ready.connect(self._on_image)
        t.stage_ready.connect(self._on_stage)
        t.job_finished.connect(self._on_finished)
        t.job_failed.connect(self._on_failed)
        t.job_cancelled.connect(self._on_cancelled)
        t.model_loading.connect(self.model_loading)
        t.model_ready.connect(self._on_model_ready)
        t.model_failed.connect(self.model_failed)

    def start(self, model_dir: str, device: str) -> None:
        if not self.thread.isRunning():
            self.thread.start()
        offdecode.enable()  # JPEG 2000 decodes in a worker process: the window keeps painting
        self.thread.request_model(model_dir, device)

    def load_model(self, model_dir: str, device: str) -> None:
        self.thread.request_model(model_dir, device)

    def shutdown(self) -> None:
        self.thread.stop()
        offdecode.enable(False)

    @property
    def has_model(self) -> bool:
        return self.model is not None

    # ---- submitting ----------------------------------------------------------------------------
    def open_case(self, row_id: int, path: str, explanations: tuple[str, ...], analyse: bool = True,
                  colormaps: dict[str, str] | None = None) -> int:
        """Open a case on screen: its image first, then each stage; ``colormaps`` (layer -> colour
        map) are the viewer's, so the lane colours each map in as it arrives."""
        job = Job(next(self._ids), row_id, path, OPEN, tuple(explanations), analyse=analyse and self.has_model,
                  colormaps=dict(colormaps or {}))
        self._jobs[job.job_id] = job
        self.current_open_id = job.job_id  # from now on, older open jobs are stale
        self.thread.submit(job)
        return job.job_id

    def close_case(self) -> None:
        self.current_open_id = None
        self.thread.cancel_open()

    def analyse_batch(self, rows: list[tuple[int, str]], explanations: tuple[str, ...]) -> None:
        if self.batch is None or self.batch.finished >= self.batch.total:
            self.batch = BatchProgress(total=0)
        self.batch.total += len(rows)
        for row_id, path in rows:
            job = Job(next(self._ids), row_id, path, BATCH, tuple(explanations))
            self._jobs[job.job_id] = job
            self.thread.submit(job)
        self.batch_progress.emit(self.batch)

    def cancel_batch(self) -> list[int]:
        dropped = self.thread.cancel_batch()
        for jid in [j for j, job in self._jobs.items() if job.kind == BATCH and job.row_id in dropped]:
            self._jobs.pop(jid, None)
        batch, self.batch = self.batch, None
        if batch is not None:
            self.batch_finished.emit(batch, True)
        return dropped

    def batch_row_ids(self) -> set[int]:
        """Rows with a batch job still pending or running (so a resume never queues them twice)."""
        return {job.row_id for job in self._jobs.values() if job.kind == BATCH}

    @property
    def batch_running(self) -> bool:
        return self.batch is not None and self.batch.finished < self.batch.total

    def submit_export(self, work: Callable[[Any, Progress], Any], *,
                      then: Callable[[Any, Progress, Any], Any] | None = None,
                      on_built: Callable[[Any], None] | None = None,
                      on_progress: Callable[[int, int, str], None] | None = None,
                      on_finished: Callable[[Any], None] | None = None,
                      on_failed: Callable[[str], None] | None = None) -> int:
        """Run ``work(model, progress)`` on the inference lane (it may need the warm model, which
        has one lane) and, when given, ``then(built, progress, token)`` on a task thread after it
        (network: a slow peer never holds the model). Returns the export's job id, which
        ``export_progress``, ``export_finished`` and ``export_failed`` carry; the ``on_*``
        callbacks get this job's events only, on the GUI thread (``on_built`` as ``then`` starts)."""
        job_id = next(self._ids)
        self._exports[job_id] = _Export(then, on_built, on_progress, on_finished, on_failed)

        def progress(done: int, total: int, text: str = "") -> None:
            self._export_event.emit(job_id, "progress", (done, total, text))

        def task(model) -> None:
            try:
                out = work(model, progress)
            except Exception as exc:  # noqa: BLE001 - reported to the user as a value (STYLE P7)
                log.exception("export failed")
                self._export_event.emit(job_id, "failed", f"{type(exc).__name__}: {exc}")
                return
            self._export_event.emit(job_id, "built" if then is not None else "done", out)

        self.thread.submit_task(task)
        return job_id

    def _on_export_event(self, job_id: int, event: str, payload) -> None:
        ex = self._exports.get(job_id)
        if ex is None:
            return
        if event == "progress":
            self.export_progress.emit(job_id, *payload)
            if ex.on_progress is not None:
                ex.on_progress(*payload)
        elif event == "built":
            if ex.on_built is not None:
                ex.on_built(payload)
            self._send(job_id, ex, payload)
        elif event == "done":
            del self._exports[job_id]
            if ex.on_finished is not None:
                ex.on_finished(payload)
            self.export_finished.emit(job_id, payload)
        else:
            del self._exports[job_id]
            if ex.on_failed is not None:
                ex.on_failed(payload)
            self.export_failed.emit(job_id, payload)

    def _send(self, job_id: int, ex: _Export, built) -> None:
        """The export's second step on its own task thread, under the same job id."""
        then = ex.then
        ex.task = task = TaskThread(lambda progress, token: then(built, progress, token), self)
        # emitted on the task thread: through the queued signal to the GUI thread, like the lane
        task.progressed.connect(lambda d, n, m: self._export_event.emit(job_id, "progress", (d, n, m)))
        task.succeeded.connect(lambda out: self._export_event.emit(job_id, "done", out))
        task.failed.connect(lambda reason: self._export_event.emit(job_id, "failed", reason))
        task.finished.connect(task.deleteLater)
        task.start()

    # ---- slots (GUI thread) --------------------------------------------------------------------
    def _on_model_ready(self, info: ModelInfo) -> None:
        self.model = info
        self.model_ready.emit(info)

    def _on_started(self, job_id: int) -> None:
        job = self._jobs.get(job_id)
        if job is not None and job.analyse:
            self.row_started.emit(job.row_id)

    def _on_preview(self, job_id: int, preview) -> None:
        try:
            if job_id == self.current_open_id:  # a stale preview never shows over the next case
                self.open_preview.emit(self._jobs[job_id].row_id, preview)
        finally:
            preview.painted.set()  # shown (the slots paint it) or dropped: the lane decodes on

    def _on_image(self, job_id: int, radiograph, gt) -> None:
        if job_id == self.current_open_id:
            self.open_image.emit(self._jobs[job_id].row_id, radiograph, gt)

    def _on_stage(self, job_id: int, stage: str, partial) -> None:
        if job_id == self.current_open_id:
            self.open_stage.emit(self._jobs[job_id].row_id, stage, partial)

    def _on_finished(self, job_id: int, result) -> None:
        job = self._jobs.pop(job_id, None)
        if job is None:
            return
        on_screen = job.kind == OPEN and job_id == self.current_open_id
        if result is not None and not job.from_cache:  # a replayed result was saved the first time
            # a finished result belongs to its row even if the reader moved on: save it
            self.result_ready.emit(job.row_id, result, on_screen)
        if on_screen:
            self.open_finished.emit(job.row_id, result)
        self._count(job, failed=False)

    def _on_failed(self, job_id: int, reason: str) -> None:
        job = self._jobs.pop(job_id, None)
        if job is None:
            return
        self.analysis_failed.emit(job.row_id, reason)
        if job.kind == OPEN and job_id == self.current_open_id:
            self.open_failed.emit(job.row_id, reason)
        self._count(job, failed=True)

    def _on_cancelled(self, job_id: int) -> None:
        job = self._jobs.pop(job_id, None)
        if job is not None and job.kind == BATCH and self.batch is not None:
            self.batch.total -= 1  # cancelled items leave the batch instead of counting as done
            self._count(job, failed=None)

    def _count(self, job: Job, failed: bool | None) -> None:
        if job.kind != BATCH or self.batch is None:
            return
        if failed is True:
            self.batch.failed += 1
        elif failed is False:
            self.batch.done += 1
        self.batch_progress.emit(self.batch)
        if self.batch.finished >= self.batch.total:
            batch, self.batch = self.batch, None
            self.batch_finished.emit(batch, False)

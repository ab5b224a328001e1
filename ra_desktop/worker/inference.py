"""The one inference lane: a long-lived QThread that owns the warm model (STYLE P3, P5, P6).

The GUI never touches torch. This module is the Qt adapter only: the queue and its policy
(priorities, latest-wins, pre-emption) are in :mod:`.schedule`, what a job does in :mod:`.runner`,
both plain Python; here are the thread's loop, model loading and the signals. Every signal carries
the job id so the GUI can drop stale results (latest wins).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from PySide6.QtCore import QThread, Signal

from ra_desktop.errors import ModelUnavailable
from ra_desktop.worker.runner import Runner, warm_up
from ra_desktop.worker.schedule import BATCH, GROUP, OPEN, OPEN_CACHE, Job, LoadModel, Schedule

__all__ = ["BATCH", "GROUP", "OPEN", "OPEN_CACHE", "InferenceThread", "Job", "ModelInfo"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelInfo:
    """What the GUI may know about the loaded model (plain data, no torch objects)."""

    directory: str
    device: str
    manifest: Any  # the model package's Manifest (frozen dataclass)
    sha256: str


def _model_info(loaded: Any) -> ModelInfo:
    m = loaded.manifest
    return ModelInfo(str(loaded.directory), str(loaded.device), m, str(getattr(m, "weights_sha256", "")))


class InferenceThread(QThread):
    model_loading = Signal(str)  # model folder
    model_ready = Signal(object)  # ModelInfo
    model_failed = Signal(str, bool)  # reason, whether a previous model is still in use
    job_started = Signal(int)  # job id
    image_preview = Signal(int, object)  # job id, io.preview.Preview (JPEG 2000: display only)
    image_ready = Signal(int, object, object)  # job id, Radiograph, ground truth dict | None
    stage_ready = Signal(int, str, object)  # job id, stage name, StageResult (partial CaseResult)
    job_finished = Signal(int, object)  # job id, final CaseResult (None when analyse=False)
    job_failed = Signal(int, str)  # job id, reason for the reader
    job_cancelled = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._schedule = Schedule()
        events = SimpleNamespace(**{name: getattr(self, name).emit for name in (
            "job_started", "image_preview", "image_ready", "stage_ready", "job_finished", "job_failed",
            "job_cancelled")})
        self._runner = Runner(self._schedule, events)

    @property
    def _model(self) -> Any:  # LoadedModel, touched only on this thread
        return self._runner.model

    @_model.setter
    def _model(self, loaded: Any) -> None:
        self._runner.model = loaded

    @property
    def _running_batch(self) -> list[Job]:
        return self._schedule.running_batch

    # ---- called from the GUI thread ----------------------------------------------------------
    def request_model(self, model_dir: str | Path, device: str = "auto") -> None:
        self._schedule.request_model(str(model_dir), device)

    def submit(self, job: Job) -> None:
        """Queue a job. An OPEN job replaces a pending OPEN job and cancels the running one;
        if a BATCH job is running it is pre-empted and re-queued, so the reader never waits."""
        dropped = self._schedule.submit(job)
        if dropped is not None:  # emitted outside the lock: receivers may call back into us
            self.job_cancelled.emit(dropped.job_id)

    def submit_task(self, fn) -> None:
        """Run ``fn(loaded_model_or_None)`` on the inference lane (after the open case, before
        batch items): work that needs the model, such as report export, shares the one lane."""
        self._schedule.submit_task(fn)

    def cancel_batch(self) -> list[int]:
        """Drop queued batch jobs and cancel the running one. Returns the dropped row ids."""
        return self._schedule.cancel_batch()

    def cancel_open(self) -> None:
        self._schedule.cancel_open()

    def stop(self, wait_ms: int = 10000) -> None:
        self._schedule.stop()
        self.wait(wait_ms)
        self._schedule.prefetch.shutdown()

    # ---- the worker thread ---------------------------------------------------------------------
    def run(self) -> None:  # noqa: D401 - QThread entry point
        while True:
            task = self._schedule.take(grouping=self._model is not None)
            if task is None:
                return
            try:
                if isinstance(task, list):
                    self._runner.run_batch(task)
                elif isinstance(task, Job):
                    self._runner.run_job(task)
                elif isinstance(task, LoadModel):
                    self._load(task.model_dir, task.device)
                else:
                    task(self._model)
            except BaseException:  # noqa: BLE001 - the lane must survive anything
                log.exception("inference thread: unexpected error")
            finally:
                self._schedule.done()

    def _run_job(self, job: Job) -> None:
        """One job, synchronously on the calling thread (tests drive the lane without its loop)."""
        self._runner.run_job(job)

    def _load(self, model_dir: str, device: str) -> None:
        self.model_loading.emit(model_dir)
        try:
            # torch is imported here, on the worker thread, after the window is on screen (P14).
            from ra_desktop.model import load_model

            t0 = time.perf_counter()
            loaded = load_model(Path(model_dir), device)
            log.info("model %s loaded on %s in %.1f s", model_dir, loaded.device, time.perf_counter() - t0)
        except ModelUnavailable as exc:
            log.warning("model %s unavailable: %s", model_dir, exc.reason)
            self.model_failed.emit(exc.reason, self._model is not None)
            return
        except Exception as exc:  # noqa: BLE001 - any broken folder must leave the old model usable
            log.exception("model load failed")
            self.model_failed.emit(f"{type(exc).__name__}: {exc}", self._model is not None)
            return
        self._runner.set_model(loaded)  # replace only after a successful load: the old one stays otherwise
        warm_up(loaded)
        self.model_ready.emit(_model_info(loaded))

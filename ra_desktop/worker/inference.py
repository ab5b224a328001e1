"""The one inference lane: a long-lived QThread that owns the warm model (STYLE P3, P5, P6).

The GUI never touches torch. Jobs are plain objects put on a queue guarded by a condition
variable; the thread takes "load model" first, then the reader's "open" job, then batch jobs.
Every signal carries the job id so the GUI can drop stale results (latest wins).
"""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from concurrent.futures import CancelledError
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QThread, Signal

from ra_desktop.cancel import CancelToken
from ra_desktop.errors import Cancelled, ImageLoadError, ModelUnavailable, RADesktopError
from ra_desktop.io.ground_truth import ground_truth_for

log = logging.getLogger(__name__)

OPEN, BATCH = "open", "batch"
#: Batch jobs analysed together (one batched network pass; decoding of the next group overlaps).
GROUP = 8
#: Recently opened cases kept whole (image, maps, stages) so re-opening one is instant: ~50 MB each
#: for a 2k x 2.5k study with Grad-CAM and SHAP.
OPEN_CACHE = 3


@dataclass
class Job:
    job_id: int
    row_id: int
    path: str
    kind: str = OPEN  # OPEN: the case on screen (image first); BATCH: result only
    explanations: tuple[str, ...] = ("gradcam", "shap")
    analyse: bool = True  # False: only load the image (no model installed)
    token: CancelToken = field(default_factory=CancelToken)
    preempted: bool = False  # a batch job interrupted by the reader: re-run it, don't report
    from_cache: bool = False  # result replayed from the open-case cache (already saved once)


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
    image_ready = Signal(int, object, object)  # job id, Radiograph, ground truth dict | None
    stage_ready = Signal(int, str, object)  # job id, stage name, StageResult (partial CaseResult)
    job_finished = Signal(int, object)  # job id, final CaseResult (None when analyse=False)
    job_failed = Signal(int, str)  # job id, reason for the reader
    job_cancelled = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._cond = threading.Condition()
        self._load_request: tuple[str, str] | None = None
        self._open: Job | None = None
        self._batch: deque[Job] = deque()
        self._tasks: deque[Any] = deque()  # callables fn(model) run on this lane (report export)
        self._running: Job | None = None
        self._running_batch: list[Job] = []  # the group of batch jobs being analysed together
        self._pool: Any = None  # one background thread decoding + preprocessing batch items ahead
        self._prefetched: dict[int, Any] = {}  # job id -> Future[PreparedCase | Exception]
        # (path, size, mtime, model sha, explanations) -> (radiograph, ground truth, stages, result)
        self._open_cache: OrderedDict[tuple, tuple] = OrderedDict()
        self._stop = False
        self._model: Any = None  # LoadedModel, touched only on this thread

    # ---- called from the GUI thread ----------------------------------------------------------
    def request_model(self, model_dir: str | Path, device: str = "auto") -> None:
        with self._cond:
            self._load_request = (str(model_dir), device)
            self._cond.notify()

    def submit(self, job: Job) -> None:
        """Queue a job. An OPEN job replaces a pending OPEN job and cancels the running one;
        if a BATCH job is running it is pre-empted and re-queued, so the reader never waits."""
        dropped: Job | None = None
        with self._cond:
            if job.kind == OPEN:
                dropped, self._open = self._open, job
                if dropped is not None:
                    dropped.token.cancel()
                run = self._running
                if run is not None:
                    if run.kind == BATCH:
                        run.preempted = True
                    run.token.cancel()
                for run in self._running_batch:
                    run.preempted = True
                    run.token.cancel()
            else:
                self._batch.append(job)
            self._cond.notify()
        if dropped is not None:  # emitted outside the lock: receivers may call back into us
            self.job_cancelled.emit(dropped.job_id)

    def submit_task(self, fn) -> None:
        """Run ``fn(loaded_model_or_None)`` on the inference lane (after the open case, before
        batch items): work that needs the model, such as report export, shares the one lane."""
        with self._cond:
            self._tasks.append(fn)
            self._cond.notify()

    def cancel_batch(self) -> list[int]:
        """Drop queued batch jobs and cancel the running one. Returns the dropped row ids."""
        with self._cond:
            dropped = [j.row_id for j in self._batch]
            self._batch.clear()
            for future in list(self._prefetched.values()):
                future.cancel()
            self._prefetched.clear()
            for run in (self._running, *self._running_batch):
                if run is not None and run.kind == BATCH:
                    run.preempted = False  # cancelled for good, not re-queued
                    run.token.cancel()
            return dropped

    def cancel_open(self) -> None:
        with self._cond:
            for job in (self._open, self._running):
                if job is not None and job.kind == OPEN:
                    job.token.cancel()

    def stop(self, wait_ms: int = 10000) -> None:
        with self._cond:
            self._stop = True
            for job in (self._open, self._running, *self._running_batch, *self._batch):
                if job is not None:
                    job.token.cancel()
            self._cond.notify()
        self.wait(wait_ms)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    # ---- the worker thread ---------------------------------------------------------------------
    def run(self) -> None:  # noqa: D401 - QThread entry point
        while True:
            with self._cond:
                while not (self._stop or self._load_request or self._open or self._tasks or self._batch):
                    self._cond.wait()
                if self._stop:
                    return
                if self._load_request is not None:
                    task: Any = self._load_request
                    self._load_request = None
                elif self._open is not None:
                    task, self._open = self._open, None
                elif self._tasks:
                    task = self._tasks.popleft()
                else:
                    task = [self._batch.popleft()]
                    while (self._batch and len(task) < GROUP and self._model is not None
                           and self._batch[0].explanations == task[0].explanations):
                        task.append(self._batch.popleft())
                    self._running_batch = task
                self._running = task if isinstance(task, Job) else None
            try:
                if isinstance(task, list):
                    self._run_batch(task)
                elif isinstance(task, Job):
                    self._run_job(task)
                elif callable(task):
                    task(self._model)
                else:
                    self._load(*task)
            except BaseException:  # noqa: BLE001 - the lane must survive anything
                log.exception("inference thread: unexpected error")
            finally:
                with self._cond:
                    self._running = None
                    self._running_batch = []

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
        self._model = loaded  # replace only after a successful load: the old one stays otherwise
        self._prefetched.clear()  # prepared with the old model's preprocessing
        self._open_cache.clear()
        _warm_up(loaded)
        self.model_ready.emit(_model_info(loaded))

    def _run_job(self, job: Job) -> None:
        if job.token.cancelled:
            self._finish_cancelled(job)
            return
        self.job_started.emit(job.job_id)
        radiograph = None
        try:
            from ra_desktop.io import load_radiograph

            key = self._cache_key(job)
            if key is not None and key in self._open_cache:  # same file, same model: replay it
                self._open_cache.move_to_end(key)
                radiograph, gt, stages, result = self._open_cache[key]
                self.image_ready.emit(job.job_id, radiograph, gt)
                for stage in stages:
                    self.stage_ready.emit(job.job_id, stage.stage, stage)
                job.from_cache = True
                self.job_finished.emit(job.job_id, result)
                return
            radiograph = load_radiograph(job.path)
            gt = ground_truth_for(job.path) if job.kind == OPEN else None
            if job.kind == OPEN:
                self.image_ready.emit(job.job_id, radiograph, gt)
            if not job.analyse or self._model is None:
                self.job_finished.emit(job.job_id, None)
                return
            job.token.check()
            from ra_desktop.pipeline import analyse

            gen = analyse(radiograph, self._model, explanations=job.explanations, cancel=job.token)
            stages = []
            while True:
                try:
                    stage = next(gen)
                except StopIteration as stop:
                    result = stop.value
                    break
                job.token.check()
                stages.append(stage)
                if job.kind == OPEN:
                    self.stage_ready.emit(job.job_id, stage.stage, stage)
            job.token.check()
            if key is not None:
                self._open_cache[key] = (radiograph, gt, stages, result)
                while len(self._open_cache) > OPEN_CACHE:
                    self._open_cache.popitem(last=False)
            self.job_finished.emit(job.job_id, result)
        except Cancelled:
            self._finish_cancelled(job)
        except ImageLoadError as exc:
            self.job_failed.emit(job.job_id, exc.reason)
        except RADesktopError as exc:
            self.job_failed.emit(job.job_id, str(exc))
        except Exception as exc:  # noqa: BLE001 - one bad file never stops the batch (P7)
            # by case id (row id before the image loaded), never the path: it may hold a name
            case = radiograph.case_id if radiograph is not None else "not loaded"
            # exc_info, not a formatted traceback: the log filter hashes the paths it carries
            log.error("analysis of worklist row %d (case %s) failed", job.row_id, case, exc_info=True)
            self.job_failed.emit(job.job_id, f"unexpected error: {type(exc).__name__}: {exc}")

    def _cache_key(self, job: Job) -> tuple | None:
        """Identity of an open job's result: the file (path, size, mtime) and the model's sha256."""
        if job.kind != OPEN or not job.analyse or self._model is None:
            return None
        try:
            st = Path(job.path).stat()
        except OSError:
            return None
        sha = getattr(self._model.manifest, "weights_sha256", None)
        return (str(job.path), st.st_size, st.st_mtime_ns, sha, tuple(job.explanations))

    # ---- batch: groups of jobs, one network pass, decoding ahead on a helper thread -------------
    def _prepare_future(self, job: Job) -> Any:
        """The (possibly already running) decode + preprocess of ``job`` on the helper thread."""
        future = self._prefetched.get(job.job_id)
        if future is None or future.cancelled():
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(1, thread_name_prefix="ra-prefetch")
            future = self._pool.submit(_prepare, job.path, self._model)
            self._prefetched[job.job_id] = future
        return future

    def _prefetch_next(self) -> None:
        with self._cond:
            upcoming = list(self._batch)[:GROUP]
        for job in upcoming:
            if not job.token.cancelled:
                self._prepare_future(job)

    def _run_batch(self, jobs: list[Job]) -> None:
        if self._model is None:  # no model: each job ends as in the one-case path
            for job in jobs:
                self._run_job(job)
            return
        live = []
        for job in jobs:
            if job.token.cancelled:
                self._prefetched.pop(job.job_id, None)
                self._finish_cancelled(job)
            else:
                live.append(job)
        futures = [(job, self._prepare_future(job)) for job in live]
        for job in live:
            self.job_started.emit(job.job_id)
        self._prefetch_next()  # the next group decodes while this one runs through the network
        good = []
        for job, future in futures:
            try:
                prepared = future.result()
            except CancelledError:  # the batch was cancelled while this item waited
                prepared = Cancelled("cancelled")
            if isinstance(prepared, Cancelled) or job.token.cancelled:
                self._prefetched.pop(job.job_id, None)
                self._finish_cancelled(job)
            elif isinstance(prepared, Exception):
                self._prefetched.pop(job.job_id, None)
                self._fail(job, prepared)
            else:
                good.append((job, prepared))
        done: set[int] = set()
        try:
            from ra_desktop.pipeline import analyse_prepared

            token = _AnyCancelled([job.token for job, _ in good])
            results = analyse_prepared([p for _, p in good], self._model,
                                       explanations=good[0][0].explanations if good else (), cancel=token)
            for (job, _), result in zip(good, results):
                # emitted one by one as each case's maps are placed: the GUI saves them spaced out
                self.job_finished.emit(job.job_id, result)
                self._prefetched.pop(job.job_id, None)
                done.add(job.job_id)
        except Cancelled:
            for job, _ in reversed(good):  # re-queued (pre-empted) in their original order
                if job.job_id not in done:
                    self._finish_cancelled(job)
        except Exception:  # noqa: BLE001 - the group failed as a whole: each case on its own
            log.warning("batched analysis failed; analysing one by one", exc_info=True)
            for job, prepared in good:
                if job.job_id in done:
                    continue
                try:
                    result = next(iter(analyse_prepared([prepared], self._model,
                                                        explanations=job.explanations, cancel=job.token)))
                    self.job_finished.emit(job.job_id, result)
                except Cancelled:
                    self._finish_cancelled(job)
                except Exception as exc:  # noqa: BLE001 - one bad case never stops the batch
                    self._fail(job, exc)
                self._prefetched.pop(job.job_id, None)

    def _fail(self, job: Job, exc: BaseException) -> None:
        if isinstance(exc, ImageLoadError):
            self.job_failed.emit(job.job_id, exc.reason)
        elif isinstance(exc, RADesktopError):
            self.job_failed.emit(job.job_id, str(exc))
        else:
            # by row id, never the path: it may hold a name
            log.error("analysis of worklist row %d failed: %s: %s", job.row_id, type(exc).__name__, exc)
            self.job_failed.emit(job.job_id, f"unexpected error: {type(exc).__name__}: {exc}")

    def _finish_cancelled(self, job: Job) -> None:
        if job.preempted and not self._stop:
            with self._cond:  # the reader opened a case: run this batch item again afterwards
                job.preempted = False
                job.token = CancelToken()
                self._batch.appendleft(job)
            return
        self.job_cancelled.emit(job.job_id)


class _AnyCancelled:
    """Cancel token of a group: cancelled as soon as any of its jobs is (pre-emption, cancel)."""

    def __init__(self, tokens: list[CancelToken]) -> None:
        self.tokens = tokens

    @property
    def cancelled(self) -> bool:
        return any(t.cancelled for t in self.tokens)

    def check(self) -> None:
        if self.cancelled:
            raise Cancelled("cancelled")


def _prepare(path: str, model: Any) -> Any:
    """Decode + preprocess on the helper thread; an exception is returned, to be reported per job."""
    try:
        from ra_desktop.pipeline import prepare_case

        return prepare_case(Path(path), model)
    except Exception as exc:  # noqa: BLE001 - reported on the job's row
        return exc


def _warm_up(loaded: Any) -> None:
    """Import the pipeline's modules and run one tiny analysis now, during "Loading model…".

    Loading C extensions (scipy, pywt, captum...) holds the GIL for up to ~100 ms per library;
    done lazily inside the first case it would freeze the GUI in the middle of the reader's
    work. Here it also warms torch's allocator, so the first real case is as fast as the rest.
    """
    t0 = time.perf_counter()
    try:
        import numpy as np

        from ra_desktop.io.radiograph import Radiograph
        from ra_desktop.pipeline import analyse

        pixels = np.zeros((64, 48), np.uint16)
        pixels[16:48, 12:36] = 1000
        pixels.setflags(write=False)
        blank = Radiograph(pixels=pixels, source_path=Path("warm-up"), format="PNG",
                           case_id="warm-up", bits_stored=16)
        gen = analyse(blank, loaded, explanations=("gradcam",))
        for _ in gen:
            pass
    except Exception:  # noqa: BLE001 - a failed warm-up only costs speed; the real case reports errors
        log.warning("model warm-up failed", exc_info=True)
    log.info("warm-up %.0f ms", (time.perf_counter() - t0) * 1000)

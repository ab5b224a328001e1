"""The inference lane's scheduling policy, in plain Python (no Qt), so it is tested on its own.

One lane, these priorities: a model load first, then the reader's open case, then tasks that need
the model (report export), then batch jobs in groups. The open case is latest-wins: a newer open
job replaces a pending one and cancels a running one; a running batch group is pre-empted (its
jobs marked and re-queued in front, never reported as cancelled) so the reader never waits.
"""
from __future__ import annotations

import threading
from collections import OrderedDict, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ra_desktop.cancel import CancelToken

OPEN, BATCH = "open", "batch"
#: Batch jobs analysed together (one batched network pass; decoding of the next group overlaps).
#: 4, not 8: the same throughput within the noise (6.4 against 6.4-7.0 studies/s over 200 bench
#: studies), 200 MB less peak memory (about 1.07 against 1.25 GB), and a click during "Analyse all"
#: waits for half as long. ``pipeline.analyse_many`` uses the same size.
GROUP = 4
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
    colormaps: dict[str, str] = field(default_factory=dict)  # OPEN: layer -> colour map to colour it in ahead


@dataclass(frozen=True)
class LoadModel:
    """The task "load the model in this folder on this device"."""

    model_dir: str
    device: str


class Prefetcher:
    """Decode + preprocess of batch items ahead, on one helper thread, by job id."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._futures: dict[int, Future] = {}  # job id -> Future[prepared case | Exception]

    def future(self, job: Job, prepare: Callable[[str, Any], Any], model: Any) -> Future:
        """The (possibly already running) ``prepare(job.path, model)`` of ``job``."""
        future = self._futures.get(job.job_id)
        if future is None or future.cancelled():
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="ra-prefetch")
            future = self._pool.submit(prepare, job.path, model)
            self._futures[job.job_id] = future
        return future

    def drop(self, job_id: int) -> None:
        self._futures.pop(job_id, None)

    def cancel_all(self) -> None:
        for future in list(self._futures.values()):
            future.cancel()
        self._futures.clear()

    def clear(self) -> None:
        """Forget them all (prepared with a model's preprocessing that is no longer loaded)."""
        self._futures.clear()

    def pending(self) -> set[int]:
        return set(self._futures)

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


class OpenCache:
    """The last few open cases' results (LRU), keyed by the file and the model that analysed it."""

    def __init__(self, size: int = OPEN_CACHE) -> None:
        self.size = size
        self._entries: OrderedDict[tuple, tuple] = OrderedDict()

    @staticmethod
    def key(job: Job, model: Any) -> tuple | None:
        """Identity of an open job's result: the file (path, size, mtime) and the model's sha256;
        None for what is never cached (batch jobs, image-only opens, no model, an unreadable file)."""
        if job.kind != OPEN or not job.analyse or model is None:
            return None
        try:
            st = Path(job.path).stat()
        except OSError:
            return None
        sha = getattr(model.manifest, "weights_sha256", None)
        return (str(job.path), st.st_size, st.st_mtime_ns, sha, tuple(job.explanations))

    def get(self, key: tuple | None) -> tuple | None:
        if key is None or key not in self._entries:
            return None
        self._entries.move_to_end(key)
        return self._entries[key]

    def put(self, key: tuple, entry: tuple) -> None:
        self._entries[key] = entry
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class Schedule:
    """The lane's queue. Thread-safe: the GUI submits and cancels, the lane's thread takes."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._load: LoadModel | None = None
        self._open: Job | None = None
        self._batch: deque[Job] = deque()
        self._tasks: deque[Callable] = deque()  # fn(model) run on the lane (report export)
        self.running: Job | None = None
        self.running_batch: list[Job] = []  # the group of batch jobs being analysed together
        self.stopped = False
        self.prefetch = Prefetcher()

    # ---- submitting and cancelling (any thread) ------------------------------------------------
    def request_model(self, model_dir: str, device: str) -> None:
        with self._cond:
            self._load = LoadModel(model_dir, device)
            self._cond.notify()

    def submit(self, job: Job) -> Job | None:
        """Queue ``job``; returns the pending open job it replaced (already cancelled), which the
        caller reports outside the lock (receivers may call back in)."""
        dropped: Job | None = None
        with self._cond:
            if job.kind == OPEN:
                dropped, self._open = self._open, job
                if dropped is not None:
                    dropped.token.cancel()
                run = self.running
                if run is not None:
                    if run.kind == BATCH:
                        run.preempted = True
                    run.token.cancel()
                for run in self.running_batch:
                    run.preempted = True
                    run.token.cancel()
            else:
                self._batch.append(job)
            self._cond.notify()
        return dropped

    def submit_task(self, fn: Callable) -> None:
        with self._cond:
            self._tasks.append(fn)
            self._cond.notify()

    def cancel_batch(self) -> list[int]:
        """Drop queued batch jobs and cancel the running ones for good. Returns the dropped row ids."""
        with self._cond:
            dropped = [j.row_id for j in self._batch]
            self._batch.clear()
            self.prefetch.cancel_all()
            for run in (self.running, *self.running_batch):
                if run is not None and run.kind == BATCH:
                    run.preempted = False  # cancelled for good, not re-queued
                    run.token.cancel()
            return dropped

    def cancel_open(self) -> list[Job]:
        """Cancel the pending and the running open job; returns those cancelled."""
        with self._cond:
            hit = [job for job in (self._open, self.running) if job is not None and job.kind == OPEN]
            for job in hit:
                job.token.cancel()
            return hit

    def stop(self) -> None:
        with self._cond:
            self.stopped = True
            for job in (self._open, self.running, *self.running_batch, *self._batch):
                if job is not None:
                    job.token.cancel()
            self._cond.notify()

    # ---- the lane's thread -----------------------------------------------------------------------
    def take(self, grouping: bool, block: bool = True) -> LoadModel | Job | Callable | list[Job] | None:
        """The next thing to run, by priority; marks it running. None once stopped (or, with
        ``block=False``, when nothing is queued). Batch jobs come as a list, grouped up to GROUP
        with the same explanations when ``grouping`` (a model is loaded), else one at a time."""
        with self._cond:
            while not (self.stopped or self._load or self._open or self._tasks or self._batch):
                if not block:
                    return None
                self._cond.wait()
            if self.stopped:
                return None
            if self._load is not None:
                task: Any = self._load
                self._load = None
            elif self._open is not None:
                task, self._open = self._open, None
            elif self._tasks:
                task = self._tasks.popleft()
            else:
                task = [self._batch.popleft()]
                while (self._batch and len(task) < GROUP and grouping
                       and self._batch[0].explanations == task[0].explanations):
                    task.append(self._batch.popleft())
                self.running_batch = task
            self.running = task if isinstance(task, Job) else None
            return task

    def done(self) -> None:
        """The task from :meth:`take` has ended (however)."""
        with self._cond:
            self.running = None
            self.running_batch = []

    def requeue(self, job: Job) -> bool:
        """A cancelled job pre-empted by the reader goes back in front with a fresh token (True);
        anything else was cancelled for good (False)."""
        if not job.preempted or self.stopped:
            return False
        with self._cond:
            job.preempted = False
            job.token = CancelToken()
            self._batch.appendleft(job)
        return True

    def upcoming(self) -> list[Job]:
        """The next group's batch jobs (to decode ahead)."""
        with self._cond:
            return list(self._batch)[:GROUP]

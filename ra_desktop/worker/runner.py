"""What the inference lane does with a job, in plain Python (no Qt): the one-case path with the
open-case cache, and the batch path (groups, decoding ahead, one network pass per group).

Outcomes go to ``events``, an object with the callables ``job_started(id)``, ``image_preview(id,
preview)`` (optional: a JPEG 2000 study's reduced level, display only), ``image_ready(id,
radiograph, ground truth)``, ``stage_ready(id, name, stage)``, ``job_finished(id, result)``,
``job_failed(id, reason)`` and ``job_cancelled(id)``; the QThread passes its signals' ``emit``.
"""
from __future__ import annotations

import logging
import time
from concurrent.futures import CancelledError
from pathlib import Path
from typing import Any

from ra_desktop.cancel import CancelToken
from ra_desktop.errors import Cancelled, ImageLoadError, RADesktopError
from ra_desktop.io import Radiograph, load_radiograph
from ra_desktop.io.ground_truth import ground_truth_for
from ra_desktop.render import overlay, window
from ra_desktop.worker.schedule import OPEN, Job, OpenCache, Schedule

log = logging.getLogger(__name__)
# How long the lane waits for the GUI to paint a preview before the full decode. Decoded in-process,
# OpenJPEG holds the GIL for its whole length (~0.5 s on 5 MP here); the window's decoding process
# (io.offdecode) frees it, and then the GUI's "painted" comes within a frame.
PREVIEW_PAINT_WAIT_S = 0.2


def _render_ahead(radiograph: Any) -> None:
    """The viewer's first display of the study, made here instead of on the GUI thread. Only a
    head start: should it fail, the viewer renders the image itself and the case goes on."""
    try:
        window.render_ahead(radiograph)
    except Exception:  # noqa: BLE001 - never the reason a case fails
        log.warning("display of the study not rendered ahead; the viewer renders it", exc_info=True)


def _colour_ahead(stage: Any, colormaps: dict[str, str]) -> None:
    """Colour the stage's new maps here, so the GUI thread only shows them (render.overlay). Only a
    head start, like :func:`_render_ahead`: should it fail, the viewer colours them itself."""
    heatmaps = getattr(getattr(stage, "result", None), "heatmaps", None) or {}
    for kind, heatmap in heatmaps.items():
        if kind in colormaps and overlay.ahead(heatmap.values) is None:
            try:
                overlay.colour_ahead(heatmap.values, colormaps[kind], heatmap.signed)
            except Exception:  # noqa: BLE001 - never the reason a case fails
                log.warning("%s map not coloured ahead; the viewer colours it", kind, exc_info=True)


class Runner:
    """Runs jobs taken from ``schedule`` with ``model`` (a LoadedModel or None), on one thread."""

    def __init__(self, schedule: Schedule, events: Any) -> None:
        self.schedule = schedule
        self.events = events
        self.model: Any = None  # LoadedModel, touched only on the lane's thread
        self.cache = OpenCache()
        self.previews = True  # reduced-level previews of JPEG 2000 opens (the bench turns them off)

    def set_model(self, loaded: Any) -> None:
        self.model = loaded
        self.schedule.prefetch.clear()  # prepared with the old model's preprocessing
        self.cache.clear()

    # ---- one case ------------------------------------------------------------------------------
    def run_job(self, job: Job) -> None:
        ev = self.events
        if job.token.cancelled:
            self.finish_cancelled(job)
            return
        ev.job_started(job.job_id)
        radiograph = None
        try:
            key = OpenCache.key(job, self.model)
            hit = self.cache.get(key)
            if hit is not None:  # same file, same model: replay it
                radiograph, gt, stages, result = hit
                _render_ahead(radiograph)
                ev.image_ready(job.job_id, radiograph, gt)
                for stage in stages:
                    ev.stage_ready(job.job_id, stage.stage, stage)
                job.from_cache = True
                ev.job_finished(job.job_id, result)
                return
            radiograph = load_radiograph(job.path, on_preview=self._previewer(job))
            gt = ground_truth_for(job.path) if job.kind == OPEN else None
            if job.kind == OPEN:
                _render_ahead(radiograph)
                ev.image_ready(job.job_id, radiograph, gt)
            if not job.analyse or self.model is None:
                ev.job_finished(job.job_id, None)
                return
            job.token.check()
            # pipeline (scipy, pywt, captum...) is imported on this thread, off the GUI's start-up
            from ra_desktop.pipeline import analyse, drain

            stages = []

            def each(stage) -> None:
                job.token.check()
                stages.append(stage)
                if job.kind == OPEN:
                    _colour_ahead(stage, job.colormaps)
                    ev.stage_ready(job.job_id, stage.stage, stage)

            result = drain(analyse(radiograph, self.model, explanations=job.explanations, cancel=job.token),
                           each)
            job.token.check()
            if key is not None:
                self.cache.put(key, (radiograph, gt, stages, result))
            ev.job_finished(job.job_id, result)
        except Cancelled:
            self.finish_cancelled(job)
        except ImageLoadError as exc:
            ev.job_failed(job.job_id, exc.reason)
        except RADesktopError as exc:
            ev.job_failed(job.job_id, str(exc))
        except Exception as exc:  # noqa: BLE001 - one bad file never stops the batch (P7)
            # by case id (row id before the image loaded), never the path: it may hold a name
            case = radiograph.case_id if radiograph is not None else "not loaded"
            # exc_info, not a formatted traceback: the log filter hashes the paths it carries
            log.error("analysis of worklist row %d (case %s) failed", job.row_id, case, exc_info=True)
            ev.job_failed(job.job_id, f"unexpected error: {type(exc).__name__}: {exc}")

    def _previewer(self, job: Job) -> Any:
        """The loader's ``on_preview`` for an open job: show the reduced level, let it paint."""
        emit = getattr(self.events, "image_preview", None)
        if job.kind != OPEN or not self.previews or emit is None:
            return None  # a batch job: nothing on screen to paint first

        def show(preview: Any) -> None:
            job.token.check()  # the reader left: neither the preview nor the full decode is wanted
            _render_ahead(preview.radiograph)
            emit(job.job_id, preview)
            preview.painted.wait(PREVIEW_PAINT_WAIT_S)
            job.token.check()  # the reader left meanwhile: skip the full decode

        return show

    # ---- batch: groups of jobs, one network pass, decoding ahead on a helper thread -------------
    def _future(self, job: Job) -> Any:
        return self.schedule.prefetch.future(job, _prepare, self.model)

    def prefetch_next(self) -> None:
        for job in self.schedule.upcoming():
            if not job.token.cancelled:
                self._future(job)

    def run_batch(self, jobs: list[Job]) -> None:
        ev, prefetch = self.events, self.schedule.prefetch
        if self.model is None:  # no model: each job ends as in the one-case path
            for job in jobs:
                self.run_job(job)
            return
        live = []
        for job in jobs:
            if job.token.cancelled:
                prefetch.drop(job.job_id)
                self.finish_cancelled(job)
            else:
                live.append(job)
        futures = [(job, self._future(job)) for job in live]
        for job in live:
            ev.job_started(job.job_id)
        self.prefetch_next()  # the next group decodes while this one runs through the network
        good = []
        for job, future in futures:
            try:
                prepared = future.result()
            except CancelledError:  # the batch was cancelled while this item waited
                prepared = Cancelled("cancelled")
            if isinstance(prepared, Cancelled) or job.token.cancelled:
                prefetch.drop(job.job_id)
                self.finish_cancelled(job)
            elif isinstance(prepared, Exception):
                prefetch.drop(job.job_id)
                self.fail(job, prepared)
            else:
                good.append((job, prepared))
        done: set[int] = set()
        try:
            # the batch algorithm the benchmark times, shared with pipeline.analyse_many
            from ra_desktop.pipeline import analyse_group  # the analysis stack: off the window's start path

            # emitted one by one as each case's maps are placed: the GUI saves them spaced out
            for k, outcome in analyse_group([p for _, p in good], self.model,
                                            explanations=good[0][0].explanations if good else (),
                                            cancel=AnyCancelled([job.token for job, _ in good]),
                                            case_cancel=[job.token for job, _ in good]):
                job = good[k][0]
                if isinstance(outcome, Cancelled):
                    self.finish_cancelled(job)
                elif isinstance(outcome, Exception):
                    self.fail(job, outcome)
                else:
                    ev.job_finished(job.job_id, outcome)
                prefetch.drop(job.job_id)
                done.add(job.job_id)
        except Cancelled:
            for job, _ in reversed(good):  # re-queued (pre-empted) in their original order
                if job.job_id not in done:
                    self.finish_cancelled(job)

    def fail(self, job: Job, exc: BaseException) -> None:
        if isinstance(exc, ImageLoadError):
            self.events.job_failed(job.job_id, exc.reason)
        elif isinstance(exc, RADesktopError):
            self.events.job_failed(job.job_id, str(exc))
        else:
            # by row id, never the path: it may hold a name
            log.error("analysis of worklist row %d failed: %s: %s", job.row_id, type(exc).__name__, exc)
            self.events.job_failed(job.job_id, f"unexpected error: {type(exc).__name__}: {exc}")

    def finish_cancelled(self, job: Job) -> None:
        if not self.schedule.requeue(job):  # re-queued: the reader opened a case, run it afterwards
            self.events.job_cancelled(job.job_id)


class AnyCancelled:
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
        from ra_desktop.pipeline import prepare_case  # the analysis stack: off the window's start path

        return prepare_case(Path(path), model)
    except Exception as exc:  # noqa: BLE001 - reported on the job's row
        return exc


def warm_up(loaded: Any) -> None:
    """Import the pipeline's modules and run one tiny analysis now, during "Loading model…".

    Loading C extensions (scipy, pywt, captum...) holds the GIL for up to ~100 ms per library;
    done lazily inside the first case it would freeze the GUI in the middle of the reader's
    work. Here it also warms torch's allocator, so the first real case is as fast as the rest.
    """
    t0 = time.perf_counter()
    try:
        import numpy as np

        from ra_desktop.pipeline import analyse, drain  # the analysis stack: off the window's start path

        pixels = np.zeros((64, 48), np.uint16)
        pixels[16:48, 12:36] = 1000
        pixels.setflags(write=False)
        blank = Radiograph(pixels=pixels, source_path=Path("warm-up"), format="PNG",
                           case_id="warm-up", bits_stored=16)
        drain(analyse(blank, loaded, explanations=("gradcam",)))
    except Exception:  # noqa: BLE001 - a failed warm-up only costs speed; the real case reports errors
        log.warning("model warm-up failed", exc_info=True)
    log.info("warm-up %.0f ms", (time.perf_counter() - t0) * 1000)

"""Measuring a whole hand for the window: on its worker thread (the default) or in a worker process.

Measured here (2 shared cores, a 5 ms QTimer on the GUI thread as in bench/bench_gui.py, the first
measurement after the window starts, 2500 x 2000 and 1400 x 1120 phantoms): on the worker thread
the longest event-loop gap was 10-52 ms, 22-39 ms with both cores busy with other work; in a worker
process 16-65 ms (the first call includes the process start, 0.5-0.7 s), 100-180 ms with both cores
busy (one more CPU-bound process competing with the window). A profile of ``measure_hand`` on a
3500 x 2800 image shows no numpy/scipy call holding the GIL for more than 3 ms, so the thread costs
the window little; the process path is kept for machines where that is not so
(``HandMeasurer(use_process=True)``), not used by default.

The process path: the 'spawn' context (the same on every platform, safe next to Qt's threads), one
worker, started on first use (0.5-0.7 s once, more on a busy machine: a fresh interpreter importing
numpy, scipy and ``ra_desktop.measure``), its BLAS single-threaded; the image goes over as a numpy
array, bone bright, with its spacing; the result comes back as the usual frozen dataclasses. When the
process cannot be started or dies, the measurer logs it and measures on the calling thread from then
on. The frozen app's entry point calls ``multiprocessing.freeze_support()`` first
(installer/entry.py), so a child does not start the app.

Qt-free: a worker process imports only numpy, scipy and ``ra_desktop.measure``.
"""
from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import threading
import time
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from ra_desktop.environ import ONE_THREAD, overridden
from ra_desktop.measure.hand import measure_hand
from ra_desktop.measure.metacarpal import mm_per_px
from ra_desktop.measure.profiles import across, normal, unit

log = logging.getLogger(__name__)


def bone_profile(img: np.ndarray, spacing, bone) -> tuple[np.ndarray, np.ndarray, float, float] | None:
    """The mean grey-value profile across a valid bone's measurement region: (offsets, values,
    W, M) with offsets, W and M in the result's unit (mm with a spacing, else px)."""
    if not bone.valid or not bone.region or not bone.W:
        return None
    u, length = unit(*bone.region)
    centre = np.mean([e.centre for e in bone.edges], axis=0) if bone.edges else np.asarray(bone.region[0])
    start = np.asarray(bone.region[0], float) + normal(u) * float((centre - np.asarray(bone.region[0])) @ normal(u))
    scale = mm_per_px(spacing, normal(u)) if spacing else 1.0
    half_px = 0.8 * bone.W / scale
    x = np.arange(-half_px, half_px, 0.5)
    prof = across(img, start, u, x, np.arange(0.0, length, 1.0))
    with np.errstate(all="ignore"):
        y = np.nanmean(prof, axis=0)
    return x * scale, y, bone.W, bone.M


def measure_with_profiles(img: np.ndarray, spacing, joints: dict | None):
    """``measure_hand`` on a bone-bright array and the profile across each valid bone: (hand, profiles).
    Runs in the worker process (or, as the fallback, on the caller's thread)."""
    hand = measure_hand(img, spacing_mm=spacing, joints=joints or None)
    if any("inverted" in n for n in hand.notes):
        img = np.float32(np.nanmax(img)) - img
    return hand, {k: bone_profile(img, spacing, b) for k, b in hand.bones.items()}


def _warm() -> None:
    """The worker's initializer: unpickling it imports this module, and with it ``measure_hand``,
    before the first image arrives."""


class HandMeasurer:
    """``measure_hand`` and the bones' profiles, on the calling thread or in one worker process.

    :meth:`measure` blocks its caller (a worker thread, never the GUI thread) until the result is
    back. ``use_process=True``: in a worker process started on first use (waiting on it releases
    the GIL), falling back to the calling thread if it cannot start or dies.
    """

    def __init__(self, use_process: bool = False) -> None:
        self.mode = "process" if use_process else "thread"
        self.start_seconds: float | None = None  # the first call's extra time: the process starting
        self.fallback_reason: str | None = None
        self._pool: cf.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _get_pool(self) -> cf.ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = cf.ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                                    initializer=_warm)
            return self._pool

    def measure(self, img: np.ndarray, spacing, joints: dict | None = None):
        """(HandResult, profiles) for a bone-bright image; see :func:`measure_with_profiles`."""
        if self.mode == "process":
            t0 = time.perf_counter()
            first = self._pool is None
            try:
                pool = self._get_pool()
                if first:  # the process starts at the first submit and takes its environment then
                    with overridden(ONE_THREAD):
                        future = pool.submit(measure_with_profiles, np.ascontiguousarray(img), spacing, joints)
                else:
                    future = pool.submit(measure_with_profiles, np.ascontiguousarray(img), spacing, joints)
                out = future.result()
            except (BrokenProcessPool, OSError, RuntimeError, EOFError) as exc:
                # RuntimeError: the pool was shut down meanwhile, or spawning is not possible here.
                self.fallback_reason = f"{type(exc).__name__}: {exc}"
                log.warning("radiogrammetry: the measuring process is not available (%s); measuring on a thread "
                            "from now on (the window may pause briefly)", self.fallback_reason)
                self.mode = "thread"
                self.shutdown()
            else:
                if first:
                    self.start_seconds = round(time.perf_counter() - t0 - out[0].seconds, 3)
                    log.info("radiogrammetry: measuring process started in %.2f s", self.start_seconds)
                return out
        return measure_with_profiles(img, spacing, joints)

    def shutdown(self) -> None:
        """Stop the worker process (a measurement under way is abandoned)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

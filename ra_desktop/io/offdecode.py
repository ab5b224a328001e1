"""Decoding a JPEG 2000 or JPEG-LS frame in a worker process, so the window keeps painting.

OpenJPEG and CharLS, through pylibjpeg and Pillow alike, hold Python's GIL for the whole decode:
0.5 s for a 2000 x 2500 JPEG 2000 study, during which no other thread runs Python and the window
cannot repaint (measured: a 2 ms ticker thread starved for the whole decode). In a worker process
the decode takes as long, but the calling thread only waits (GIL released), and on two cores a
batch's decoding runs beside the network.

Off by default: the window's inference lane turns it on (:func:`enable`); the command line and
the tests decode in-process, as before. The worker is one 'spawn' process (safe beside Qt's
threads; the frozen app's entry point calls ``multiprocessing.freeze_support()``), started at the
first compressed frame (about 0.3 s once, spent in the child), single-threaded. What crosses over
is the file's bytes and the decoded array. It runs pydicom's own ``pixel_array`` (and the
preview's reduced decode), so the pixels, the decoder warnings and a failure's exception are the
same as in-process. If the process cannot start or dies, the decode happens in-process from
then on, logged once.
"""
from __future__ import annotations

import concurrent.futures as cf
import io
import logging
import multiprocessing
import threading
import warnings
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

import numpy as np

from ra_desktop.environ import ONE_THREAD, overridden

log = logging.getLogger(__name__)
T = TypeVar("T")

# JPEG 2000 (lossless, lossy), HTJ2K (three syntaxes) and JPEG-LS (lossless, near-lossless): the
# decoders slow enough to be felt. Baseline JPEG and RLE decode a study in tens of milliseconds.
SLOW_SYNTAXES = frozenset({"1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.201",
                           "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203", "1.2.840.10008.1.2.4.80",
                           "1.2.840.10008.1.2.4.81"})


class _Worker:
    def __init__(self) -> None:
        self.enabled = False
        self.fallback_reason: str | None = None
        self.counts = {"process": 0, "in_process": 0}
        self._pool: cf.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def pool(self) -> cf.ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                with overridden(ONE_THREAD):  # the child takes the environment when it starts
                    self._pool = cf.ProcessPoolExecutor(max_workers=1,
                                                        mp_context=multiprocessing.get_context("spawn"))
                    self._pool.submit(int).result()  # start it now, under this environment
            return self._pool

    def shutdown(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


_WORKER = _Worker()


def enable(on: bool = True) -> None:
    """Decode slow codestreams in the worker process (the window's lane), or in-process again."""
    _WORKER.enabled = on
    if not on:
        _WORKER.shutdown()


def enabled() -> bool:
    return _WORKER.enabled and _WORKER.fallback_reason is None


def counts() -> dict[str, int]:
    """How many slow frames were decoded in the worker and in-process (for tests and the log)."""
    return dict(_WORKER.counts)


def shutdown() -> None:
    """Stop the worker process (at the window's close); it starts again if needed."""
    _WORKER.shutdown()


def run(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in the worker process when enabled, else (or if it cannot run there) here.
    ``fn`` must be a module-level function; its exception is raised here as it was raised there."""
    if enabled():
        try:
            future = _WORKER.pool().submit(fn, *args)
        except (BrokenProcessPool, OSError, RuntimeError) as exc:
            _fall_back(exc)
        else:
            try:
                out = future.result()
            except (BrokenProcessPool, EOFError) as exc:  # the child died (a decoder crash, killed)
                _fall_back(exc)
            else:
                _WORKER.counts["process"] += 1
                return out
    _WORKER.counts["in_process"] += 1
    return fn(*args)


def _fall_back(exc: BaseException) -> None:
    _WORKER.fallback_reason = f"{type(exc).__name__}: {exc}"
    log.warning("the decoding process is not available (%s); decoding in the app from now on (the window "
                "may pause while a JPEG 2000 study decodes)", _WORKER.fallback_reason)
    _WORKER.shutdown()


def frame_pixels(data: bytes, force: bool, index: int | None) -> tuple[np.ndarray, list[str]]:
    """pydicom's stored values of frame ``index`` of the DICOM file ``data`` and the warnings the
    decode gave: what the loader's in-process decode gives (run in the worker)."""
    import pydicom
    from pydicom.pixels import pixel_array

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # header quirks: the loader recorded them when it parsed
        ds = pydicom.dcmread(io.BytesIO(data), force=force)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        arr = pixel_array(ds, index=index)
    return arr, [str(w.message) for w in caught]

"""Environment variables set for a moment, so that a worker process started meanwhile inherits
them (the decoding and measuring processes start single-threaded beside the app's own threads)."""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

#: BLAS and OpenMP in a worker process: one thread, the app's process has the others.
ONE_THREAD = {k: "1" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}


@contextmanager
def restored(names: Iterable[str]) -> Iterator[None]:
    """``os.environ``'s ``names`` after the block as they were before it, whatever it set."""
    saved = {k: os.environ.get(k) for k in names}
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def overridden(values: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` set inside the block, as it was after it."""
    with restored(values):
        os.environ.update(values)
        yield

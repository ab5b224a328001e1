"""JPEG 2000 at a reduced resolution level: how much faster, and how far it moves P(RA) (issue 24).

A JPEG 2000 codestream holds its image as wavelet levels; decoding level ``r`` gives the image at
1/2^r of its size for a fraction of the work. This measures, on the bench's lossless JPEG 2000
studies and the bundled demo cases compressed the same way: the decode time of levels 1 and 2
(Pillow's OpenJPEG) against the full decode the app does today (pydicom + pylibjpeg), and the
largest change of P(RA) when the model reads the reduced image through the published
preprocessing instead of the full one. The issue's bound is 0.005; the app does not use the
reduced levels for analysis until it is met. It does show one first (io.preview, display only):
``first_paint`` times an open job on the lane from ``Runner.run_job`` to the preview event, against
the same job with previews off (to ``image_ready``, the full decode's first paint). Pillow returns
12-bit samples scaled to 16 bits; they are shifted back (exactly: the full level equals pydicom's
pixels bit for bit, checked here).
"""
from __future__ import annotations

import io
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench._common import j2k_studies, load, not_run, row

LEVELS = (1, 2)
BOUND = 0.005


def _frame(ds) -> bytes:
    from pydicom.encaps import generate_fragmented_frames

    return b"".join(next(generate_fragmented_frames(ds.PixelData, number_of_frames=1)))


def _reduced(ds, level: int) -> tuple[np.ndarray, float]:
    from PIL import Image

    t0 = time.perf_counter()
    im = Image.open(io.BytesIO(_frame(ds)))
    im.reduce = level
    im.load()
    pixels = np.asarray(im).astype(np.uint16) >> (16 - int(ds.BitsStored))
    return pixels, (time.perf_counter() - t0) * 1000.0


def _demo_as_j2k(folder: Path) -> list[Path]:
    import pydicom
    from pydicom.uid import JPEG2000Lossless

    from ra_desktop.paths import demo_dir

    out = []
    for i, src in enumerate(sorted(demo_dir().rglob("*.dcm"))):
        ds = pydicom.dcmread(src)
        if ds.file_meta.TransferSyntaxUID != JPEG2000Lossless:
            ds.compress(JPEG2000Lossless)
        path = folder / f"demo_j2k_{i}.dcm"
        ds.save_as(path, enforce_file_format=True)
        out.append(path)
    return out


def _first_paint(files: list[Path], rounds: int = 2) -> tuple[list[float], list[float], list[float]]:
    """ms from run_job to the first picture: the preview, the full image after it, and the full
    image with previews off (the first paint before previews), each open job without analysis."""
    from ra_desktop.worker.runner import Runner
    from ra_desktop.worker.schedule import OPEN, Job, Schedule

    marks: dict[str, float] = {}

    def preview(job_id, p) -> None:
        marks.setdefault("preview", time.perf_counter())
        p.painted.set()  # as the GUI does once it has painted

    events = type("Events", (), {"image_preview": staticmethod(preview),
                                 "image_ready": staticmethod(lambda *a: marks.setdefault("image", time.perf_counter())),
                                 "__getattr__": lambda self, name: (lambda *a: None)})()
    runner = Runner(Schedule(), events)
    first, full_after, baseline = [], [], []
    for k in range(rounds):
        for i, path in enumerate(files):
            for previews in (True, False):
                runner.previews = previews
                marks.clear()
                t0 = time.perf_counter()
                runner.run_job(Job(2 * (k * len(files) + i) + previews, 1, str(path), OPEN, analyse=False))
                if previews:
                    first.append((marks.get("preview", float("nan")) - t0) * 1000.0)
                    full_after.append((marks["image"] - t0) * 1000.0)
                else:
                    baseline.append((marks["image"] - t0) * 1000.0)
    return first, full_after, baseline


def run() -> list[dict]:
    import pydicom

    from ra_desktop.explain import predict_batch
    from ra_desktop.io import load_radiograph, preview
    from ra_desktop.preprocess import prepare

    bench = j2k_studies()
    if isinstance(bench, str):
        return [not_run("j2k", "reduced_level_decode", bench)]
    model, note = load()
    with tempfile.TemporaryDirectory(prefix="ra-bench-j2k-") as tmp:
        files = list(bench) + _demo_as_j2k(Path(tmp))
        full_ms: list[float] = []
        level_ms: dict[int, list[float]] = {r: [] for r in LEVELS}
        delta: dict[int, list[float]] = {r: [] for r in LEVELS}
        exact = True
        for path in files:
            t0 = time.perf_counter()
            rg = load_radiograph(path)
            full_ms.append((time.perf_counter() - t0) * 1000.0)
            ds = pydicom.dcmread(path)
            exact &= np.array_equal(_reduced(ds, 0)[0], rg.pixels.astype(np.uint16))
            x, _ = prepare(rg, model.preprocess_config)
            p_full = float(predict_batch(model, x[None]).probabilities[0])
            for r in LEVELS:
                pixels, ms = _reduced(ds, r)
                level_ms[r].append(ms)
                xr, _ = prepare(replace(rg, pixels=pixels), model.preprocess_config)
                delta[r].append(abs(float(predict_batch(model, xr[None]).probabilities[0]) - p_full))
    first, full_after, baseline = _first_paint(list(bench))
    setup = f"{len(bench)} bench studies (2000 x 2500) + {len(files) - len(bench)} demo cases, JPEG 2000 lossless; {note}"
    out = [row("j2k", "full_decode", None, "ms", samples=full_ms, note=f"load_radiograph (pydicom + pylibjpeg); {setup}")]
    for r in LEVELS:
        med = float(np.median(level_ms[r]))
        out.append(row("j2k", f"level_{r}_decode", None, "ms", samples=level_ms[r],
                       ratio=med / float(np.median(full_ms)), baseline="full decode",
                       note=f"1/{2 ** r} size (Pillow/OpenJPEG); level 0 equals pydicom's pixels: {exact}"))
        worst = max(delta[r])
        out.append(row("j2k", f"level_{r}_max_dP", worst, "", goal=f"<= {BOUND}", ok=worst <= BOUND,
                       note=f"largest |P(RA) change| over {len(files)} studies, through the published preprocessing"))
    paint, base = float(np.median(first)), float(np.median(baseline))
    out.append(row("j2k", "first_paint", None, "ms", samples=first, ratio=paint / base,
                   baseline="full-decode first paint", goal="<= 300 ms", ok=paint <= 300,
                   note=f"open job, Runner.run_job to the reduced-level preview (io.preview, longest side >= "
                        f"{preview.MIN_SIDE} px), {len(bench)} bench studies x 2; full decode's first paint {base:.0f} ms; "
                        f"the full image then follows at {float(np.median(full_after)):.0f} ms"))
    return out

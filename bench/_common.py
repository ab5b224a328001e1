"""Shared pieces of the benchmarks: timing with spread, rows, the model, and the generated data.

Data: a few distinct 2k x 2.5k 16-bit phantoms written as 200 DICOM files (each with its own UIDs)
plus JPEG 2000 lossless twins, in a cache folder (``RA_BENCH_CACHE``, default ``.bench-cache/`` in
the repository, ignored by git: nothing in the user's home). Generated once (about a minute),
reused by later runs.
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

N_STUDIES = 200
N_DISTINCT = 4  # distinct phantoms behind the 200 files (each phantom costs seconds to render)
SIZE = 2500  # rows; phantoms are about 2,000 wide
DATA_VERSION = "v1"
BENCH_SEED = 910000  # not a training (<100000), held-out (500000+) or demo (900000..) seed


def cache_dir() -> Path:
    return Path(os.environ.get("RA_BENCH_CACHE") or ROOT / ".bench-cache") / DATA_VERSION


def timed(fn, repeats: int, warmup: int = 1) -> list[float]:
    """Milliseconds of ``repeats`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000.0)
    return out


def stats(samples: list[float]) -> tuple[float, list[float]]:
    """Median and spread [min, max] of the samples."""
    return statistics.median(samples), [min(samples), max(samples)]


def row(bench: str, name: str, value: float | None, unit: str, *, samples: list[float] | None = None,
        spread: list[float] | None = None, ratio: float | None = None, baseline: str | None = None,
        goal: str | None = None, ok: bool | None = None, note: str = "", **extra) -> dict:
    """One result row: ``value`` is the median when ``samples`` are given."""
    if samples:
        value, spread = stats(samples)
    out = {"bench": bench, "name": name, "value": None if value is None else round(float(value), 3),
           "unit": unit, "n": len(samples) if samples else None,
           "spread": None if spread is None else [round(float(s), 3) for s in spread],
           "ratio": None if ratio is None else round(float(ratio), 3), "baseline": baseline,
           "goal": goal, "ok": ok, "note": note}
    out.update(extra)
    return out


def not_run(bench: str, name: str, reason: str, goal: str | None = None) -> dict:
    return row(bench, name, None, "", goal=goal, ok=None, note=f"not run: {reason}", skipped=reason)


def model_dir() -> tuple[Path, str]:
    """The bundled model, else a seeded random VGG8 (costs do not depend on the weights)."""
    demo = ROOT / "models" / "ra-vgg8-phantom"
    if (demo / "manifest.json").is_file():
        return demo, f"model {demo.name}"
    import tempfile

    from tests.tiny_model import make_tiny_model_folder

    return make_tiny_model_folder(Path(tempfile.mkdtemp(prefix="ra-bench-model-"))), "random-weight VGG8"


def load(device: str = "cpu"):
    from ra_desktop.model import load_model

    folder, note = model_dir()
    return load_model(folder, device), note


# -- data ----------------------------------------------------------------------------------------
def _distinct(folder: Path) -> list[Path]:
    """N_DISTINCT phantoms as DICOM (the sources every other file copies its pixels from)."""
    from ra_desktop.phantom.generate import case_rng, generate_case
    from ra_desktop.phantom.writer import write_dicom

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    plan = [("RA", 2, "R"), ("Normal", 0, "L"), ("RA", 3, "L"), ("Normal", 0, "R")]
    for i in range(N_DISTINCT):
        path = folder / f"source_{i}.dcm"
        if not path.is_file():
            label, sev, side = plan[i % len(plan)]
            case = generate_case(case_rng(BENCH_SEED, i), label, sev, side, SIZE, seed_info=[BENCH_SEED, i])
            tmp = path.with_suffix(".tmp")
            write_dicom(tmp, case.image, case.ground_truth, BENCH_SEED, i)
            tmp.replace(path)
        out.append(path)
    return out


def studies(n: int = N_STUDIES) -> list[Path]:
    """``n`` uncompressed DICOM studies (2k x 2.5k, 16-bit), each with its own UIDs."""
    import pydicom
    from pydicom.uid import generate_uid

    root = cache_dir()
    src_dir, out_dir = root / "sources", root / "dicom"
    src_dir.mkdir(parents=True, exist_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    sources = _distinct(src_dir)
    paths = [out_dir / f"study_{i:03d}.dcm" for i in range(max(n, N_STUDIES))]
    missing = [i for i, p in enumerate(paths) if not p.is_file()]
    if missing:
        datasets = [pydicom.dcmread(s) for s in sources]
        for i in missing:
            ds = datasets[i % len(datasets)]
            for kind in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
                setattr(ds, kind, generate_uid(entropy_srcs=["ra-bench", str(i), kind]))
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            ds.PatientID = f"BENCH-{i:03d}"
            ds.PatientName = f"BENCH^{i:03d}"
            tmp = paths[i].with_suffix(".tmp")
            ds.save_as(tmp, enforce_file_format=True)
            tmp.replace(paths[i])
    return paths[:n]


def j2k_studies() -> list[Path] | str:
    """JPEG 2000 lossless twins of the distinct phantoms, or the reason none could be written."""
    import pydicom
    from pydicom.uid import JPEG2000Lossless

    root = cache_dir()
    out_dir = root / "j2k"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for i, src in enumerate(_distinct(root / "sources")):
        path = out_dir / f"study_j2k_{i}.dcm"
        if not path.is_file():
            ds = pydicom.dcmread(src)
            try:
                ds.compress(JPEG2000Lossless)  # pylibjpeg-openjpeg encodes
            except Exception as exc:  # noqa: BLE001 - no encoder installed: say so
                return f"no JPEG 2000 encoder ({type(exc).__name__}: {exc})"
            tmp = path.with_suffix(".tmp")
            ds.save_as(tmp, enforce_file_format=True)
            tmp.replace(path)
        out.append(path)
    return out

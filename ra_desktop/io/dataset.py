"""Finding a labelled data set on disk and splitting it by patient. No torch here.

A data set is either a folder with ``RA/`` and ``Normal/`` subfolders (any case, searched
recursively) or a CSV ``path,label[,patient_id][,severity]`` with paths relative to the CSV. A
folder holding ``labels.csv`` (the phantom generator's layout) is read through that CSV, because it
carries patient ids, which keep one patient's images out of both training and validation.
"""
from __future__ import annotations

import csv
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ra_desktop.errors import DataError
from ra_desktop.io.files import iter_image_files

POSITIVE_NAMES = {"ra", "1", "positive", "true"}
NEGATIVE_NAMES = {"normal", "0", "negative", "false"}
PHANTOM_PREFIX = "PHANTOM-"


@dataclass(frozen=True)
class Sample:
    """One labelled image. ``label`` is 1 for RA, 0 for normal."""

    path: Path
    label: int
    patient_id: str | None = None
    severity: str | None = None

    @property
    def group(self) -> str:
        """The unit that must not straddle train and validation: the patient, else the file."""
        return f"patient:{self.patient_id}" if self.patient_id else f"file:{self.path}"


@dataclass
class DataSet:
    samples: list[Sample]
    source: Path
    kind: str  # "folder" or "csv"
    missing: list[Path] = field(default_factory=list)  # listed in a CSV but not on disk
    synthetic: bool = False
    synthetic_reason: str = ""

    @property
    def has_patient_ids(self) -> bool:
        return any(s.patient_id for s in self.samples)

    @property
    def has_severity(self) -> bool:
        return any(s.severity not in (None, "") for s in self.samples)

    def counts(self) -> dict[str, int]:
        c = Counter(s.label for s in self.samples)
        return {"RA": c.get(1, 0), "Normal": c.get(0, 0)}

    def describe(self) -> str:
        c = self.counts()
        pats = len({s.patient_id for s in self.samples if s.patient_id})
        text = f"{self.source} ({self.kind}): {c['RA']} RA and {c['Normal']} normal images"
        if pats:
            text += f" from {pats} patients"
        if self.synthetic:
            text += f"; SYNTHETIC ({self.synthetic_reason})"
        return text


def _image_files(folder: Path) -> list[Path]:
    # The io package knows every supported format (DICOM without a suffix, ...).
    return sorted(Path(p) for p in iter_image_files([folder], recursive=True))


def parse_label(value: str, where: str) -> int:
    v = str(value).strip().lower()
    if v in POSITIVE_NAMES:
        return 1
    if v in NEGATIVE_NAMES:
        return 0
    raise DataError(f"{where}: label {value!r} is not RA/Normal or 1/0; fix the label column")


def _find_csv(folder: Path) -> Path | None:
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.name.lower() == "labels.csv":
            return p
    return None


def discover(data: str | Path) -> DataSet:
    """Read a data set from a folder or a CSV; raises :class:`DataError` saying what to fix."""
    data = Path(data)
    if not data.exists():
        raise DataError(f"data set {data} does not exist; give a folder with RA/ and Normal/ "
                        "subfolders or a CSV with path,label[,patient_id] columns")
    if data.is_file():
        ds = read_csv(data)
    else:
        csv_path = _find_csv(data)
        ds = read_csv(csv_path) if csv_path else read_folder(data)
    ds.synthetic, ds.synthetic_reason = detect_synthetic(ds)
    return ds


def read_folder(folder: Path) -> DataSet:
    subdirs = {p.name.lower(): p for p in sorted(folder.iterdir()) if p.is_dir()}
    wanted = {"ra": 1, "normal": 0}
    absent = [name for name in ("RA", "Normal") if name.lower() not in subdirs]
    if absent:
        found = ", ".join(sorted(p.name for p in subdirs.values())) or "none"
        raise DataError(f"{folder}: missing subfolder(s) {', '.join(absent)}/ (subfolders found: {found}); "
                        "put RA images in RA/ and normal images in Normal/, or pass a labels CSV")
    samples: list[Sample] = []
    for key, label in wanted.items():
        samples += [Sample(p, label) for p in _image_files(subdirs[key])]
    return DataSet(samples=samples, source=folder, kind="folder")


def read_csv(path: Path) -> DataSet:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        cols = {c.strip().lower(): c for c in (reader.fieldnames or [])}
        if "path" not in cols or "label" not in cols:
            raise DataError(f"{path}: needs a header with 'path' and 'label' columns "
                            f"(found: {', '.join(reader.fieldnames or []) or 'no header'})")
        samples, missing = [], []
        for line_no, row in enumerate(reader, start=2):
            rel = (row.get(cols["path"]) or "").strip()
            if not rel:
                continue
            p = Path(rel)
            p = p if p.is_absolute() else (path.parent / p)
            label = parse_label(row.get(cols["label"]) or "", f"{path} line {line_no}")
            pid = (row.get(cols["patient_id"]) or "").strip() or None if "patient_id" in cols else None
            sev = (row.get(cols["severity"]) or "").strip() or None if "severity" in cols else None
            if not p.is_file():
                missing.append(p)
                continue
            samples.append(Sample(p, label, pid, sev))
    return DataSet(samples=samples, source=path, kind="csv", missing=missing)


def detect_synthetic(ds: DataSet) -> tuple[bool, str]:
    """Phantom data is recognised by a ``ground_truth/`` folder or ``PHANTOM-`` patient ids."""
    root = ds.source if ds.source.is_dir() else ds.source.parent
    if any(p.is_dir() and p.name.lower() == "ground_truth" for p in root.iterdir()):
        return True, f"ground_truth/ folder in {root}"
    if any((s.patient_id or "").upper().startswith(PHANTOM_PREFIX) for s in ds.samples):
        return True, f"patient ids start with {PHANTOM_PREFIX}"
    return False, ""


def check_two_classes(samples: list[Sample], what: str) -> None:
    """Fail before any training if a class is empty: the model would learn nothing useful."""
    c = Counter(s.label for s in samples)
    if not samples:
        raise DataError(f"{what}: no readable images; check the path and the image formats")
    empty = [name for lab, name in ((1, "RA"), (0, "Normal")) if c.get(lab, 0) == 0]
    if empty:
        raise DataError(f"{what}: no {' or '.join(empty)} images ({c.get(1, 0)} RA, {c.get(0, 0)} normal); "
                        "training needs both classes: add images of the missing class")


def split_by_patient(samples: list[Sample], val_fraction: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """Seeded train/validation split by patient (or by file), stratified by label.

    Each label stratum sends whole patients to validation until about ``val_fraction`` of its
    images are there, keeping at least one patient of each class on both sides when it can.
    """
    if val_fraction <= 0:
        return list(samples), []
    if not 0 < val_fraction < 1:
        raise DataError(f"--val-fraction must be in [0, 1), got {val_fraction}")
    groups: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        groups[s.group].append(s)
    strata: dict[int, list[str]] = defaultdict(list)
    for g, members in groups.items():  # a patient's class is their majority label (ties: RA)
        lab = int(sum(m.label for m in members) * 2 >= len(members))
        strata[lab].append(g)
    rng = np.random.default_rng(seed)
    val_groups: set[str] = set()
    for lab in sorted(strata):
        names = sorted(strata[lab])
        rng.shuffle(names)
        total = sum(len(groups[g]) for g in names)
        target = val_fraction * total
        taken = 0
        for g in names[:-1]:  # the last patient always stays in training
            if taken > 0 and taken + len(groups[g]) / 2 > target:
                break
            val_groups.add(g)
            taken += len(groups[g])
    train = [s for s in samples if s.group not in val_groups]
    val = [s for s in samples if s.group in val_groups]
    return train, val

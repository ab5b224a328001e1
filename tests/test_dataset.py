"""Data-set discovery, labels, patient-level splitting and bad-input messages."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ra_desktop.errors import DataError
from ra_desktop.io.dataset import check_two_classes, discover, split_by_patient


def _png(path: Path, value: int = 100) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((16, 16), value, np.uint8)).save(path)
    return path


def test_folder_case_insensitive_and_recursive(tmp_path):
    _png(tmp_path / "ra" / "a.png")
    _png(tmp_path / "ra" / "sub" / "b.PNG")
    _png(tmp_path / "NORMAL" / "c.png")
    (tmp_path / "NORMAL" / "notes.txt").write_text("not an image")
    ds = discover(tmp_path)
    assert ds.kind == "folder"
    assert ds.counts() == {"RA": 2, "Normal": 1}
    assert not ds.has_patient_ids and not ds.synthetic


def test_csv_relative_paths_labels_and_missing_files(tmp_path):
    _png(tmp_path / "img" / "1.png")
    _png(tmp_path / "img" / "2.png")
    csv = tmp_path / "list.csv"
    csv.write_text("path,label,patient_id\nimg/1.png,RA,P1\nimg/2.png,0,P2\nimg/gone.png,1,P3\n")
    ds = discover(csv)
    assert ds.kind == "csv"
    assert [(s.path.name, s.label, s.patient_id) for s in ds.samples] == [("1.png", 1, "P1"), ("2.png", 0, "P2")]
    assert [p.name for p in ds.missing] == ["gone.png"]


def test_folder_with_labels_csv_prefers_csv_and_detects_phantom(tmp_path):
    _png(tmp_path / "RA" / "a.png")
    _png(tmp_path / "Normal" / "b.png")
    (tmp_path / "labels.csv").write_text("path,label,patient_id,severity\nRA/a.png,RA,PHANTOM-1,2\nNormal/b.png,Normal,PHANTOM-2,0\n")
    ds = discover(tmp_path)
    assert ds.kind == "csv" and ds.has_patient_ids and ds.has_severity
    assert ds.synthetic and "PHANTOM-" in ds.synthetic_reason


def test_ground_truth_folder_marks_synthetic(tmp_path):
    _png(tmp_path / "RA" / "a.png")
    _png(tmp_path / "Normal" / "b.png")
    (tmp_path / "ground_truth").mkdir()
    assert discover(tmp_path).synthetic


@pytest.mark.parametrize("setup, expected", [
    (lambda d: None, "does not exist"),
    (lambda d: _png(d / "RA" / "a.png"), "missing subfolder(s) Normal/"),
])
def test_missing_data_says_what_to_fix(tmp_path, setup, expected):
    root = tmp_path / "data"
    setup(root)
    with pytest.raises(DataError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        discover(root)


def test_bad_label_and_bad_header(tmp_path):
    _png(tmp_path / "a.png")
    (tmp_path / "x.csv").write_text("path,label\na.png,maybe\n")
    with pytest.raises(DataError, match="line 2.*'maybe'"):
        discover(tmp_path / "x.csv")
    (tmp_path / "y.csv").write_text("file,diagnosis\na.png,RA\n")
    with pytest.raises(DataError, match="'path' and 'label'"):
        discover(tmp_path / "y.csv")


def test_empty_or_single_class_fails(tmp_path):
    _png(tmp_path / "RA" / "a.png")
    (tmp_path / "Normal").mkdir()
    ds = discover(tmp_path)
    with pytest.raises(DataError, match="no Normal images"):
        check_two_classes(ds.samples, "training data")
    with pytest.raises(DataError, match="no readable images"):
        check_two_classes([], "training data")


def _patient_samples(tmp_path, n_patients=30, per_patient=3):
    from ra_desktop.io.dataset import Sample

    samples = []
    for p in range(n_patients):
        label = int(p % 3 == 0)  # one third RA: an unbalanced set
        for k in range(per_patient):
            samples.append(Sample(tmp_path / f"p{p}_{k}.png", label, f"P{p:03d}"))
    return samples


def test_split_by_patient_no_leakage_stratified_seeded(tmp_path):
    samples = _patient_samples(tmp_path)
    train, val = split_by_patient(samples, 0.2, seed=5)
    assert len(train) + len(val) == len(samples)
    assert not {s.patient_id for s in train} & {s.patient_id for s in val}
    # both classes on both sides, roughly the right fraction of each
    for lab, total in ((1, 30), (0, 60)):
        n_val = sum(s.label == lab for s in val)
        assert 0 < n_val < total and abs(n_val / total - 0.2) <= 0.1
    again = split_by_patient(samples, 0.2, seed=5)
    assert [s.path for s in again[1]] == [s.path for s in val]
    other = split_by_patient(samples, 0.2, seed=6)
    assert [s.path for s in other[1]] != [s.path for s in val]


def test_split_without_patient_ids_is_by_file(tmp_path):
    from ra_desktop.io.dataset import Sample

    samples = [Sample(tmp_path / f"{i}.png", i % 2) for i in range(20)]
    train, val = split_by_patient(samples, 0.25, seed=0)
    assert len(val) in (4, 5, 6) and {s.label for s in val} == {0, 1}
    assert split_by_patient(samples, 0.0, seed=0) == (samples, [])

"""Phantom data sets on disk: layout, labels.csv, DICOM header, worker independence, CLI."""
from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image

from ra_desktop.phantom import generate_dataset, load_ground_truth

SIZE = 360


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("ph") / "set"
    generate_dataset(out, 4, 4242, size=SIZE, formats=("png", "dcm"), workers=1, progress=False)
    return out


def test_layout_and_labels(dataset):
    assert (dataset / "RA").is_dir() and (dataset / "Normal").is_dir()
    with open(dataset / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 and list(rows[0]) == ["path", "label", "patient_id", "severity"]
    assert sorted(r["label"] for r in rows) == ["Normal", "Normal", "RA", "RA"]
    for r in rows:
        p = dataset / r["path"]
        assert p.is_file() and p.parent.name == r["label"] and p.suffix == ".png"
        assert r["patient_id"].startswith("PHANTOM-4242-")
        assert (int(r["severity"]) >= 1) == (r["label"] == "RA")
        gt = load_ground_truth(p)
        assert gt is not None and gt["label"] == r["label"] and gt["seed"][0] == 4242
        assert (dataset / "ground_truth" / (p.stem + "_mask.png")).is_file()
        assert load_ground_truth(p.with_suffix(".dcm"))["patient_id"] == r["patient_id"]
    # Only images live in the class folders (ground truth is in its own folder).
    assert {f.suffix for f in (dataset / "RA").iterdir()} == {".png", ".dcm"}
    assert load_ground_truth(dataset / "labels.csv") is None


def test_png_is_16bit_and_matches_dicom(dataset):
    import pydicom

    png = next((dataset / "RA").glob("*.png"))
    arr = np.asarray(Image.open(png))
    assert arr.dtype == np.uint16 and arr.shape == (SIZE, int(SIZE * 0.8))
    ds = pydicom.dcmread(png.with_suffix(".dcm"))
    assert np.array_equal(ds.pixel_array, arr)
    gt = load_ground_truth(png)
    assert ds.PatientID == gt["patient_id"] and ds.PatientID.startswith("PHANTOM-4242-")
    assert str(ds.PatientName).startswith("PHANTOM^")
    assert ds.Modality == "DX" and ds.BodyPartExamined == "HAND" and ds.ViewPosition == "PA"
    assert ds.ImageLaterality == gt["laterality"]
    assert ds.PhotometricInterpretation == "MONOCHROME2"
    assert ds.BitsStored == 12 and ds.PixelRepresentation == 0
    assert abs(float(ds.PixelSpacing[0]) - gt["pixel_spacing_mm"][0]) < 1e-4
    assert float(ds.ImagerPixelSpacing[1]) > 0 and float(ds.WindowWidth) > 0
    assert "SYNTHETIC PHANTOM" in ds.SeriesDescription and "SYNTHETIC PHANTOM" in ds.ImageComments
    assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    mask = np.asarray(Image.open(dataset / "ground_truth" / (png.stem + "_mask.png")))
    assert mask.dtype == np.uint8 and mask.shape == arr.shape


def test_uids_deterministic_and_unique(tmp_path, dataset):
    import pydicom

    generate_dataset(tmp_path, 2, 4242, size=SIZE, formats=("dcm",), workers=1, progress=False)
    a = pydicom.dcmread(next((tmp_path / "RA").glob("*.dcm")))
    b = pydicom.dcmread(dataset / "RA" / a.filename.split("/")[-1])
    assert a.SOPInstanceUID == b.SOPInstanceUID and a.StudyInstanceUID == b.StudyInstanceUID
    others = [pydicom.dcmread(p).SOPInstanceUID for p in dataset.rglob("*.dcm")]
    assert len(set(others)) == len(others)


def test_worker_count_does_not_change_output(tmp_path, dataset):
    generate_dataset(tmp_path / "w2", 4, 4242, size=SIZE, workers=2, progress=False)
    for png in (dataset / "RA").glob("*.png"):
        a = np.asarray(Image.open(png))
        b = np.asarray(Image.open(tmp_path / "w2" / "RA" / png.name))
        assert np.array_equal(a, b)


def test_cli(tmp_path):
    from ra_desktop.cli import main

    assert main(["phantom", "--n", "2", "--seed", "3", "--out", str(tmp_path), "--quiet",
                 "--size", "400"]) == 2  # below the clinical size range
    assert main(["phantom", "--n", "2", "--seed", "3", "--out", str(tmp_path), "--quiet",
                 "--size", "400", "--allow-small", "--workers", "1", "--severity", "2"]) == 0
    gt = load_ground_truth(next((tmp_path / "RA").glob("*.png")))
    assert gt["severity"] == 2
    with pytest.raises(SystemExit):
        main(["phantom", "--n", "2", "--seed", "3", "--out", str(tmp_path), "--severity", "0-4"])


def test_bundled_demo_set_is_consistent():
    from ra_desktop.paths import demo_dir
    from ra_desktop.phantom.demo import DEMO_CASES

    root = demo_dir()
    if not (root / "labels.csv").is_file():
        pytest.skip("demo set not present in this install")
    with open(root / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(DEMO_CASES)
    for row, (label, sev, side, force) in zip(rows, DEMO_CASES):
        gt = load_ground_truth(root / row["path"])
        assert gt["label"] == row["label"] == label and gt["severity"] == sev
        assert gt["laterality"] == side and gt["seed"][0] >= 900000
        kinds = {f["type"] for f in gt["other_findings"]}
        assert {"dip_oa": "dip_osteoarthritis", "fracture": "healed_fracture"}.keys() >= set(force)
        assert all({"dip_oa": "dip_osteoarthritis", "fracture": "healed_fracture"}[k] in kinds
                   for k in force)


def test_twins_dataset_pairs_share_a_patient(tmp_path):
    import csv

    from ra_desktop.cli import main

    assert main(["phantom", "--n", "3", "--seed", "5", "--out", str(tmp_path / "odd"), "--quiet",
                 "--size", "400", "--allow-small", "--twins"]) == 2  # pairs need an even n
    assert main(["phantom", "--n", "4", "--seed", "5", "--out", str(tmp_path), "--quiet",
                 "--size", "400", "--allow-small", "--workers", "1", "--twins"]) == 0
    rows = list(csv.DictReader(open(tmp_path / "labels.csv")))
    by_patient: dict[str, list[str]] = {}
    for r in rows:
        by_patient.setdefault(r["patient_id"], []).append(r["label"])
    assert len(rows) == 4 and sorted(map(sorted, by_patient.values())) == [["Normal", "RA"]] * 2


def test_twins_ground_truth_seed_regenerates_the_pair(tmp_path):
    from ra_desktop.phantom import case_rng, generate_twins

    generate_dataset(tmp_path, 4, 8, size=400, workers=1, progress=False, twins=True)
    path = sorted((tmp_path / "RA").glob("*.png"))[1]  # the second pair's RA case
    gt = load_ground_truth(path)
    seed, k = gt["seed"]
    rng = case_rng(seed, k)
    rng.integers(1, 4), rng.random()  # the pair's severity and side are drawn first (generate._job)
    ra, _ = generate_twins(rng, gt["severity"], gt["laterality"], 400, seed_info=[seed, k])
    assert np.array_equal(np.asarray(Image.open(path)), ra.image)

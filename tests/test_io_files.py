"""iter_image_files: which files a folder yields, in what order."""
from __future__ import annotations

import numpy as np
from io_fixtures import write_dicom
from PIL import Image

from ra_desktop.io import SUPPORTED_SUFFIXES, iter_image_files


def _png(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((2, 2), np.uint8)).save(path, format="PNG")
    return path


def test_folder_walk_skips_hidden_and_non_images_and_is_sorted(tmp_path):
    _png(tmp_path / "b.png")
    _png(tmp_path / "A.PNG")
    _png(tmp_path / "sub" / "c.tif")
    _png(tmp_path / ".hidden.png")
    _png(tmp_path / ".cache" / "d.png")
    (tmp_path / "labels.csv").write_text("a,b\n")
    (tmp_path / "meta.json").write_text("{}")
    (tmp_path / "readme.txt").write_text("hi")
    (tmp_path / "random.xyz").write_bytes(b"\x00" * 200)  # unknown suffix, not DICOM
    write_dicom(tmp_path / "1.2.840.99", np.zeros((2, 2), np.uint16))  # UID-named DICOM
    write_dicom(tmp_path / "IM0001", np.zeros((2, 2), np.uint16))  # no suffix
    found = [p.relative_to(tmp_path).as_posix() for p in iter_image_files(tmp_path)]
    assert found == ["1.2.840.99", "A.PNG", "IM0001", "b.png", "sub/c.tif"]
    assert found == [p.relative_to(tmp_path).as_posix() for p in iter_image_files([tmp_path])]


def test_phantom_ground_truth_folders_hold_no_cases(tmp_path):
    # `ra-desktop predict resources/demo` used to analyse the 12 lesion masks as radiographs.
    _png(tmp_path / "RA" / "p_1.png")
    _png(tmp_path / "ground_truth" / "p_1_mask.png")
    _png(tmp_path / "site" / "ground_truth" / "p_2_mask.png")
    assert [p.name for p in iter_image_files(tmp_path)] == ["p_1.png"]
    # Named explicitly, the folder is read: the user asked for it.
    assert [p.name for p in iter_image_files(tmp_path / "ground_truth")] == ["p_1_mask.png"]


def test_demo_folder_yields_exactly_its_cases():
    from pathlib import Path

    demo = Path(__file__).resolve().parent.parent / "resources" / "demo"
    rows = (demo / "labels.csv").read_text().splitlines()[1:]
    assert sorted(p.relative_to(demo).as_posix() for p in iter_image_files(demo)) == sorted(
        r.split(",")[0] for r in rows)


def test_not_recursive(tmp_path):
    _png(tmp_path / "a.png")
    _png(tmp_path / "sub" / "b.png")
    assert [p.name for p in iter_image_files(tmp_path, recursive=False)] == ["a.png"]


def test_explicit_files_always_yielded_in_order_without_duplicates(tmp_path):
    a = _png(tmp_path / "a.png")
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    missing = tmp_path / "missing.dcm"
    found = list(iter_image_files([notes, a, missing, tmp_path, str(a)]))
    # Named files come as given (the loader explains why they fail); the folder adds nothing new.
    assert found == [notes, a, missing]


def test_supported_suffixes():
    assert {".dcm", ".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"} <= SUPPORTED_SUFFIXES
    assert ".json" not in SUPPORTED_SUFFIXES

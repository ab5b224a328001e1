"""Helpers for the I/O tests: locate third-party DICOM files and write synthetic ones.

The real DICOM files come from pydicom's own test data and the pydicom-data package, found by
path only: ``pydicom.data.get_testdata_file`` may try to download, which would hang offline.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


def _data_store_dir() -> Path | None:
    spec = importlib.util.find_spec("data_store")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "data"


DATA_STORE_FILES = _data_store_dir()


def real_dicom(name: str) -> Path:
    """Path of a third-party test file, or skip the test saying which file is absent."""
    for folder in (PYDICOM_FILES, DATA_STORE_FILES):
        if folder is not None and (folder / name).is_file():
            return folder / name
    pytest.skip(f"third-party DICOM test file {name} is not installed (pydicom / pydicom-data)")


def write_dicom(
    path: Path,
    pixels: np.ndarray | None = None,
    *,
    transfer_syntax: str = ExplicitVRLittleEndian,
    preamble: bool = True,
    rows: int | None = None,
    cols: int | None = None,
    pixel_bytes: bytes | None = None,
    **tags,
) -> Path:
    """Write a small single-frame greyscale DICOM file.

    ``pixels`` (uint16 or int16) fills PixelData unless ``pixel_bytes`` is given; ``rows`` and
    ``cols`` override the header size (to fake a huge image); ``tags`` are set by keyword.
    """
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1"  # CR Image Storage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = transfer_syntax
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "CR"
    if pixels is not None or pixel_bytes is not None:
        h, w = pixels.shape if pixels is not None else (rows, cols)
        ds.Rows = rows or h
        ds.Columns = cols or w
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = 16
        ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = int(pixels is not None and pixels.dtype.kind == "i")
        ds.PixelData = pixel_bytes if pixel_bytes is not None else pixels.tobytes()
    for key, value in tags.items():
        setattr(ds, key, value)
    ds.save_as(path, enforce_file_format=preamble)
    if not preamble:
        # Strip the 128-byte preamble, "DICM" and the file meta, as very old writers did.
        ds.file_meta = FileMetaDataset()
        ds.save_as(path, implicit_vr=False, little_endian=True)
    return path


def j2k_dicom(path: Path, shape: tuple[int, int] = (512, 400), *, photometric: str = "MONOCHROME2",
              lossy: bool = False, **tags) -> Path:
    """A 12-bit JPEG 2000 DICOM of a smooth phantom (a bright bar, discs, a gradient), encoded by
    pylibjpeg-openjpeg through pydicom; ``tags`` are set by keyword before compressing."""
    from pydicom.uid import JPEG2000, JPEG2000Lossless

    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = 400 + 1200 * yy / h + 2000 * np.exp(-(((xx - w / 2) / (w / 8)) ** 2))
    for k in range(3):
        img += 600 * (((yy - h * (k + 1) / 4) ** 2 + (xx - w / 3) ** 2) < (h / 12) ** 2)
    pixels = np.clip(img, 0, 4095).astype(np.uint16)
    write_dicom(path, pixels, PhotometricInterpretation=photometric, BitsStored=12, HighBit=11, **tags)
    ds = pydicom.dcmread(path)
    if lossy:
        ds.compress(JPEG2000, j2k_cr=[20])
    else:
        ds.compress(JPEG2000Lossless)
    ds.save_as(path, enforce_file_format=True)
    return path

"""DICOM loading against real files written by others (pydicom and pydicom-data test data)."""
from __future__ import annotations

import numpy as np
import pydicom
import pytest
from io_fixtures import real_dicom, write_dicom
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    JPEG2000,
    JPEG2000Lossless,
    JPEGExtended12Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    RLELossless,
)

from ra_desktop.io import load_radiograph


def _raw_first_frame(path) -> np.ndarray:
    """Reference pixels straight from pydicom, without our loader."""
    ds = pydicom.dcmread(path)
    return ds.pixel_array


def test_cr_monochrome1_15bit_kept_uninverted():
    path = real_dicom("RG1_UNCR.dcm")
    rad = load_radiograph(path)
    assert rad.format == "DICOM"
    assert rad.modality == "CR"
    assert rad.photometric == "MONOCHROME1" and rad.inverted
    assert rad.bits_stored == 15
    assert rad.pixels.dtype == np.uint16
    assert rad.pixels.shape == (1955, 1841)
    # Not inverted: identical to the stored values.
    np.testing.assert_array_equal(rad.pixels, _raw_first_frame(path))
    assert rad.pixels.max() < 2**15
    assert rad.window_center == 15000.0
    assert not rad.pixels.flags.writeable
    with pytest.raises(ValueError):
        rad.pixels[0, 0] = 1


def test_cr_laterality_view_and_case_id():
    path = real_dicom("RG3_UNCR.dcm")
    rad = load_radiograph(path)
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    assert rad.laterality == "R"
    assert rad.view_position == "AP"
    assert rad.body_part == "EXTREMITY"
    assert rad.case_id == ds.SOPInstanceUID
    assert rad.patient_id == ds.PatientID


@pytest.mark.parametrize(
    ("compressed", "uncompressed"),
    [
        ("MR_small_jp2klossless.dcm", "MR_small.dcm"),
        ("693_J2KR.dcm", "693_UNCR.dcm"),
        ("MR2_J2KR.dcm", "MR2_UNCR.dcm"),
        ("RG1_J2KR.dcm", "RG1_UNCR.dcm"),
    ],
)
def test_jpeg2000_lossless_bit_identical_to_uncompressed_twin(compressed, uncompressed):
    a = load_radiograph(real_dicom(compressed))
    b = load_radiograph(real_dicom(uncompressed))
    assert a.transfer_syntax == JPEG2000Lossless
    assert a.pixels.shape == b.pixels.shape
    np.testing.assert_array_equal(a.pixels, b.pixels)
    assert a.photometric == b.photometric


def test_jpeg2000_lossy_is_close_to_original_but_not_equal():
    lossy = load_radiograph(real_dicom("RG1_J2KI.dcm"))
    ref = load_radiograph(real_dicom("RG1_UNCI.dcm"))
    assert lossy.transfer_syntax == JPEG2000
    assert lossy.photometric == "MONOCHROME1"
    diff = np.abs(lossy.pixels.astype(np.int64) - ref.pixels.astype(np.int64))
    assert diff.mean() < 0.01 * float(ref.pixels.max())  # a faithful lossy decode


@pytest.mark.parametrize(
    ("name", "syntax"),
    [
        ("MR_small_RLE.dcm", RLELossless),
        ("MR_small_bigendian.dcm", ExplicitVRBigEndian),
        ("MR_small_jpeg_ls_lossless.dcm", JPEGLSLossless),
    ],
)
def test_lossless_syntaxes_match_mr_small(name, syntax):
    ref = load_radiograph(real_dicom("MR_small.dcm"))
    rad = load_radiograph(real_dicom(name))
    assert rad.transfer_syntax == syntax
    assert rad.pixels.dtype == np.int16  # PixelRepresentation 1: signed
    assert rad.pixels.dtype.isnative
    np.testing.assert_array_equal(rad.pixels, ref.pixels)


def test_jpeg_lossless_matches_uncompressed_twin():
    rad = load_radiograph(real_dicom("JPEG-LL.dcm"))
    assert rad.transfer_syntax == JPEGLosslessSV1
    np.testing.assert_array_equal(rad.pixels, _raw_first_frame(real_dicom("JPEG-LL.dcm")))
    assert rad.pixels.shape == (1024, 256)


def test_jpeg_extended_12bit():
    rad = load_radiograph(real_dicom("JPGExtended.dcm"))
    assert rad.transfer_syntax == JPEGExtended12Bit
    assert rad.bits_stored == 12
    assert rad.pixels.max() < 2**12


def test_deflate():
    rad = load_radiograph(real_dicom("image_dfl.dcm"))
    assert rad.transfer_syntax == DeflatedExplicitVRLittleEndian
    assert rad.pixels.shape == (512, 512) and rad.pixels.dtype == np.uint8
    assert rad.pixels.max() > rad.pixels.min()


def test_rescale_integer_shift_stays_integer_and_float_slope_is_float32():
    ct = load_radiograph(real_dicom("CT_small.dcm"))  # slope 1, intercept -1024
    raw = _raw_first_frame(real_dicom("CT_small.dcm"))
    assert ct.pixels.dtype.kind == "i"
    np.testing.assert_array_equal(ct.pixels, raw.astype(np.int64) - 1024)
    mr = load_radiograph(real_dicom("MR2_UNCR.dcm"))  # slope 3.77
    assert mr.pixels.dtype == np.float32
    ds = pydicom.dcmread(real_dicom("MR2_UNCR.dcm"))
    expected = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    np.testing.assert_allclose(mr.pixels, expected, rtol=1e-6)


def test_modality_lut_sequence_applied():
    path = real_dicom("mlut_18.dcm")
    ds = pydicom.dcmread(path)
    rad = load_radiograph(path)
    expected = pydicom.pixels.apply_modality_lut(ds.pixel_array, ds)
    np.testing.assert_array_equal(rad.pixels, expected)
    assert not np.array_equal(rad.pixels, ds.pixel_array)


def test_multiframe_first_frame_with_note():
    path = real_dicom("emri_small.dcm")
    rad = load_radiograph(path)
    frames = _raw_first_frame(path)
    assert frames.ndim == 3 and frames.shape[0] == 10
    np.testing.assert_array_equal(rad.pixels, frames[0])
    assert "multi-frame (10 frames): first frame shown" in rad.notes


@pytest.mark.parametrize("name", ["SC_rgb.dcm", "SC_rgb_jpeg_dcmtk.dcm", "US1_J2KR.dcm",
                                  "OBXXXX1A.dcm"])
def test_colour_dicom_converted_to_grey_with_note(name):
    rad = load_radiograph(real_dicom(name))
    assert rad.pixels.ndim == 2
    assert rad.photometric == "MONOCHROME2"
    assert any("converted to grey" in n for n in rad.notes)


def test_synthetic_metadata_laterality_spacing_window(tmp_path):
    px = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 100)
    path = write_dicom(
        tmp_path / "hand.dcm", px, ImageLaterality="L", ViewPosition="PA",
        ImagerPixelSpacing=[0.15, 0.2], WindowCenter=[2000, 3000], WindowWidth=[4000, 1000],
        StudyDate="20240131", PatientID="P1", PatientName="Doe^Jane", BodyPartExamined="HAND",
        PhotometricInterpretation="MONOCHROME1",
    )
    rad = load_radiograph(path)
    np.testing.assert_array_equal(rad.pixels, px)
    assert rad.laterality == "L"
    assert rad.view_position == "PA"
    assert rad.pixel_spacing_mm == (0.15, 0.2)
    assert any("ImagerPixelSpacing" in n for n in rad.notes)
    assert (rad.window_center, rad.window_width) == (2000.0, 4000.0)
    assert rad.study_date == "20240131"
    assert rad.patient_name == "Doe^Jane" and rad.patient_id == "P1"
    assert rad.photometric == "MONOCHROME1"
    np.testing.assert_array_equal(rad.pixels, px)  # MONOCHROME1 never inverted


def test_pixel_spacing_preferred_and_laterality_fallback(tmp_path):
    px = np.zeros((4, 4), np.uint16)
    path = write_dicom(tmp_path / "a.dcm", px, PixelSpacing=[0.1, 0.1],
                       ImagerPixelSpacing=[0.2, 0.2], Laterality="R")
    rad = load_radiograph(path)
    assert rad.pixel_spacing_mm == (0.1, 0.1)
    assert not any("ImagerPixelSpacing" in n for n in rad.notes)
    assert rad.laterality == "R"


def test_dicom_without_preamble_and_wrong_extension(tmp_path):
    px = np.arange(20, dtype=np.uint16).reshape(4, 5)
    path = write_dicom(tmp_path / "scan.png", px, preamble=False)
    assert path.read_bytes()[128:132] != b"DICM"
    rad = load_radiograph(path)
    assert rad.format == "DICOM"
    np.testing.assert_array_equal(rad.pixels, px)

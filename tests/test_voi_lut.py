"""DICOM display conformance: VOI LUT Functions, VOI LUT Sequence, Presentation LUT Shape, MONOCHROME1
and ultrasound region spacing — crafted files, rendered by us and by DCMTK's ``dcmj2pnm``.

Our 8-bit display must equal DCMTK's on every pixel or differ by one grey level at most (DCMTK
truncates to the output level where we round). Each comparison records its largest difference in
``MAX_DIFF`` and prints it (``pytest -s``) for the report.
"""
from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from io_fixtures import write_dicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from ra_desktop.io import load_radiograph
from ra_desktop.preprocess.transforms import intensity_unit
from ra_desktop.render import greyscale, voi
from ra_desktop.render.compose import radiograph_grey
from ra_desktop.ui.viewer import _display

RAMP = np.arange(4096, dtype=np.uint16).reshape(64, 64)  # every 12-bit value once
SIGNED_RAMP = (np.arange(4096) - 2048).astype(np.int16).reshape(64, 64)
MAX_DIFF: dict[str, int] = {}


# ---- helpers ------------------------------------------------------------------------------------
def _dcmj2pnm() -> str:
    exe = shutil.which("dcmj2pnm")
    if exe is None:
        pytest.fail("dcmj2pnm (DCMTK) is not installed: run `make setup`, which installs the dcmtk "
                    "package; the display conformance tests compare against it and are never skipped")
    return exe


def _read_pgm(data: bytes) -> np.ndarray:
    """An 8-bit binary PGM (P5), comments allowed in the header."""
    tokens, pos = [], 0
    while len(tokens) < 4:
        m = re.compile(rb"\s*(#[^\n]*\n\s*)*(\S+)").match(data, pos)
        assert m, "malformed PGM header from dcmj2pnm"
        tokens.append(m.group(2))
        pos = m.end()
    magic, w, h, maxval = tokens[0], int(tokens[1]), int(tokens[2]), int(tokens[3])
    assert magic == b"P5" and maxval == 255, (magic, maxval)
    return np.frombuffer(data[pos + 1 : pos + 1 + w * h], np.uint8).reshape(h, w)


def dcmtk_render(path: Path, *options: str) -> np.ndarray:
    out = path.with_suffix(".pgm")
    run = subprocess.run([_dcmj2pnm(), *options, "+op", str(path), str(out)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return _read_pgm(out.read_bytes())


def ours(path: Path) -> np.ndarray:
    """What the viewer opens the file with ("From file"), checked to equal the report/export path."""
    rad = load_radiograph(path)
    grey = radiograph_grey(rad)
    lut = _display.WindowLut(rad.pixels)
    if rad.voi_lut is not None:
        c, w = rad.voi_lut.input_window()
    else:
        c, w = _display.preset_window("dicom", rad.pixels, dicom=(rad.window_center, rad.window_width))
    viewer = lut.render(c, max(w, 1.0), rad.display_inverted, rad.voi_function, rad.voi_lut)
    np.testing.assert_array_equal(viewer, grey)
    return grey


def compare(name: str, path: Path, *options: str) -> int:
    ref = dcmtk_render(path, *options).astype(int)
    got = ours(path).astype(int)
    assert got.shape == ref.shape
    diff = int(np.abs(got - ref).max())
    MAX_DIFF[name] = diff
    print(f"\n[vs DCMTK] {name}: max grey-level difference {diff}, "
          f"{int((got != ref).sum())} of {got.size} pixels differ")
    assert diff <= 1, f"{name}: differs from DCMTK by {diff} grey levels"
    return diff


def lut_sequence(n: int, first: int, bits: int, data, vr: str = "US", descriptor_vr: str | None = None,
                 descriptor=None) -> Sequence:
    item = Dataset()
    desc = descriptor if descriptor is not None else [n % 65536, first, bits]
    item.add_new(0x00283002, descriptor_vr or ("SS" if first < 0 else "US"), desc)
    item.LUTExplanation = "test LUT"
    if vr == "OW":
        item.add_new(0x00283006, "OW", np.asarray(data, "<u2").tobytes())
    elif vr == "OB-packed":
        item.add_new(0x00283006, "OW", np.asarray(data, np.uint8).tobytes())
    else:
        item.add_new(0x00283006, "US", [int(v) for v in data])
    return Sequence([item])


def gamma_lut(n: int, bits: int) -> np.ndarray:
    t = np.arange(n) / max(n - 1, 1)
    return np.round(t**0.6 * ((1 << bits) - 1)).astype(np.int64)


def ramp_file(tmp_path: Path, name: str, pixels=RAMP, **tags) -> Path:
    bits = dict(BitsStored=12, HighBit=11) if pixels.dtype == np.uint16 else {}
    return write_dicom(tmp_path / f"{name}.dcm", pixels, **{**bits, **tags})


# ---- the window functions, against DCMTK ---------------------------------------------------------
WINDOW_CASES = {
    "LINEAR (default, no VOI LUT Function)": dict(WindowCenter=2000, WindowWidth=401),
    "LINEAR, fractional window": dict(WindowCenter="1023.5", WindowWidth="2047.25", VOILUTFunction="LINEAR"),
    "LINEAR, narrow window": dict(WindowCenter=1500, WindowWidth=10),
    "LINEAR_EXACT": dict(WindowCenter=2000, WindowWidth=401, VOILUTFunction="LINEAR_EXACT"),
    "SIGMOID": dict(WindowCenter=2048, WindowWidth=1200, VOILUTFunction="SIGMOID"),
    "multiple windows: the first": dict(WindowCenter=[1000, 3000], WindowWidth=[500, 1000]),
    "MONOCHROME1": dict(WindowCenter=2000, WindowWidth=1001, PhotometricInterpretation="MONOCHROME1"),
    "MONOCHROME1 + SIGMOID": dict(WindowCenter=2000, WindowWidth=800, VOILUTFunction="SIGMOID",
                                  PhotometricInterpretation="MONOCHROME1"),
    "Presentation LUT Shape INVERSE": dict(WindowCenter=2000, WindowWidth=1001, PresentationLUTShape="INVERSE"),
    "MONOCHROME1 + INVERSE (one inversion)": dict(WindowCenter=2000, WindowWidth=1001,
                                                  PresentationLUTShape="INVERSE",
                                                  PhotometricInterpretation="MONOCHROME1"),
}


@pytest.mark.parametrize("name", list(WINDOW_CASES))
def test_window_functions_match_dcmtk(tmp_path, name):
    path = ramp_file(tmp_path, "case", **WINDOW_CASES[name])
    compare(name, path, "+Wi", "1")
    rad = load_radiograph(path)
    if rad.voi_function != "LINEAR_EXACT":  # DCMTK 3.6.7 applies LINEAR for LINEAR_EXACT
        # The one-level differences are rounding only: truncated as DCMTK does, ours is identical
        # except where the exact value is a whole level (DCMTK's arithmetic lands just below it).
        unit = voi.voi_unit(rad.pixels, rad.window_center, rad.window_width, function=rad.voi_function,
                            invert=rad.display_inverted).astype(np.float64) * 255
        differ = np.floor(unit) != dcmtk_render(path, "+Wi", "1")
        assert (np.abs(unit[differ] - np.round(unit[differ])) < 1e-3).all()


def test_comparison_tells_the_old_formula_from_linear(tmp_path):
    # The one-level tolerance is not blind: the historic LINEAR_EXACT-style window on a narrow
    # window differs from DCMTK's LINEAR by far more than one level.
    path = ramp_file(tmp_path, "narrow", WindowCenter=1500, WindowWidth=10)
    old = greyscale.to_uint8(greyscale.apply_window(load_radiograph(path).pixels, 1500, 10)).astype(int)
    assert np.abs(old - dcmtk_render(path, "+Wi", "1").astype(int)).max() > 10


def test_signed_pixels_with_rescale_match_dcmtk(tmp_path):
    path = ramp_file(tmp_path, "signed", SIGNED_RAMP, BitsStored=16, HighBit=15, RescaleSlope=1,
                     RescaleIntercept=-1024, WindowCenter=-1000, WindowWidth=1500)
    assert load_radiograph(path).pixels.min() == -2048 - 1024
    compare("signed pixels, rescale intercept, LINEAR", path, "+Wi", "1")


def test_linear_exact_is_the_standard_formula(tmp_path):
    # DCMTK 3.6.7 does not know LINEAR_EXACT (it warns and applies LINEAR): check the formula itself.
    path = ramp_file(tmp_path, "exact", WindowCenter=2000, WindowWidth=401, VOILUTFunction="LINEAR_EXACT")
    rad = load_radiograph(path)
    assert rad.voi_function == "LINEAR_EXACT"
    x, c, w = RAMP.astype(np.float64), 2000.0, 401.0
    ref = np.where(x <= c - w / 2, 0.0, np.where(x > c + w / 2, 1.0, (x - c) / w + 0.5))
    got = radiograph_grey(rad).astype(int)
    assert np.abs(got - np.floor(ref * 255 + 0.5)).max() == 0


def test_linear_borders_are_the_standards(tmp_path):
    c, w = 2000.0, 401.0
    x = np.arange(4096, dtype=np.float64)
    unit = voi.window_unit(x, c, w, voi.LINEAR)
    assert (unit[x <= c - 0.5 - (w - 1) / 2] == 0).all()
    assert (unit[x > c - 0.5 + (w - 1) / 2] == 1).all()
    inside = (x > c - 0.5 - (w - 1) / 2) & (x <= c - 0.5 + (w - 1) / 2)
    np.testing.assert_allclose(unit[inside], (x[inside] - (c - 0.5)) / (w - 1) + 0.5, atol=1e-6)
    # Width 1 is a step at c - 0.5; a width below 1 is read as 1.
    np.testing.assert_array_equal(voi.window_unit(np.array([9, 10, 11]), 10.5, 1), [0, 0, 1])
    np.testing.assert_array_equal(voi.window_unit(np.array([9, 10, 11]), 10.5, 0.2), [0, 0, 1])


def test_sigmoid_formula():
    x = np.linspace(-100, 5000, 777)
    got = voi.window_unit(x, 2048, 1200, voi.SIGMOID)
    np.testing.assert_allclose(got, 1 / (1 + np.exp(-4 * (x - 2048) / 1200)), atol=1e-6)
    assert voi.window_unit(np.array([-1e9, 1e9]), 0, 1, voi.SIGMOID).tolist() == [0.0, 1.0]


# ---- VOI LUT Sequence, against DCMTK -------------------------------------------------------------
LUT_CASES = {
    "VOI LUT 12-bit (US)": (RAMP, 2048, 1000, 12, "US", {}),
    "VOI LUT 16-bit (OW)": (RAMP, 3000, 500, 16, "OW", {}),
    "VOI LUT 8-bit": (RAMP, 1024, 1500, 8, "US", {}),
    "VOI LUT signed first value": (SIGNED_RAMP, 2000, -1000, 12, "US", {}),
    "VOI LUT + MONOCHROME1": (RAMP, 2048, 1000, 12, "US", {"PhotometricInterpretation": "MONOCHROME1"}),
    "VOI LUT + INVERSE": (RAMP, 2048, 1000, 12, "US", {"PresentationLUTShape": "INVERSE"}),
    "VOI LUT with a window too (the LUT wins)": (RAMP, 2048, 1000, 12, "US",
                                                {"WindowCenter": 100, "WindowWidth": 50}),
}


@pytest.mark.parametrize("name", list(LUT_CASES))
def test_voi_lut_matches_dcmtk(tmp_path, name):
    pixels, n, first, bits, vr, extra = LUT_CASES[name]
    data = gamma_lut(n, bits)
    tags = dict(BitsStored=16, HighBit=15) if pixels.dtype == np.int16 else {}
    path = ramp_file(tmp_path, "lut", pixels, VOILUTSequence=lut_sequence(n, first, bits, data, vr),
                     **tags, **extra)
    rad = load_radiograph(path)
    assert rad.voi_lut is not None and (rad.voi_lut.entries, rad.voi_lut.first_mapped) == (n, first)
    np.testing.assert_array_equal(rad.voi_lut.table, data)
    compare(name, path, "+Wl", "1")


def test_voi_lut_maps_below_and_above_its_range_to_its_ends():
    lut = voi.VoiLut(first_mapped=100, bits=8, table=np.array([10, 20, 30]))
    np.testing.assert_allclose(lut.unit(np.array([-5, 99, 100, 101, 102, 103, 10_000])) * 255,
                               [10, 10, 10, 20, 30, 30, 30], atol=1e-4)
    assert lut.input_window() == (101.0, 3.0)


# ---- hostile or broken VOI LUTs: ignored with a note, never a crash -----------------------------
def _load_with_lut(tmp_path, seq, **tags) -> object:
    path = ramp_file(tmp_path, "hostile", VOILUTSequence=seq, WindowCenter=2000, WindowWidth=400, **tags)
    rad = load_radiograph(path)
    assert radiograph_grey(rad).shape == RAMP.shape  # still displays (with the window)
    return rad


def test_huge_descriptor_with_short_data_is_ignored_with_a_note(tmp_path):
    rad = _load_with_lut(tmp_path, lut_sequence(0, 0, 16, np.arange(10)))  # 0 = 65,536 entries
    assert rad.voi_lut is None
    assert any("VOI LUT ignored" in n and "65536" in n for n in rad.notes), rad.notes


def test_lut_data_longer_than_descriptor_is_cut_to_it(tmp_path):
    data = np.tile(np.arange(4096), 64)  # 262,144 values for a 4,096-entry LUT
    rad = _load_with_lut(tmp_path, lut_sequence(4096, 0, 12, data, "OW"))
    assert rad.voi_lut is not None and rad.voi_lut.entries == 4096
    assert any("the first 4096 are used" in n for n in rad.notes)


def test_full_size_lut_is_accepted(tmp_path):
    data = np.arange(65536) >> 4
    rad = _load_with_lut(tmp_path, lut_sequence(65536, 0, 12, data, "OW"))
    assert rad.voi_lut is not None and rad.voi_lut.entries == 65536


@pytest.mark.parametrize(("descriptor", "expected"), [
    ([4096, 0, 40], "bits per entry"),
    ([4096, 0], "not three numbers"),
    ([4096, 0, 0], "bits per entry"),
])
def test_bad_descriptor_is_ignored_with_a_note(tmp_path, descriptor, expected):
    rad = _load_with_lut(tmp_path, lut_sequence(4096, 0, 12, np.arange(4096), descriptor=descriptor))
    assert rad.voi_lut is None
    assert any(expected in n for n in rad.notes), rad.notes


def test_lut_without_data_and_empty_sequence_are_ignored(tmp_path):
    item = Dataset()
    item.LUTDescriptor = [16, 0, 8]
    rad = _load_with_lut(tmp_path, Sequence([item]))
    assert rad.voi_lut is None and any("no LUT Data" in n for n in rad.notes)
    rad = _load_with_lut(tmp_path, Sequence([]))
    assert rad.voi_lut is None and any("empty" in n for n in rad.notes)


def test_lut_values_wider_than_stated_are_read_wider(tmp_path):
    rad = _load_with_lut(tmp_path, lut_sequence(4096, 0, 8, np.arange(4096)))
    assert rad.voi_lut is not None and rad.voi_lut.bits == 12
    assert any("exceed the 8 bits" in n for n in rad.notes)


def test_packed_8_bit_lut_is_unpacked(tmp_path):
    data = (np.arange(256) * 3 // 4).astype(np.uint8)
    rad = _load_with_lut(tmp_path, lut_sequence(256, 0, 8, data, "OB-packed"))
    assert rad.voi_lut is not None
    np.testing.assert_array_equal(rad.voi_lut.table, data)


def test_voi_lut_type_refuses_what_the_cap_forbids():
    with pytest.raises(ValueError):
        voi.VoiLut(0, 16, np.zeros(65537, np.uint16))
    with pytest.raises(ValueError):
        voi.VoiLut(0, 8, np.array([0, 256]))
    with pytest.raises(ValueError):
        voi.VoiLut(0, 8, np.zeros(0, np.uint16))


def test_unknown_voi_function_is_linear_with_a_note(tmp_path):
    rad = load_radiograph(ramp_file(tmp_path, "fn", WindowCenter=2000, WindowWidth=401, VOILUTFunction="CUBIC"))
    assert rad.voi_function == "LINEAR"
    assert any("unknown VOI LUT Function" in n for n in rad.notes)


def test_contradictory_identity_on_monochrome1_stays_inverted(tmp_path):
    # DCMTK lets IDENTITY override MONOCHROME1 (bone dark); we keep MONOCHROME1, with a note.
    rad = load_radiograph(ramp_file(tmp_path, "m1id", WindowCenter=2000, WindowWidth=1001,
                                    PhotometricInterpretation="MONOCHROME1", PresentationLUTShape="IDENTITY"))
    assert rad.display_inverted and not rad.presentation_inverse
    assert any("contradicts MONOCHROME1" in n for n in rad.notes)


# ---- PNG and non-DICOM keep their behaviour; the model input never changes ----------------------
def test_apply_window_default_is_the_historic_formula_bit_for_bit():
    def historic(pixels, center, width, invert=False):
        width = max(float(width), 1e-6)
        lo = float(center) - width / 2.0
        out = (pixels.astype(np.float32) - np.float32(lo)) / np.float32(width)
        np.clip(out, 0.0, 1.0, out=out)
        return 1.0 - out if invert else out

    rng = np.random.default_rng(1)
    for dtype in (np.uint8, np.uint16, np.int16, np.float32, np.float64):
        px = (rng.random((97, 103)) * 4000 - (300 if dtype in (np.int16, np.float32) else 0)).astype(dtype)
        for c, w, inv in [(1000, 2000, False), (123.4, 0.0, True), (2000.3, 777.7, True)]:
            a, b = historic(px, c, w, inv), greyscale.apply_window(px, c, w, inv)
            assert a.dtype == b.dtype and np.array_equal(a, b)


def test_model_input_ignores_every_display_tag(tmp_path):
    path = ramp_file(tmp_path, "model", WindowCenter=2000, WindowWidth=401, VOILUTFunction="SIGMOID",
                     PresentationLUTShape="INVERSE",
                     VOILUTSequence=lut_sequence(2048, 1000, 12, gamma_lut(2048, 12)))
    rad = load_radiograph(path)
    assert rad.voi_lut is not None and rad.presentation_inverse and not rad.inverted
    plain = dataclasses.replace(rad, voi_function="LINEAR_EXACT", voi_lut=None, presentation_inverse=False,
                                window_center=None, window_width=None)
    np.testing.assert_array_equal(intensity_unit(rad), intensity_unit(plain))


def test_png_display_is_unchanged(tmp_path):
    from PIL import Image

    png = tmp_path / "ramp.png"
    Image.fromarray(RAMP.astype(np.uint16)).save(png)
    rad = load_radiograph(png)
    assert rad.voi_function == "LINEAR_EXACT" and rad.voi_lut is None and not rad.presentation_inverse
    c, w = greyscale.auto_window(rad.pixels)
    np.testing.assert_array_equal(radiograph_grey(rad), greyscale.to_uint8(greyscale.apply_window(rad.pixels, c, w)))


# ---- ultrasound region spacing -------------------------------------------------------------------
def _region(dx_cm, dy_cm, units=3):
    r = Dataset()
    r.PhysicalUnitsXDirection = units
    r.PhysicalUnitsYDirection = units
    r.PhysicalDeltaX = dx_cm
    r.PhysicalDeltaY = dy_cm
    return r


def test_ultrasound_region_spacing_in_mm(tmp_path):
    rad = load_radiograph(ramp_file(tmp_path, "us", Modality="US",
                                    SequenceOfUltrasoundRegions=Sequence([_region(0.012, 0.015)])))
    assert rad.pixel_spacing_mm == pytest.approx((0.15, 0.12))
    assert any("ultrasound region" in n for n in rad.notes)


def test_ultrasound_regions_that_disagree_use_the_first_with_a_note(tmp_path):
    seq = Sequence([_region(0.01, 0.01, units=4), _region(0.02, 0.02), _region(0.03, 0.03)])
    rad = load_radiograph(ramp_file(tmp_path, "us2", SequenceOfUltrasoundRegions=seq))
    assert rad.pixel_spacing_mm == pytest.approx((0.2, 0.2))  # the non-cm region is skipped
    assert any("different spacings" in n for n in rad.notes)


def test_ultrasound_region_not_in_cm_or_nonsense_gives_no_spacing(tmp_path):
    seq = Sequence([_region(0.01, 0.01, units=4), _region(float("nan"), 0.01), _region(0.0, 0.01)])
    rad = load_radiograph(ramp_file(tmp_path, "us3", SequenceOfUltrasoundRegions=seq))
    assert rad.pixel_spacing_mm is None


def test_pixel_spacing_wins_over_ultrasound_regions(tmp_path):
    rad = load_radiograph(ramp_file(tmp_path, "us4", PixelSpacing=[0.3, 0.3],
                                    SequenceOfUltrasoundRegions=Sequence([_region(0.01, 0.01)])))
    assert rad.pixel_spacing_mm == (0.3, 0.3)


# ---- speed: table rendering of a large integer image ---------------------------------------------
def test_display_uint8_table_path_equals_direct_computation():
    rng = np.random.default_rng(2)
    for px in (rng.integers(0, 4096, (300, 200)).astype(np.uint16),
               rng.integers(-3000, 3000, (300, 200)).astype(np.int16),
               rng.integers(-40000, 20000, (300, 200)).astype(np.int32)):
        for fn in voi.FUNCTIONS:
            direct = greyscale.to_uint8(voi.voi_unit(px, 500, 900, function=fn, invert=True))
            np.testing.assert_array_equal(voi.display_uint8(px, 500, 900, function=fn, invert=True), direct)


def test_report_draws_the_file_as_the_viewer_does(tmp_path):
    """The PDF report's radiograph uses the file's VOI function and LUT and Presentation LUT Shape,
    as the viewer's "From file" preset does (it used the PNG formula and ignored INVERSE)."""
    from ra_desktop.io import load_radiograph
    from ra_desktop.render.compose import radiograph_grey
    from ra_desktop.report.adapt import from_case
    from ra_desktop.report.builder import _images
    from ra_desktop.report.model import ReportOptions

    import numpy as np
    import pydicom
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    ds = pydicom.Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.1"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality, ds.PatientID = "CR", "VOI-1"
    ramp = (np.arange(64 * 64).reshape(64, 64) % 4096).astype(np.uint16)
    ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored, ds.HighBit = 64, 64, 16, 12, 11
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PixelRepresentation = 1, "MONOCHROME2", 0
    ds.WindowCenter, ds.WindowWidth, ds.VOILUTFunction = 2000, 1000, "SIGMOID"
    ds.PresentationLUTShape = "INVERSE"
    ds.PixelData = ramp.tobytes()
    path = tmp_path / "sigmoid.dcm"
    ds.save_as(path, enforce_file_format=True)
    r = load_radiograph(path)
    viewer = radiograph_grey(r)

    class Case:  # the fields the report reads of a CaseResult
        radiograph, probability, threshold, label, ood, heatmaps, regions = r, 0.1, 0.5, "Normal", None, {}, []
        provenance, timings_ms, notes, geometry = {}, {}, (), None

    images, _ = _images(from_case(Case(), None, None, None), ReportOptions())
    shown = np.asarray(images[0].rgb)
    shown = shown[..., 0] if shown.ndim == 3 else shown
    assert np.array_equal(shown, viewer) and "SIGMOID" in images[0].caption
    assert "INVERSE" in images[0].caption

"""The reduced-resolution preview of a JPEG 2000 study (io.preview), without Qt: it looks like the
full image (same photometric handling, same first window), and it never costs a case anything."""
from __future__ import annotations

import logging

import numpy as np
import pydicom
import pytest
from io_fixtures import j2k_dicom, real_dicom, write_dicom

from ra_desktop.errors import ImageLoadError
from ra_desktop.io import load_radiograph, preview
from ra_desktop.io._codestream import j2k_header
from ra_desktop.render.window import WindowLut, opening_window


@pytest.fixture(autouse=True)
def small_previews(monkeypatch):
    monkeypatch.setattr(preview, "MIN_SIDE", 100)  # 512 x 400 test images get a level-2 preview


def _open(path):
    got = []
    full = load_radiograph(path, on_preview=got.append)
    return full, got


def _down(a: np.ndarray, level: int) -> np.ndarray:
    """Mean over 2^level blocks: what a reduced level approximates."""
    f = 2**level
    h, w = a.shape[0] // f, a.shape[1] // f
    return a[: h * f, : w * f].astype(np.float64).reshape(h, f, w, f).mean(axis=(1, 3))


def _display(r) -> np.ndarray:
    c, w, lut = opening_window(r)
    return WindowLut(r.pixels).render(c, w, r.display_inverted, r.voi_function, lut)


def test_choose_level_keeps_a_screen_sized_image_within_the_codestream_levels():
    assert preview.choose_level(2500, 2000, 5, 1000) == 1  # 1250 x 1000
    assert preview.choose_level(1955, 1841, 5, 900) == 1  # a real CR: 977 x 920
    assert preview.choose_level(5000, 4000, 5, 1000) == 2
    assert preview.choose_level(5000, 4000, 1, 1000) == 1  # never beyond the decomposition levels
    assert preview.choose_level(1500, 1200, 5, 1000) == 0  # small: the full decode is quick


@pytest.mark.parametrize("lossy", [False, True])
def test_the_preview_is_the_full_image_downsampled(tmp_path, lossy):
    full, got = _open(j2k_dicom(tmp_path / "a.dcm", lossy=lossy, PixelSpacing=[0.1, 0.2]))
    assert len(got) == 1
    p = got[0]
    assert p.level == 2 and p.full_shape == full.pixels.shape == (512, 400)
    assert p.radiograph.pixels.shape == (128, 100) and p.radiograph.pixels.dtype == full.pixels.dtype
    assert p.radiograph.pixel_spacing_mm == pytest.approx((0.4, 0.8))  # its own, coarser pixels
    err = np.abs(p.radiograph.pixels - _down(full.pixels, 2))
    span = float(full.pixels.max() - full.pixels.min())
    assert err.mean() < 0.01 * span and np.percentile(err, 99) < 0.1 * span
    assert p.radiograph.case_id == full.case_id and p.radiograph.bits_stored == full.bits_stored


def test_monochrome1_and_the_files_window_and_rescale_come_out_as_in_the_full_image(tmp_path):
    path = j2k_dicom(tmp_path / "m1.dcm", photometric="MONOCHROME1", WindowCenter="1800", WindowWidth="2400",
                     RescaleSlope="1", RescaleIntercept="-1024")
    full, got = _open(path)
    r = got[0].radiograph
    assert r.inverted and r.display_inverted and full.display_inverted
    assert r.pixels.dtype == full.pixels.dtype and full.pixels.min() < 0  # modality units, as the loader
    assert opening_window(r)[:2] == opening_window(full)[:2] == (1800.0, 2400.0)
    shown, expected = _display(r).astype(float), _down(_display(full), 2)
    assert np.abs(shown - expected).mean() < 3  # display bytes: inverted like the full image
    assert shown[5, 5] == 255 and shown[60, 50] < 128  # dark background light, the bright bar dark


def test_without_a_file_window_the_first_window_comes_from_the_previews_pixels(tmp_path):
    full, got = _open(j2k_dicom(tmp_path / "nw.dcm"))
    c, w, _ = opening_window(got[0].radiograph)
    c0, w0, _ = opening_window(full)
    assert abs(c - c0) < 0.05 * w0 and abs(w - w0) < 0.1 * w0  # approximate, for the preview only


def test_files_that_are_not_jpeg_2000_or_are_small_get_no_preview(tmp_path, monkeypatch):
    full, got = _open(write_dicom(tmp_path / "u.dcm", np.zeros((600, 500), np.uint16)))
    assert got == [] and full.pixels.shape == (600, 500)
    monkeypatch.setattr(preview, "MIN_SIDE", 1000)
    _, got = _open(j2k_dicom(tmp_path / "small.dcm"))
    assert got == []


def test_a_failing_reduced_decode_never_fails_the_case(tmp_path, monkeypatch, caplog):
    from PIL import Image

    class Panic(BaseException):  # a native plugin's panic is not an Exception
        pass

    def broken(*a, **k):
        raise Panic("decoder panicked")

    monkeypatch.setattr(Image, "open", broken)
    with caplog.at_level(logging.WARNING, logger="ra_desktop.io.preview"):
        full, got = _open(j2k_dicom(tmp_path / "a.dcm"))
    assert got == [] and full.pixels.shape == (512, 400)
    assert "no reduced-resolution preview" in caplog.text


def test_a_broken_callback_never_fails_the_case(tmp_path):
    def on_preview(p):
        raise RuntimeError("the receiver failed")

    assert load_radiograph(j2k_dicom(tmp_path / "a.dcm"), on_preview=on_preview).pixels.shape == (512, 400)


def test_a_broken_codestream_gives_no_preview_and_the_loaders_error(tmp_path):
    path = j2k_dicom(tmp_path / "a.dcm")
    ds = pydicom.dcmread(path)
    frame = bytearray(ds.PixelData)
    start = frame.find(b"\xff\x93")  # start of the tile's data: everything after it is garbage
    n = len(frame) - start - 2
    frame[start + 2:] = (bytes(range(256)) * (n // 256 + 1))[:n]
    ds.PixelData = bytes(frame)
    ds.save_as(path, enforce_file_format=True)
    got = []
    try:
        full = load_radiograph(path, on_preview=got.append)
    except ImageLoadError as exc:
        assert "could not decode pixel data" in exc.reason
    else:
        assert full.pixels.shape == (512, 400)
    assert got == []  # Pillow refuses the garbage (logged); pylibjpeg decodes it, as before this change


def test_odd_codestream_headers_give_no_preview(tmp_path):
    path = j2k_dicom(tmp_path / "a.dcm")
    ds = pydicom.dcmread(path)
    from ra_desktop.io.preview import _frame

    frame = _frame(ds)
    head = j2k_header(frame)
    assert head is not None and (head.width, head.height, head.precision, head.components) == (400, 512, 12, 1)
    assert head.levels >= 2 and not head.signed
    cod = frame.find(b"\xff\x52")
    no_levels = frame[: cod + 9] + b"\x00" + frame[cod + 10 :]
    assert j2k_header(no_levels).levels == 0
    assert preview.reduced_pixels(no_levels, 512, 400, 16, 12) is None  # nothing to reduce
    assert preview.reduced_pixels(frame, 256, 400, 16, 12) is None  # SIZ disagrees with the header
    assert preview.reduced_pixels(frame, 512, 400, 16, 16) is None  # precision disagrees with BitsStored
    assert preview.reduced_pixels(frame, 512, 400, 16, 12)[1] == 2
    assert j2k_header(frame[: cod + 6]) is None and j2k_header(b"\xff\x4f\xff\x51" + b"\xff" * 60) is None
    signed = bytearray(frame)
    signed[42] |= 0x80
    assert preview.reduced_pixels(bytes(signed), 512, 400, 16, 12) is None


def test_a_real_monochrome1_cr_previews_like_its_full_decode(monkeypatch):
    # RG1_J2KR (pydicom-data): 1955 x 1841, 15-bit MONOCHROME1, encoded by others
    monkeypatch.setattr(preview, "MIN_SIDE", 900)
    full, got = _open(real_dicom("RG1_J2KR.dcm"))
    p = got[0]
    assert p.level == 1 and p.radiograph.pixels.shape == (978, 921) and p.radiograph.display_inverted
    err = np.abs(p.radiograph.pixels[:977, :920] - _down(full.pixels, 1))
    assert err.mean() < 0.01 * float(np.ptp(full.pixels))
    shown, expected = _display(p.radiograph)[:977, :920].astype(float), _down(_display(full), 1)
    assert np.abs(shown - expected).mean() < 3


def test_a_header_that_disagrees_with_the_codestreams_sign_gets_no_preview():
    # PixelRepresentation 1 over an unsigned codestream: the full decode reconciles it, the preview
    # would show other values, so there is none
    full, got = _open(real_dicom("J2K_pixelrep_mismatch.dcm"))
    assert got == [] and full.pixels.dtype == np.int16

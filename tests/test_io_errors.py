"""Every bad input raises ImageLoadError naming the file and the reason, never a raw traceback."""
from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from io_fixtures import real_dicom, write_dicom
from PIL import Image
from pydicom.encaps import encapsulate
from pydicom.uid import MPEG2MPML

from ra_desktop.errors import ImageLoadError
from ra_desktop.io import load_radiograph


def _fails(path, *words, **kwargs) -> ImageLoadError:
    with pytest.raises(ImageLoadError) as info:
        load_radiograph(path, **kwargs)
    err = info.value
    assert str(path) in str(err)  # the message names the file
    for word in words:
        assert word in err.reason, err.reason
    return err


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def test_missing_file(tmp_path):
    _fails(tmp_path / "nope.dcm", "not found")


def test_directory(tmp_path):
    _fails(tmp_path, "folder")


def test_empty_file(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    _fails(tmp_path / "empty.png", "empty")


def test_text_file_with_image_suffix(tmp_path):
    (tmp_path / "notes.dcm").write_text("patient,label\nA,RA\n")
    _fails(tmp_path / "notes.dcm", "text")


def test_random_bytes(tmp_path):
    (tmp_path / "noise.bin").write_bytes(np.random.default_rng(0).bytes(4096))
    _fails(tmp_path / "noise.bin", "not a recognised image")


def test_truncated_png(tmp_path):
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64), np.uint8)).save(
        tmp_path / "full.png")
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    _fails(tmp_path / "cut.png", "truncated or corrupt PNG")


def test_truncated_jpeg(tmp_path):
    Image.fromarray(np.random.default_rng(2).integers(0, 255, (64, 64), np.uint8)).save(
        tmp_path / "full.jpg", quality=90)
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
    _fails(tmp_path / "cut.jpg", "JPEG")


def test_corrupt_png_header(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    _fails(tmp_path / "bad.png")


def test_unsupported_raster_format(tmp_path):
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "a.gif")
    _fails(tmp_path / "a.gif", "GIF")


def test_dicom_without_pixel_data_real_file():
    _fails(real_dicom("rtplan.dcm"), "no pixel data", "RTPLAN")


def test_dicom_without_pixel_data_synthetic(tmp_path):
    _fails(write_dicom(tmp_path / "nopix.dcm"), "no pixel data")


def test_truncated_dicom_pixel_data_real_file():
    _fails(real_dicom("MR_truncated.dcm"), "8130 bytes", "needs 8192", "truncated")


def test_transfer_syntax_without_any_decoder(tmp_path):
    path = write_dicom(tmp_path / "video.dcm", np.zeros((4, 4), np.uint16),
                       transfer_syntax=MPEG2MPML, pixel_bytes=encapsulate([b"\x00" * 32]),
                       rows=4, cols=4)
    _fails(path, "MPEG2", "no decoder is installed")


def test_transfer_syntax_whose_plugin_is_missing(tmp_path, monkeypatch):
    from pydicom.pixels.decoders.base import Decoder

    monkeypatch.setattr(Decoder, "is_available", property(lambda self: False))
    _fails(real_dicom("MR_small_jp2klossless.dcm"), "JPEG 2000", "no decoder is installed")


def test_dicom_bomb_refused_before_decoding(tmp_path, monkeypatch):
    import ra_desktop.io._dicom as dicom_mod

    def never(*args, **kwargs):
        raise AssertionError("decoder must not run for an oversized header")

    monkeypatch.setattr(dicom_mod, "pixel_array", never)
    path = write_dicom(tmp_path / "bomb.dcm", None, pixel_bytes=b"\x00" * 64,
                       rows=20000, cols=20000)
    _fails(path, "megapixel limit", "decompression bomb")


def test_png_bomb_header_refused_before_decoding(tmp_path):
    # A valid PNG header claiming 30000 x 30000 with almost no data behind it.
    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)
    data = (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
            + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + _png_chunk(b"IEND", b""))
    (tmp_path / "bomb.png").write_bytes(data)
    # Pillow's own guard or ours, whichever fires first: both refuse before decoding.
    _fails(tmp_path / "bomb.png", "decompression bomb")


def test_pixel_limit_is_configurable(tmp_path):
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(tmp_path / "a.png")
    _fails(tmp_path / "a.png", "20 x 20", max_pixels=100)
    assert load_radiograph(tmp_path / "a.png", max_pixels=400).pixels.shape == (20, 20)


def test_pillow_decompression_bomb_warning_becomes_error(tmp_path, monkeypatch):
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(tmp_path / "a.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 300)  # 400 px: warning zone (< 2x limit)
    _fails(tmp_path / "a.png", "decompression bomb")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # > 2x limit: Pillow raises
    _fails(tmp_path / "a.png", "decompression bomb")


def test_dicom_with_pixel_data_but_no_size(tmp_path):
    path = write_dicom(tmp_path / "nosize.dcm", np.zeros((2, 2), np.uint16))
    import pydicom

    ds = pydicom.dcmread(path)
    del ds.Rows
    ds.save_as(path)
    _fails(path, "Rows/Columns")


def test_truncated_jpeg2000_dicom_real_file():
    _fails(real_dicom("emri_small_jpeg_2k_lossless_too_short.dcm"), "truncated")


@pytest.mark.parametrize("name", ["JPEG-lossy.dcm", "JPEG2000-embedded-sequence-delimiter.dcm",
                                  "badVR.dcm", "meta_missing_tsyntax.dcm"])
def test_awkward_real_files_fail_cleanly(name):
    # Files pydicom keeps for its own edge cases: we either load them or explain, never crash.
    _fails(real_dicom(name))

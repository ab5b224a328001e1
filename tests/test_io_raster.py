"""Raster loading (PNG 8/16, JPEG, BMP, TIFF) with synthetic files written in tmp_path."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from ra_desktop.io import load_radiograph


def _ramp(h=12, w=16, dtype=np.uint8, scale=1):
    return (np.arange(h * w).reshape(h, w) * scale).astype(dtype)


def test_png_8bit(tmp_path):
    px = _ramp()
    Image.fromarray(px).save(tmp_path / "a.png")
    rad = load_radiograph(tmp_path / "a.png")
    assert rad.format == "PNG"
    assert rad.pixels.dtype == np.uint8 and rad.bits_stored == 8
    np.testing.assert_array_equal(rad.pixels, px)
    assert rad.photometric == "MONOCHROME2" and rad.notes == ()
    assert not rad.pixels.flags.writeable


def test_png_16bit_stays_uint16(tmp_path):
    px = _ramp(dtype=np.uint16, scale=300)  # values above 255 must survive
    assert px.max() > 255
    Image.fromarray(px).save(tmp_path / "a.png")
    rad = load_radiograph(tmp_path / "a.png")
    assert rad.pixels.dtype == np.uint16 and rad.bits_stored == 16
    np.testing.assert_array_equal(rad.pixels, px)


def test_32bit_int_tiff_narrowed_to_uint16_only_when_values_fit(tmp_path):
    px = _ramp(dtype=np.int32, scale=200)
    Image.fromarray(px).save(tmp_path / "a.tif")
    assert Image.open(tmp_path / "a.tif").mode == "I"
    rad = load_radiograph(tmp_path / "a.tif")
    assert rad.pixels.dtype == np.uint16
    np.testing.assert_array_equal(rad.pixels, px)
    big = px * 1000
    Image.fromarray(big).save(tmp_path / "b.tif")
    rad = load_radiograph(tmp_path / "b.tif")
    assert rad.pixels.dtype == np.int32
    np.testing.assert_array_equal(rad.pixels, big)


def test_jpeg_bytes_in_png_file_load_as_jpeg(tmp_path):
    px = np.full((16, 16), 128, np.uint8)
    Image.fromarray(px).save(tmp_path / "mislabelled.png", format="JPEG", quality=95)
    rad = load_radiograph(tmp_path / "mislabelled.png")
    assert rad.format == "JPEG"
    assert abs(int(rad.pixels.mean()) - 128) <= 2


def test_bmp_and_tiff(tmp_path):
    px = _ramp()
    Image.fromarray(px).save(tmp_path / "a.bmp")
    Image.fromarray(_ramp(dtype=np.uint16, scale=250)).save(tmp_path / "b.tif")
    bmp = load_radiograph(tmp_path / "a.bmp")
    tif = load_radiograph(tmp_path / "b.tif")
    assert bmp.format == "BMP"
    np.testing.assert_array_equal(bmp.pixels, px)
    assert tif.format == "TIFF" and tif.pixels.dtype == np.uint16
    np.testing.assert_array_equal(tif.pixels, _ramp(dtype=np.uint16, scale=250))


def test_equal_channel_rgb_is_grey_without_note(tmp_path):
    px = _ramp()
    Image.fromarray(np.stack([px] * 3, axis=-1)).save(tmp_path / "rgb.png")
    rad = load_radiograph(tmp_path / "rgb.png")
    np.testing.assert_array_equal(rad.pixels, px)
    assert rad.notes == ()


def test_true_colour_converted_with_601_luma_and_note(tmp_path):
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[..., 0] = 200  # pure-ish red
    rgb[..., 2] = 50
    Image.fromarray(rgb).save(tmp_path / "colour.png")
    rad = load_radiograph(tmp_path / "colour.png")
    expected = round(0.299 * 200 + 0.114 * 50)
    assert rad.pixels.shape == (4, 4)
    assert np.all(rad.pixels == expected)
    assert "colour image converted to grey" in rad.notes


def test_palette_grey_and_colour(tmp_path):
    grey = Image.fromarray(_ramp()).convert("P")  # grey palette: no loss
    grey.save(tmp_path / "p_grey.png")
    rad = load_radiograph(tmp_path / "p_grey.png")
    assert rad.pixels.ndim == 2
    assert "colour image converted to grey" not in rad.notes
    colour = Image.new("P", (4, 4))
    colour.putpalette([255, 0, 0] + [0, 0, 255] * 255)
    colour.save(tmp_path / "p_colour.png")
    rad = load_radiograph(tmp_path / "p_colour.png")
    assert "colour image converted to grey" in rad.notes
    assert np.all(rad.pixels == round(0.299 * 255))


def test_la_mode_drops_alpha(tmp_path):
    px = _ramp()
    la = Image.merge("LA", [Image.fromarray(px), Image.fromarray(np.full_like(px, 7))])
    la.save(tmp_path / "la.png")
    rad = load_radiograph(tmp_path / "la.png")
    np.testing.assert_array_equal(rad.pixels, px)
    assert "alpha channel ignored" in rad.notes


def test_case_id_is_content_hash(tmp_path):
    px = _ramp()
    Image.fromarray(px).save(tmp_path / "a.png")
    (tmp_path / "b.png").write_bytes((tmp_path / "a.png").read_bytes())
    a, b = load_radiograph(tmp_path / "a.png"), load_radiograph(tmp_path / "b.png")
    assert a.case_id == b.case_id
    assert a.case_id.startswith("sha256:") and len(a.case_id) == len("sha256:") + 16
    Image.fromarray(px + 1).save(tmp_path / "c.png")
    assert load_radiograph(tmp_path / "c.png").case_id != a.case_id


def test_multipage_tiff_first_page_with_note(tmp_path):
    pages = [Image.fromarray(np.full((4, 4), v, np.uint8)) for v in (10, 20, 30)]
    pages[0].save(tmp_path / "m.tif", save_all=True, append_images=pages[1:])
    rad = load_radiograph(tmp_path / "m.tif")
    assert np.all(rad.pixels == 10)
    assert "multi-frame (3 frames): first frame shown" in rad.notes


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_one_bit_image(tmp_path, fmt):
    im = Image.fromarray(np.array([[0, 255], [255, 0]], np.uint8)).convert("1")
    buf = io.BytesIO()
    im.save(buf, format=fmt)
    (tmp_path / "bits").write_bytes(buf.getvalue())
    rad = load_radiograph(tmp_path / "bits")
    np.testing.assert_array_equal(rad.pixels > 0, [[False, True], [True, False]])


def test_exif_orientation_noted_not_applied(tmp_path):
    px = _ramp()
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW" - a viewer would turn it; we must not
    Image.fromarray(px).save(tmp_path / "o.jpg", exif=exif, quality=100)
    rad = load_radiograph(tmp_path / "o.jpg")
    assert rad.pixels.shape == px.shape
    assert "EXIF orientation 6 ignored: pixels shown as stored" in rad.notes

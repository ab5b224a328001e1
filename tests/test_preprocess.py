"""Preprocessing: config round trip, intensity convention, shapes, wavelet step, augmentation."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ra_desktop.errors import DataError
from ra_desktop.io.radiograph import Radiograph
from ra_desktop.preprocess import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    PreprocessConfig,
    augment,
    intensity_unit,
    prepare,
    prepare_unit,
    wavelet_denoise,
)


def _radiograph(pixels, photometric="MONOCHROME2"):
    return Radiograph(
        pixels=pixels, source_path=Path("synthetic.dcm"), format="DICOM", case_id="t",
        bits_stored=12, photometric=photometric,
    )


def _unnormalise(x, config=PreprocessConfig()):
    mean = np.asarray(config.mean, dtype=np.float32)[:, None, None]
    std = np.asarray(config.std, dtype=np.float32)[:, None, None]
    return x * std + mean


def test_config_round_trip_and_defaults():
    c = PreprocessConfig()
    assert c.mode == "resize_crop" and c.resize == 256 and c.crop == 224
    assert c.wavelet == "sym8" and c.mean == IMAGENET_MEAN and c.std == IMAGENET_STD
    d = c.to_dict()
    assert isinstance(d["mean"], list)
    assert PreprocessConfig.from_dict(d) == c
    c2 = PreprocessConfig(mode="letterbox", wavelet_threshold="none")
    assert PreprocessConfig.from_dict(c2.to_dict()) == c2


def test_config_rejects_unknown_keys_and_bad_values():
    d = PreprocessConfig().to_dict()
    d["sharpen"] = True
    with pytest.raises(DataError, match="unknown preprocessing keys.*sharpen"):
        PreprocessConfig.from_dict(d)
    with pytest.raises(DataError, match="mode"):
        PreprocessConfig(mode="squash")
    with pytest.raises(DataError, match="wavelet"):
        PreprocessConfig(wavelet="nosuchwavelet")
    with pytest.raises(DataError, match="crop"):
        PreprocessConfig(resize=200, crop=224)


def test_intensity_window_and_monochrome1_inversion():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 4096, size=(120, 100)).astype(np.uint16)
    pixels[10:20, 10:20] = 4095  # "bone": high attenuation values
    m2 = intensity_unit(_radiograph(pixels))
    m1 = intensity_unit(_radiograph(pixels, "MONOCHROME1"))
    assert m2.dtype == np.float32 and m2.shape == pixels.shape
    assert 0.0 <= m2.min() and m2.max() <= 1.0
    assert m2[15, 15] == pytest.approx(1.0)  # bright in MONOCHROME2
    np.testing.assert_allclose(m1, 1.0 - m2, atol=1e-6)
    # Percentile window: about 0.5% of pixels saturate at each end.
    assert 0.002 < np.mean(m2 == 0.0) < 0.01


@pytest.mark.parametrize("mode", ["resize_crop", "letterbox"])
@pytest.mark.parametrize("shape", [(300, 200), (200, 300), (2000, 1600)])
def test_prepare_shapes_and_range(mode, shape):
    rng = np.random.default_rng(1)
    pixels = rng.normal(2000, 300, size=shape).astype(np.float32)
    x, geometry = prepare(_radiograph(pixels), PreprocessConfig(mode=mode))
    assert x.shape == (3, 224, 224) and x.dtype == np.float32
    assert geometry.image_shape == shape and geometry.model_shape == (224, 224)
    unit = _unnormalise(x)
    np.testing.assert_allclose(unit[0], unit[1], atol=1e-5)  # grey replicated
    assert unit.min() >= -1e-5 and unit.max() <= 1 + 1e-5


def test_resize_crop_without_wavelet_matches_a_linear_ramp():
    # A horizontal ramp 0..1 stays linear through resize+crop; the centre crop of a 256 resize
    # keeps columns 16..239, so the model's first column reads image x = (16.5)*W/256 - 0.5.
    W = 512
    ramp = np.tile(np.linspace(0, 1, W, dtype=np.float32), (400, 1))
    cfg = PreprocessConfig(wavelet_threshold="none")
    x, g = prepare_unit(ramp, cfg)
    u = _unnormalise(x, cfg)[0]
    expected_x = g.model_to_image(np.array([[100.0, 50.0]]))[0, 0]
    assert u[50, 100] == pytest.approx(expected_x / (W - 1), abs=1e-4)


def test_letterbox_pads_with_zero_and_centres():
    img = np.full((100, 200), 0.8, dtype=np.float32)  # wide image -> pad top and bottom
    cfg = PreprocessConfig(mode="letterbox", wavelet_threshold="none")
    x, _ = prepare_unit(img, cfg)
    u = _unnormalise(x, cfg)[0]
    assert u[0, 112] == pytest.approx(0.0, abs=1e-5) and u[223, 112] == pytest.approx(0.0, abs=1e-5)
    assert u[112, 0] == pytest.approx(0.8, abs=1e-5) and u[112, 223] == pytest.approx(0.8, abs=1e-5)
    rows = np.where(np.abs(u[:, 112] - 0.8) < 1e-4)[0]
    assert rows.min() == 56 and rows.max() == 167  # 112 rows, centred


def test_wavelet_denoising_reduces_noise_and_none_is_identity():
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[0:224, 0:224]
    clean = (0.5 + 0.3 * np.sin(xx / 20.0) * np.cos(yy / 25.0)).astype(np.float32)
    noisy = clean + rng.normal(0, 0.05, clean.shape).astype(np.float32)
    cfg = PreprocessConfig()
    den = wavelet_denoise(noisy, cfg)
    assert den.shape == noisy.shape and den.dtype == np.float32
    assert np.mean((den - clean) ** 2) < 0.5 * np.mean((noisy - clean) ** 2)
    off = PreprocessConfig(wavelet_threshold="none")
    assert wavelet_denoise(noisy, off) is noisy
    x_on, _ = prepare_unit(noisy, cfg)
    x_off, _ = prepare_unit(noisy, off)
    assert not np.allclose(x_on, x_off)


def test_prepare_rejects_bad_arrays():
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        prepare(np.full((50, 50), 300.0, dtype=np.float32))
    with pytest.raises(DataError, match="2-D"):
        prepare(np.zeros((3, 50, 50), dtype=np.float32))
    with pytest.raises(DataError, match="NaN"):
        prepare(np.full((50, 50), np.nan, dtype=np.float32))
    with pytest.raises(DataError, match="dtype"):
        prepare(np.zeros((50, 50), dtype=np.uint8))


def test_augment_is_deterministic_and_in_range():
    rng = np.random.default_rng(3)
    img = rng.random((64, 80)).astype(np.float32)
    a = augment(img, np.random.default_rng(42), "both")
    b = augment(img, np.random.default_rng(42), "both")
    c = augment(img, np.random.default_rng(43), "both")
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == img.shape and a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1


def test_augment_brightness_factor_range_and_clip():
    img = np.full((10, 10), 0.5, dtype=np.float32)
    factors = [augment(img, np.random.default_rng(s), "brightness")[0, 0] / 0.5 for s in range(200)]
    assert 0.6 <= min(factors) < 0.7 and 1.3 < max(factors) <= 1.4
    bright = augment(np.ones((10, 10), np.float32), np.random.default_rng(0), "brightness")
    assert bright.max() <= 1.0


def test_augment_rotation_fills_corners_with_zero_and_stays_within_45_degrees():
    img = np.ones((101, 101), dtype=np.float32)
    corner_zero = []
    for s in range(50):
        out = augment(img, np.random.default_rng(s), "rotate")
        corner_zero.append(out[0, 0] == 0.0)
        assert out[50, 50] == pytest.approx(1.0)  # centre fixed
        # Inside the inscribed circle nothing is lost at any angle.
        assert out[50, 5] == pytest.approx(1.0, abs=1e-5)
    assert sum(corner_zero) > 40  # almost any non-trivial angle empties the corner
    # A known angle: a bright dot to the right of centre rotated +90 deg lands above it.
    dot = np.zeros((41, 41), np.float32)
    dot[20, 35] = 1.0
    from ra_desktop.preprocess import rotate

    r, c = np.unravel_index(np.argmax(rotate(dot, 90.0)), dot.shape)
    assert (r, c) == (5, 20)


def test_augment_rejects_unknown_kind():
    with pytest.raises(DataError, match="unknown augmentation kind"):
        augment(np.zeros((5, 5), np.float32), np.random.default_rng(0), "flip")


def test_window_jitter_is_deterministic_monotone_and_in_range():
    from ra_desktop.preprocess import window_jitter

    ramp = np.tile(np.linspace(0, 1, 200, dtype=np.float32), (20, 1))
    a = window_jitter(ramp, np.random.default_rng(4))
    assert np.array_equal(a, window_jitter(ramp, np.random.default_rng(4)))
    assert a.dtype == np.float32 and a.min() >= 0.0 and a.max() <= 1.0
    assert np.all(np.diff(a[0]) >= 0)  # a window never reverses contrast
    outs = [window_jitter(ramp, np.random.default_rng(s))[0, 100] for s in range(20)]
    assert np.ptp(outs) > 0.1  # the mid-grey really moves between draws


def test_model_input_window_jitter_off_keeps_the_published_stream():
    from ra_desktop.preprocess import PreprocessConfig
    from ra_desktop.train.cache import model_input

    unit = np.random.default_rng(0).random((300, 240), dtype=np.float32)
    cfg = PreprocessConfig(wavelet_threshold="none")
    a = model_input(unit, cfg, np.random.default_rng(9), 1.0)
    b = model_input(unit, cfg, np.random.default_rng(9), 1.0, window_jitter_p=0.0)
    c = model_input(unit, cfg, np.random.default_rng(9), 1.0, window_jitter_p=1.0)
    assert np.array_equal(a, b) and not np.allclose(a, c)

"""The training cache feeds the network exactly what inference feeds it."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ra_desktop.io import load_radiograph
from ra_desktop.preprocess import PreprocessConfig, prepare
from ra_desktop.train.cache import build_cache, load_unit, model_input
from ra_desktop.io.dataset import Sample


@pytest.fixture
def radiograph_png(tmp_path):
    rng = np.random.default_rng(0)
    img = (rng.random((301, 187)) * 4000).astype(np.uint16)  # 16-bit, not square, odd sizes
    path = tmp_path / "hand.png"
    Image.fromarray(img).save(path)
    return path


@pytest.mark.parametrize("config", [
    PreprocessConfig(),
    PreprocessConfig(mode="letterbox"),
    PreprocessConfig(resize=72, crop=64),
])
def test_cached_input_equals_inference_input(radiograph_png, config):
    expected, _ = prepare(load_radiograph(radiograph_png), config)
    unit = load_unit(radiograph_png, config)
    assert max(unit.shape) <= max(config.resize, config.crop)  # it really is downsampled
    got = model_input(unit, config)
    assert got.shape == expected.shape == config.input_shape
    np.testing.assert_array_equal(got, expected)


def test_augmented_input_is_seeded_and_differs(radiograph_png):
    config = PreprocessConfig(resize=72, crop=64)
    unit = load_unit(radiograph_png, config)
    a = model_input(unit, config, np.random.default_rng([1, 2, 3]))
    b = model_input(unit, config, np.random.default_rng([1, 2, 3]))
    c = model_input(unit, config, np.random.default_rng([1, 2, 4]))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(a, model_input(unit, config))


def test_unreadable_files_are_skipped_and_listed(tmp_path, radiograph_png):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    cache = build_cache([Sample(radiograph_png, 1), Sample(bad, 0), Sample(tmp_path / "nope.png", 0)],
                        PreprocessConfig(resize=72, crop=64))
    assert [s.path for s in cache.samples] == [radiograph_png]
    assert [p for p, _ in cache.skipped] == [bad, tmp_path / "nope.png"]
    assert all(reason for _, reason in cache.skipped)

"""The GUI-thread overlay renderers equal their straightforward formulas, byte for byte."""
from __future__ import annotations

import numpy as np
import pytest

from ra_desktop.render import colormaps, overlay


def _colorize_reference(heatmap, cmap, vmin, vmax, opacity):
    valid = np.isfinite(heatmap)
    scaled = (np.where(valid, heatmap, vmin) - vmin) / max(vmax - vmin, 1e-12)
    idx = np.clip(scaled * 255.0 + 0.5, 0, 255).astype(np.uint8)
    rgba = np.empty(heatmap.shape + (4,), dtype=np.uint8)
    rgba[..., :3] = colormaps.lut(cmap)[idx]
    rgba[..., 3] = np.where(valid, np.uint8(round(255 * float(np.clip(opacity, 0.0, 1.0)))), np.uint8(0))
    return rgba


@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (301, 203)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_colorize_matches_reference(shape, dtype):
    m = (np.random.default_rng(0).standard_normal(shape) * 3).astype(dtype)
    m.flat[::7] = np.nan
    if m.size > 3:
        m.flat[1], m.flat[2] = np.inf, -np.inf
    for vmin, vmax, opacity in ((-1.0, 2.0, 1.0), (0.0, 0.5, 0.4), (-3.0, 3.0, 0.0)):
        expected = _colorize_reference(m, "jet", vmin, vmax, opacity)
        np.testing.assert_array_equal(overlay.colorize(m, "jet", vmin, vmax, opacity=opacity), expected)


@pytest.mark.parametrize("shape", [(1, 1), (30, 50), (257, 131)])
def test_unseen_hatch_matches_reference(shape):
    seen = np.random.default_rng(1).random(shape) > 0.3
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    hatch = ((xx + yy) // 12) % 2 == 0
    expected = np.zeros((h, w, 4), np.uint8)
    expected[..., :3] = (255, 200, 0)
    expected[..., 3] = np.where(~seen & hatch, 70, 0)
    np.testing.assert_array_equal(overlay.unseen_mask_rgba(seen), expected)


def test_a_map_coloured_ahead_is_found_only_for_that_very_array():
    import gc

    from ra_desktop.render import overlay

    rng = np.random.default_rng(1)
    values = rng.random((60, 50)).astype(np.float32)
    values[:5] = np.nan
    overlay.colour_ahead(values, "jet", signed=False)
    got = overlay.ahead(values)
    assert got is not None and (got.vmin, got.vmax) == overlay.value_range(values, False)
    assert np.array_equal(got.rgba, overlay.colorize(values, "jet", opacity=1.0))
    assert overlay.ahead(values.copy()) is None  # equal values, another array
    key = id(values)
    del values, got  # the next array may take the freed id: the weak reference tells them apart
    gc.collect()
    reused = np.zeros((60, 50), np.float32)
    assert overlay.ahead(reused) is None, (id(reused) == key)
    assert key not in overlay._AHEAD  # dropped with its map: the 20 MB colour image is not kept
    for _ in range(20):  # only the last few are kept
        overlay.colour_ahead(np.ones((4, 4), np.float32), "jet", signed=False)
    assert len(overlay._AHEAD) <= overlay._AHEAD_MAX


def test_a_first_display_rendered_ahead_is_found_only_for_those_pixels_and_that_window():
    import gc
    from types import SimpleNamespace

    from ra_desktop.render import voi, window

    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 4096, (80, 60)).astype(np.uint16)
    r = SimpleNamespace(pixels=pixels, voi_lut=None, window_center=2000.0, window_width=1500.0, inverted=False,
                        display_inverted=False, voi_function=voi.LINEAR_EXACT)
    window.render_ahead(r)
    got = window.display_ahead(pixels, 2000.0, 1500.0, False, voi.LINEAR_EXACT, None)
    assert got is not None and np.array_equal(got, window.WindowLut(pixels).render(2000.0, 1500.0, False))
    assert window.display_ahead(pixels, 2000.0, 1400.0, False, voi.LINEAR_EXACT, None) is None  # other window
    assert window.display_ahead(pixels, 2000.0, 1500.0, True, voi.LINEAR_EXACT, None) is None  # inverted
    assert window.display_ahead(pixels.copy(), 2000.0, 1500.0, False, voi.LINEAR_EXACT, None) is None
    key = id(pixels)
    del pixels, r, got
    gc.collect()
    assert key not in window._AHEAD  # gone with its pixels

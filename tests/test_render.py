import numpy as np
import pytest

from ra_desktop import render


def test_window_then_invert_order():
    px = np.array([[0, 100, 200]], dtype=np.uint16)
    normal = render.apply_window(px, center=100, width=200)
    inverted = render.apply_window(px, center=100, width=200, invert=True)
    np.testing.assert_allclose(normal, [[0.0, 0.5, 1.0]])
    np.testing.assert_allclose(inverted, 1.0 - normal)


def test_colorize_constant_alpha_and_transparent_outside():
    heat = np.array([[0.0, 0.5, 1.0, np.nan]], dtype=np.float32)
    rgba = render.colorize(heat, "jet", opacity=0.4)
    assert list(rgba[0, :3, 3]) == [102, 102, 102]  # one opacity, not value-driven
    assert rgba[0, 3, 3] == 0
    assert tuple(rgba[0, 2, :3]) == tuple(render.lut("jet")[255])


def test_signed_range_is_symmetric():
    lo, hi = render.value_range(np.array([-0.2, 0.8]), signed=True)
    assert lo == -hi == -0.8


def test_unknown_colormap_is_clear_error():
    with pytest.raises(ValueError, match="unknown colour map"):
        render.lut("nope")

"""Geometry: model <-> image mapping, heat-map resampling and the seen mask, exactly."""
from __future__ import annotations

import numpy as np
import pytest

from ra_desktop.errors import DataError
from ra_desktop.preprocess import Geometry, PreprocessConfig, geometry_for, prepare_unit

SHAPES = [(300, 200), (200, 300), (224, 224), (2000, 1600)]
MODES = ["resize_crop", "letterbox"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", SHAPES)
def test_point_round_trip(mode, shape):
    g = geometry_for(shape, PreprocessConfig(mode=mode))
    pts = np.random.default_rng(0).uniform(-5, 230, size=(100, 2))
    np.testing.assert_allclose(g.image_to_model(g.model_to_image(pts)), pts, atol=1e-6)
    img_pts = np.random.default_rng(1).uniform(0, min(shape), size=(100, 2))
    np.testing.assert_allclose(g.model_to_image(g.image_to_model(img_pts)), img_pts, atol=1e-6)


def test_resize_crop_values_for_a_non_square_image():
    g = geometry_for((300, 200), PreprocessConfig())
    # Columns: 200 -> 256 (scale 200/256), crop starts at 16.
    assert g.scale_x == pytest.approx(200 / 256) and g.scale_y == pytest.approx(300 / 256)
    np.testing.assert_allclose(g.model_to_image([0, 0]), [16.5 * 200 / 256 - 0.5, 16.5 * 300 / 256 - 0.5])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", SHAPES)
def test_geometry_matches_the_pixels(mode, shape):
    # Preprocess a smooth image whose value encodes its own coordinates; each model pixel must
    # read the value at its mapped image location.
    H, W = shape
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    fx = xx / (W - 1)
    cfg = PreprocessConfig(mode=mode, wavelet_threshold="none", mean=(0, 0, 0), std=(1, 1, 1))
    x, g = prepare_unit(fx, cfg)
    rows, cols = np.mgrid[60:160:10, 60:160:10]
    pts = np.stack([cols.ravel(), rows.ravel()], axis=1).astype(float)
    img = g.model_to_image(pts)
    inside = (img[:, 0] > 2) & (img[:, 0] < W - 3)
    got = x[0][rows.ravel(), cols.ravel()][inside]
    # In pixels: within 0.1 px (PIL truncates its antialiasing kernel at whole pixels, which
    # shifts a ramp by a few hundredths of a pixel; a half-pixel convention slip would be 0.5).
    np.testing.assert_allclose(got * (W - 1), img[inside, 0], atol=0.1)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", [(300, 200), (200, 300)])
def test_one_pixel_bump_lands_at_the_mapped_location(mode, shape):
    g = geometry_for(shape, PreprocessConfig(mode=mode))
    r, c = 100, 130
    bump = np.zeros((224, 224), np.float32)
    bump[r, c] = 1.0
    m = g.map_to_image(bump)
    assert m.shape == shape and m.dtype == np.float32
    iy, ix = np.unravel_index(np.nanargmax(m), m.shape)
    ex, ey = g.model_to_image([c, r])
    assert abs(ix - ex) <= 0.5 + 1e-9 and abs(iy - ey) <= 0.5 + 1e-9
    # Bilinear: the mapped value at an exact model pixel centre is the bump itself.
    if float(ex).is_integer() and float(ey).is_integer():
        assert m[int(ey), int(ex)] == pytest.approx(1.0)


def test_map_to_image_is_exact_bilinear_for_a_linear_map():
    g = geometry_for((300, 200), PreprocessConfig())
    mm = np.add.outer(np.arange(224) * 2.0, np.arange(224) * 3.0).astype(np.float32)  # 2y + 3x
    m = g.map_to_image(mm)
    seen = g.seen_mask()
    ys, xs = np.nonzero(seen)
    model = g.image_to_model(np.stack([xs, ys], axis=1).astype(float))
    model = np.clip(model, 0, 223)  # the half-pixel rim clamps to the edge
    np.testing.assert_allclose(m[ys, xs], 2 * model[:, 1] + 3 * model[:, 0], rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("shape", [(300, 200), (200, 300), (2000, 1600)])
def test_seen_mask_excludes_exactly_the_cropped_borders(shape):
    H, W = shape
    g = geometry_for(shape, PreprocessConfig())
    seen = g.seen_mask()
    assert seen.shape == shape
    # Expected from the crop: resized coordinate of pixel centre i is (i + 0.5) * 256 / n - 0.5;
    # it was kept when it falls in [16 - 0.5, 240 - 0.5).
    def kept(n):
        u = (np.arange(n) + 0.5) * 256 / n - 0.5
        return (u >= 15.5) & (u < 239.5)

    np.testing.assert_array_equal(seen, kept(H)[:, None] & kept(W)[None, :])
    m = g.map_to_image(np.ones((224, 224), np.float32))
    np.testing.assert_array_equal(np.isnan(m), ~seen)
    # About 1/16 of each side is cut away (16 of 256 pixels).
    assert abs((~kept(W)[: W // 2]).sum() - W * 16 / 256) <= 1
    # The viewer hatches outside seen_box: exactly the mask's pixels, as a box.
    x0, y0, x1, y1 = g.seen_box()
    box = np.zeros(shape, bool)
    box[y0:y1, x0:x1] = True
    np.testing.assert_array_equal(box, seen)


@pytest.mark.parametrize("shape", [(300, 200), (200, 300)])
def test_letterbox_sees_the_whole_image(shape):
    g = geometry_for(shape, PreprocessConfig(mode="letterbox"))
    assert g.seen_mask().all() and g.seen_box() == (0, 0, shape[1], shape[0])
    assert not np.isnan(g.map_to_image(np.ones((224, 224), np.float32))).any()


def test_geometry_dict_round_trip_and_errors():
    g = geometry_for((300, 200), PreprocessConfig())
    assert Geometry.from_dict(g.to_dict()) == g
    with pytest.raises(DataError):
        Geometry.from_dict({**g.to_dict(), "rotation": 0})
    with pytest.raises(DataError, match="shape"):
        g.map_to_image(np.zeros((100, 100)))

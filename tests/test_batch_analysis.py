"""Batched analysis ("Analyse all") equals one-case analysis; failures stay per file; cancel works."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ra_desktop.explain as explain
from ra_desktop.cancel import CancelToken
from ra_desktop.errors import Cancelled, ImageLoadError
from ra_desktop.model import load_model
from ra_desktop.pipeline import analyse, analyse_group, analyse_many, analyse_prepared, prepare_case
from tests.tiny_model import make_tiny_model_folder


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return load_model(make_tiny_model_folder(tmp_path_factory.mktemp("m")), "cpu")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("imgs")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:300, 0:220]
    out = []
    for i in range(5):
        cx, cy = 60 + 25 * i, 90 + 20 * i
        img = 15000 + 25000 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (1500.0 + 400 * i))
        path = folder / f"case{i}.png"
        Image.fromarray(np.clip(img + rng.normal(0, 600, img.shape), 0, 65535).astype(np.uint16)).save(path)
        out.append(path)
    return out


def _final(gen):
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value


def test_batched_equals_single(model, files):
    single = [_final(analyse(f, model, explanations=("gradcam",))) for f in files]
    batched = list(analyse_many(files, model, explanations=("gradcam",), batch_size=3))
    assert [i for i, _ in batched] == list(range(len(files)))
    for s, (_, b) in zip(single, batched):
        assert b.probability == pytest.approx(s.probability, abs=1e-5)
        assert b.label == s.label
        a, c = s.heatmaps["gradcam"].values, b.heatmaps["gradcam"].values
        assert a.shape == c.shape and np.array_equal(np.isnan(a), np.isnan(c))
        np.testing.assert_allclose(c[np.isfinite(c)], a[np.isfinite(a)], atol=1e-4)
        assert [r.name for r in b.regions] == [r.name for r in s.regions]


def test_batched_gradcam_equals_grad_cam(model, files):
    cases = [prepare_case(f, model) for f in files[:3]]
    pred = explain.predict_batch(model, np.stack([c.x for c in cases]))
    for c, cam in zip(cases, pred.gradcam):
        np.testing.assert_allclose(cam, explain.grad_cam(model, c.x), atol=1e-4)
        assert float(model.predict_proba(c.x)[0]) == pytest.approx(
            float(pred.probabilities[list(cases).index(c)]), abs=1e-5)


def test_open_case_reuses_the_prediction_pass(model, files):
    # the prediction stage's pass leaves the Grad-CAM map for the Grad-CAM stage: same map as fresh
    result = _final(analyse(files[0], model, explanations=("gradcam",)))
    fresh = explain.grad_cam(model, result.model_input)
    expected = result.geometry.map_to_image(fresh)
    np.testing.assert_allclose(result.heatmaps["gradcam"].values, expected, atol=1e-5, equal_nan=True)


def test_a_broken_file_fails_only_its_entry(model, files, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not an image")
    out = list(analyse_many([files[0], bad, files[1]], model, explanations=("gradcam",), batch_size=8))
    assert [i for i, _ in out] == [0, 1, 2]
    assert isinstance(out[1][1], ImageLoadError) and out[1][1].path == bad
    assert out[0][1].heatmaps and out[2][1].heatmaps


def test_cancel_stops_the_batch(model, files):
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        list(analyse_many(files, model, cancel=token))
    with pytest.raises(Cancelled):
        list(analyse_prepared([prepare_case(files[0], model)], model, cancel=token))


def test_a_failed_batched_pass_goes_on_one_by_one(model, files, monkeypatch):
    # the fallback both analyse_many and the GUI's lane run: same results, each case on its own token
    cases = [prepare_case(f, model) for f in files[:3]]
    single = [next(analyse_prepared([c], model)) for c in cases]
    real = explain.predict_batch

    def one_at_a_time(model, xs, **kw):
        if len(xs) > 1:
            raise RuntimeError("out of memory")
        return real(model, xs, **kw)

    monkeypatch.setattr(explain, "predict_batch", one_at_a_time)
    out = list(analyse_group([cases[0], ImageLoadError(files[3], "bad"), cases[1], cases[2]], model))
    assert [k for k, _ in out] == [0, 1, 2, 3] and isinstance(out[1][1], ImageLoadError)
    for s, (_, b) in zip(single, [out[0], out[2], out[3]]):
        assert b.probability == s.probability
        np.testing.assert_array_equal(b.heatmaps["gradcam"].values, s.heatmaps["gradcam"].values)
    gone = CancelToken()
    gone.cancel()
    tokens = [CancelToken(), gone, CancelToken()]
    out = list(analyse_group(cases, model, case_cancel=tokens))
    assert isinstance(out[1][1], Cancelled) and out[0][1].probability == single[0].probability
    with pytest.raises(Cancelled):
        list(analyse_group(cases, model, cancel=gone))


@pytest.mark.parametrize("shape", [(7, 5), (301, 203), (1200, 900)])
def test_region_scores_match_full_size_masks(shape):
    # region_scores sums inside bounding boxes / grid blocks: same pixels as region_masks
    import json

    from ra_desktop.explain.regions import region_masks, region_scores

    gt = json.loads(next((Path(__file__).resolve().parent.parent / "resources/demo/ground_truth").glob("*.json")).read_text())
    m = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    m[: shape[0] // 7] = np.nan
    m[-1, -1] = np.inf  # excluded like NaN
    for truth in (None, gt):
        pos = np.where(np.isfinite(m) & (m > 0), m.astype(np.float64), 0.0)
        expected = {n: pos[mask].sum() / pos.sum() for n, mask in region_masks(truth, shape).items()}
        got = {s.name: s.score for s in region_scores(m, truth)}
        assert set(got) == set(expected)
        for name, value in expected.items():
            assert got[name] == pytest.approx(value, abs=1e-12)


@pytest.mark.parametrize("shape", [(3, 2), (7, 5), (301, 203), (2500, 2000)])
def test_grid_sums_are_the_row_reduceat_sums_bit_for_bit(shape):
    # the faster band sums must not move a single stored region score (reports, CSVs, the cache)
    from ra_desktop.explain.regions import GRID, _region_sums

    pos = np.abs(np.random.default_rng(2).standard_normal(shape)).astype(np.float32)
    rows, cols = (np.arange(shape[0]) * GRID) // shape[0], (np.arange(shape[1]) * GRID) // shape[1]
    r_ok = [r for r in range(GRID) if (rows == r).any()]
    c_ok = [c for c in range(GRID) if (cols == c).any()]
    r_start, c_start = np.searchsorted(rows, np.arange(GRID)), np.searchsorted(cols, np.arange(GRID))
    old = np.add.reduceat(np.add.reduceat(pos, r_start[r_ok], axis=0, dtype=np.float64), c_start[c_ok], axis=1)
    got = _region_sums(pos, None)
    for i, r in enumerate(r_ok):
        for j, c in enumerate(c_ok):
            assert got[f"row {r + 1}, col {c + 1}"] == float(old[i, j])

"""Pipeline: prediction stage first, explanation stages optional, timings, provenance, cancel."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ra_desktop.explain as explain
from ra_desktop.cancel import CancelToken
from ra_desktop.errors import Cancelled, DataError, ImageLoadError
from ra_desktop.model import load_model
from ra_desktop.pipeline import analyse, predict_file
from ra_desktop.preprocess import prepare
from ra_desktop.results import STAGE_FAILED, CaseResult, Heatmap, RegionScore
from tests.tiny_model import make_tiny_model_folder


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return load_model(make_tiny_model_folder(tmp_path_factory.mktemp("m")), "cpu")


@pytest.fixture
def image_file(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:300, 0:200]
    img = 20000 + 20000 * np.exp(-((xx - 100) ** 2 + (yy - 150) ** 2) / 3000.0) + rng.normal(0, 500, (300, 200))
    path = tmp_path / "hand.png"
    Image.fromarray(np.clip(img, 0, 65535).astype(np.uint16)).save(path)
    return path


def _run(gen):
    stages = []
    while True:
        try:
            stages.append(next(gen))
        except StopIteration as stop:
            return stages, stop.value


def test_predict_file(model, image_file):
    result = predict_file(image_file, model)
    assert isinstance(result, CaseResult)
    assert result.radiograph.source_path == image_file and result.geometry.image_shape == (300, 200)
    assert 0.0 < result.probability < 1.0
    assert result.label == model.label_for(result.probability) and result.threshold == 0.5
    assert set(result.timings_ms) >= {"load", "preprocess", "inference"}
    assert all(v >= 0 for v in result.timings_ms.values())
    prov = result.provenance
    assert prov["model_name"] == "tiny-test-model" and prov["model_sha256"] == model.manifest.weights_sha256
    assert prov["device"] == "cpu" and prov["preprocessing"]["wavelet"] == "sym8"
    # Same answer as preprocessing + predicting by hand.
    x, _ = prepare(result.radiograph, model.preprocess_config)
    assert result.probability == pytest.approx(float(model.predict_proba(x)[0]), abs=1e-9)
    np.testing.assert_array_equal(result.model_input, x)
    assert result.heatmaps == {} and result.notes == ()


def test_analyse_with_explain_case(model, image_file, monkeypatch):
    calls = []

    def fake_explain_case(m, x, geometry, method, cancel=None, ground_truth=None, values=None):
        calls.append(method)
        assert m is model and x.shape == (3, 224, 224)
        if method == "shap":
            raise DataError("shap exploded politely")
        values = geometry.map_to_image(np.ones((224, 224), np.float32))
        return Heatmap(values, signed=False, kind=method), [RegionScore("MCP2", 0.7)]

    monkeypatch.setattr(explain, "explain_case", fake_explain_case)
    stages, final = _run(analyse(image_file, model))
    assert calls == ["gradcam", "shap"]
    assert stages[0].result.heatmaps == {}  # the prediction stage comes before any map
    assert set(stages[1].result.heatmaps) == {"gradcam"}
    assert stages[2].status == STAGE_FAILED and "exploded" in stages[2].message
    assert final.heatmaps["gradcam"].values.shape == (300, 200)
    assert final.regions == [RegionScore("MCP2", 0.7)]
    assert "gradcam" in final.timings_ms and "shap" in final.timings_ms


def test_cancel_between_stages(model, image_file):
    token = CancelToken()
    gen = analyse(image_file, model, cancel=token)
    first = next(gen)
    assert first.stage == "prediction"
    token.cancel()
    with pytest.raises(Cancelled):
        next(gen)
    token2 = CancelToken()
    token2.cancel()
    with pytest.raises(Cancelled):
        predict_file(image_file, model, cancel=token2)


def test_analyse_accepts_a_radiograph_and_reports_bad_files(model, image_file, tmp_path):
    from ra_desktop.io import load_radiograph

    rg = load_radiograph(image_file)
    result = predict_file(rg, model)
    assert result.radiograph is rg and result.timings_ms["load"] == 0.0
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png at all")
    with pytest.raises(ImageLoadError) as info:
        predict_file(bad, model)
    assert info.value.path == bad

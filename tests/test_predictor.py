"""model/predictor.py: the one softmax that gives P(RA), and every path to it agrees bit for bit."""
from __future__ import annotations

import numpy as np
import torch

from tiny_model import make_tiny_model_folder

from ra_desktop import explain
from ra_desktop.explain.ood import layer_features, ood_layers
from ra_desktop.model import load_model
from ra_desktop.model.predictor import p_ra, pooled_features, predict_proba, predict_with_features


def test_p_ra_is_the_float64_softmax_of_the_positive_class():
    logits = torch.randn(5, 2, generator=torch.Generator().manual_seed(0))
    want = torch.softmax(logits.double(), dim=1)[:, 1].numpy()
    got = p_ra(logits, 1)
    assert got.dtype == np.float64 and np.array_equal(got, want)
    assert np.allclose(p_ra(logits, 0), 1 - want)


def test_every_prediction_path_gives_the_same_bits(tmp_path):
    model = load_model(make_tiny_model_folder(tmp_path / "m"), "cpu")
    xs = np.random.default_rng(1).normal(size=(3, 3, 64, 64)).astype(np.float32)
    logits = torch.from_numpy(model.logits(xs))
    plain = predict_proba(model, xs)
    assert np.array_equal(plain, model.predict_proba(xs))
    assert np.array_equal(plain, p_ra(logits, model.manifest.positive_index))
    names = ood_layers(model)
    feats, probs = predict_with_features(model, xs, names)
    assert np.array_equal(probs, plain)
    assert [f.dtype for f in feats] == [np.float64] * len(names) and all(f.shape[0] == 3 for f in feats)
    same_feats, same_probs = layer_features(model, xs)
    assert np.array_equal(same_probs, probs) and all(np.array_equal(a, b) for a, b in zip(feats, same_feats))
    batch = explain.predict_batch(model, xs, gradcam=False)
    assert np.allclose(batch.probabilities, plain, rtol=0, atol=1e-6)  # channels-last convolutions


def test_pooled_features_average_maps_and_flatten_vectors():
    captured = {"map": torch.ones(2, 4, 3, 3), "vec": torch.arange(6.0).reshape(2, 3)}
    a, b = pooled_features(captured, ["map", "vec"])
    assert a.shape == (2, 4) and np.all(a == 1) and b.tolist() == [[0, 1, 2], [3, 4, 5]]

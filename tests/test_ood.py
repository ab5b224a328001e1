"""The OOD warning: Mahalanobis statistics fitted on phantoms flag chests, feet, photos, blanks, noise."""
from __future__ import annotations

import json
import math

import numpy as np
import torch
import pytest

from tiny_model import make_tiny_model_folder

from ra_desktop.explain.ood import OOD_FILE, mahalanobis, ood_check, ood_score
from ra_desktop.model import load_model
from ra_desktop.phantom import case_rng, generate_case
from ra_desktop.preprocess import prepare
from ra_desktop.train.ood_fit import fit_ood, ledoit_wolf

H, W = 320, 256
_yy, _xx = np.mgrid[:H, :W] / np.array([H, W], dtype=float)[:, None, None]


def chest() -> np.ndarray:
    """Two dark lung fields, a bright mediastinum and curved ribs."""
    img = np.full((H, W), 0.75)
    for cx in (0.3, 0.7):
        img[((_xx - cx) / 0.17) ** 2 + ((_yy - 0.5) / 0.32) ** 2 < 1] = 0.2
    img[np.abs(_xx - 0.5) < 0.07] = 0.9
    for k in range(8):
        img[np.abs(_yy - 0.25 - k * 0.07 - 0.03 * np.cos((_xx - 0.5) * 6)) < 0.008] += 0.2
    return np.clip(img, 0, 1)


def foot() -> np.ndarray:
    """An oval sole, five round toes and a bright heel."""
    img = np.full((H, W), 0.05)
    img[((_xx - 0.5) / 0.22) ** 2 + ((_yy - 0.55) / 0.42) ** 2 < 1] = 0.35
    for k in range(5):
        img[((_xx - 0.33 - k * 0.085) / 0.035) ** 2 + ((_yy - 0.12) / 0.08) ** 2 < 1] = 0.5
    img[((_xx - 0.5) / 0.12) ** 2 + ((_yy - 0.85) / 0.1) ** 2 < 1] = 0.85
    return img


def photo(rng: np.random.Generator) -> np.ndarray:
    """Grey version of a colour photograph: 1/f (natural-scene) spectrum per channel, luma-mixed."""
    f = np.hypot(np.fft.fftfreq(H)[:, None], np.fft.fftfreq(W)[None, :])
    chans = []
    for _ in range(3):
        spec = (rng.standard_normal((H, W)) + 1j * rng.standard_normal((H, W))) / np.maximum(f, 1 / max(H, W))
        c = np.real(np.fft.ifft2(spec))
        chans.append((c - c.min()) / np.ptp(c))
    return 0.299 * chans[0] + 0.587 * chans[1] + 0.114 * chans[2]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    model_dir = make_tiny_model_folder(tmp_path_factory.mktemp("ood"), name="m")
    model = load_model(model_dir, "cpu")
    cfg = model.preprocess_config

    def phantom(i: int) -> np.ndarray:
        c = generate_case(case_rng(7, i), "RA" if i % 2 else "Normal", 1 + i % 3, side="RL"[i % 2], size=H)
        return prepare(c.image.astype(np.float32) / 4095.0, cfg)[0]

    section = fit_ood(model, (phantom(i) for i in range(36)), (phantom(i) for i in range(36, 48)), model_dir)
    held_out = [phantom(i) for i in range(500, 510)]
    return model_dir, section, held_out


def test_fit_writes_verified_stats_into_the_manifest(fitted):
    model_dir, section, _ = fitted
    manifest = json.loads((model_dir / "manifest.json").read_text())
    assert manifest["ood"] == section and (model_dir / OOD_FILE).is_file()
    assert section["n_train"] == 36 and section["n_val"] == 12 and section["threshold"] > 0
    assert load_model(model_dir, "cpu").manifest.ood == section  # still a valid model folder


def test_foreign_images_are_flagged_and_phantoms_are_not(fitted):
    model_dir, _, held_out = fitted
    model = load_model(model_dir, "cpu")
    cfg = model.preprocess_config
    rng = np.random.default_rng(0)
    foreign = {"chest": chest(), "foot": foot(), "photo": photo(rng), "blank": np.full((H, W), 0.5),
               "noise": rng.random((H, W))}
    for name, img in foreign.items():
        res = ood_score(model, prepare(img.astype(np.float32), cfg)[0])
        assert not res.in_distribution, f"{name} not flagged: {res}"
    inside = [ood_score(model, x) for x in held_out]
    assert sum(r.in_distribution for r in inside) >= 8, inside
    assert all(r.distance <= r.threshold for r in inside if r.in_distribution)
    assert math.isinf(ood_score(model, prepare(np.zeros((H, W), np.float32), cfg)[0]).distance)


def test_missing_or_damaged_stats_mean_not_available(fitted, tmp_path):
    _, _, held_out = fitted
    plain = load_model(make_tiny_model_folder(tmp_path, name="plain"), "cpu")
    assert ood_check(plain, held_out[0]) is None  # no ood section: the UI says "not available"
    model_dir, _, _ = fitted
    damaged = tmp_path / "damaged"
    import shutil

    shutil.copytree(model_dir, damaged)
    (damaged / OOD_FILE).write_bytes(b"not the stats")
    assert ood_check(load_model(damaged, "cpu"), held_out[0]) is None


def test_ledoit_wolf_shrinks_a_singular_covariance():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((10, 50))  # fewer samples than dimensions
    mean, cov, shrink = ledoit_wolf(X)
    assert 0 < shrink <= 1 and np.linalg.cond(cov) < 1e6
    d = mahalanobis(X[:2], mean, np.linalg.inv(cov))
    assert d.shape == (2,) and np.all(d > 0)
    big = rng.standard_normal((5000, 3)) * [1.0, 2.0, 3.0]
    _, cov_big, shrink_big = ledoit_wolf(big)
    assert shrink_big < 0.05 and np.allclose(np.diag(cov_big), [1, 4, 9], rtol=0.1)


def test_class_conditional_distance_flags_the_gap_between_classes():
    # Two tight, well-separated classes: a point midway is close to the pooled mean (one Gaussian
    # would accept it) but far from both class means, which is what the detector uses.
    from ra_desktop.train.ood_fit import class_means, ledoit_wolf

    rng = np.random.default_rng(0)
    a = rng.normal(0.0, 0.1, (200, 8)) + np.r_[5.0, np.zeros(7)]
    b = rng.normal(0.0, 0.1, (200, 8)) - np.r_[5.0, np.zeros(7)]
    feats, cls = np.vstack([a, b]), np.r_[np.zeros(200, int), np.ones(200, int)]
    means = class_means(feats, cls)
    _, cov, _ = ledoit_wolf(feats - means[cls])
    precision = np.linalg.inv(cov)
    inside = mahalanobis(feats[:5], means, precision)
    midway = mahalanobis(np.zeros((1, 8)), means, precision)
    assert means.shape == (2, 8)
    assert midway[0] > 10 * inside.max()
    pooled_mean, pooled_cov, _ = ledoit_wolf(feats)
    assert mahalanobis(np.zeros((1, 8)), pooled_mean, np.linalg.inv(pooled_cov))[0] < inside.max() + 1


def test_multilayer_section_and_no_hooks_left(fitted):
    model_dir, section, held_out = fitted
    assert section["layers"] == ["features.block3", "features.block4", "classifier.relu2"]
    assert len(section["layer_thresholds"]) == 3 and all(t > 0 for t in section["layer_thresholds"])
    model = load_model(model_dir, "cpu")
    before = model.module.state_dict()
    ood_score(model, held_out[0])
    assert all(not m._forward_hooks for m in model.module.modules())
    after = model.module.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before) and not model.module.training


def test_prediction_and_ood_share_one_forward_pass(fitted):
    from ra_desktop.explain import predict_with_ood

    model_dir, _, held_out = fitted
    model = load_model(model_dir, "cpu")
    expected = float(model.predict_proba(held_out[0])[0])
    calls = []
    handle = model.module.register_forward_pre_hook(lambda *_: calls.append(1))
    try:
        probability, ood = predict_with_ood(model, held_out[0])
    finally:
        handle.remove()
    assert len(calls) == 1 and ood is not None
    assert probability == pytest.approx(expected, abs=1e-9)

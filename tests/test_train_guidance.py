"""Map guidance (train --guide-maps): the loss, the masks that travel with the augmentation, the CLI."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ra_desktop.cli import main
from ra_desktop.model.architectures import VGG8
from ra_desktop.phantom import generate_dataset
from ra_desktop.preprocess import AUGMENT_KINDS, PreprocessConfig, augment, augment_with_mask
from ra_desktop.train.cache import model_input, model_input_with_mask
from ra_desktop.train.guidance import GradCamGuidance, outside_share

FAST = ["--resize", "72", "--crop", "64", "--batch-size", "8", "--quiet", "--device", "cpu"]


def test_outside_share_counts_the_map_outside_the_lesion():
    lesion = torch.zeros(1, 4, 4)
    lesion[0, :2, :2] = 1.0
    inside = torch.zeros(1, 4, 4)
    inside[0, 0, 1] = 3.0
    outside = torch.zeros(1, 4, 4)
    outside[0, 3, 3] = 2.0
    half = inside + outside * 1.5  # 3 inside, 3 outside
    got = outside_share(torch.cat([inside, outside, half, torch.zeros(1, 4, 4)]), lesion.expand(4, 4, 4))
    assert got.tolist() == pytest.approx([0.0, 1.0, 0.5, 1.0], abs=1e-5)


def _square(size=96, top=10, left=50, side=20):
    unit = np.zeros((size, size), np.float32)
    unit[top:top + side, left:left + side] = 1.0
    return unit


@pytest.mark.parametrize("seed", range(6))
def test_mask_is_rotated_with_the_image_by_the_same_draws(seed):
    unit = _square() * 0.8 + 0.1
    for kind in AUGMENT_KINDS:
        img, mask = augment_with_mask(unit, _square(), np.random.default_rng(seed), kind)
        assert np.array_equal(img, augment(unit, np.random.default_rng(seed), kind))  # same image
        if kind == "brightness":
            assert np.array_equal(mask, _square())  # brightness does not move anything
    img, mask = augment_with_mask(_square(), _square(), np.random.default_rng(seed), "rotate")
    assert np.array_equal(img, mask) and mask[:5, :5].max() == 0 and mask.sum() > 300  # rotated, not lost


def test_model_input_with_mask_gives_the_same_input_and_a_cropped_mask():
    config = PreprocessConfig(resize=96, crop=80)
    unit = _square() * 0.5 + 0.2
    for seed in range(8):
        x, mask = model_input_with_mask(unit, _square(), config, np.random.default_rng(seed), 0.7, 0.5)
        assert np.array_equal(x, model_input(unit, config, np.random.default_rng(seed), 0.7, 0.5))
        assert mask.shape == (80, 80) and 0 < mask.sum() < 80 * 80
    x, mask = model_input_with_mask(unit, _square(), config)  # no augmentation: the centre crop
    assert np.array_equal(mask, _square()[8:88, 8:88])
    assert model_input_with_mask(unit, None, config)[1] is None


def test_guidance_loss_moves_the_map_into_the_lesion():
    torch.manual_seed(0)
    model = VGG8(dropout=0.0)
    x = torch.randn(4, 3, 64, 64)
    masks = torch.zeros(4, 64, 64)
    masks[:2, 40:64, 0:24] = 1.0  # the lower-left cells of the 4x4 target layer; two images have none
    guide = GradCamGuidance(model, "features.block5.relu2")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    shares = []
    for _ in range(25):
        optimizer.zero_grad()
        with guide.recording():
            logits = model(x)
        loss = guide.loss(logits, masks)
        shares.append(float(loss.detach()))
        loss.backward()
        optimizer.step()
    assert not model.features.block5.relu2._forward_hooks  # the hook lives only inside recording()
    assert shares[0] > 0.3 and max(shares[-5:]) < 0.2 * shares[0], shares
    with guide.recording():
        logits = model(x)
    assert guide.loss(logits, torch.zeros(4, 64, 64)) is None  # no RA image with a mask: no term


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    root = tmp_path_factory.mktemp("twins")
    generate_dataset(root, 8, 11, size=400, workers=1, progress=False, twins=True, severity_range=(2, 2))
    return root


def test_train_with_guidance_logs_the_share_and_records_the_loss(twins, tmp_path, capsys):
    out = tmp_path / "model"
    assert main(["train", str(twins), "--arch", "vgg8", "--out", str(out), "--epochs", "2", "--seed", "1",
                 "--val-fraction", "0.5", "--guide-maps", "0.5", "--lesion-swap", "0.5", *FAST]) == 0
    assert "map guidance: weight 0.5 on 2 RA phantoms and every RA lesion swap" in capsys.readouterr().out
    training = json.loads((out / "manifest.json").read_text())["training"]
    assert training["loss"].startswith("cross-entropy") and "0.5 × map guidance" in training["loss"]
    rows = json.loads((out / "training_log.json").read_text())["epochs"]
    assert len(rows) == 2 and all(0.0 <= r["train_map_outside_share"] <= 1.0 for r in rows)


def test_guidance_is_refused_without_ground_truth_or_with_a_negative_weight(tmp_path, capsys, twins):
    from tests.test_train import make_images

    data = make_images(tmp_path / "data", patients=True)
    assert main(["train", str(data), "--arch", "vgg8", "--out", str(tmp_path / "m"), "--epochs", "1",
                 "--guide-maps", "1", *FAST]) == 2
    assert "--guide-maps needs RA phantoms with joint ground truth" in capsys.readouterr().err
    assert main(["train", str(twins), "--arch", "vgg8", "--out", str(tmp_path / "n"), "--epochs", "1",
                 "--guide-maps", "-1", *FAST]) == 2
    assert "--guide-maps is a loss weight" in capsys.readouterr().err
    assert not (tmp_path / "n").exists()

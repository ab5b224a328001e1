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
from ra_desktop.train.guidance import MapGuidance, outside_share

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


def test_guidance_loss_moves_both_maps_into_the_lesion():
    """Four "RA" images carry a lesion in the lower-left quarter, all eight a distractor in the
    upper right; classification plus guidance, then the app's own maps must peak on the lesion."""
    import torch.nn.functional as F

    from ra_desktop.explain import grad_cam, shap_map

    torch.manual_seed(0)
    model = VGG8(dropout=0.0)
    x = torch.randn(8, 3, 64, 64) * 0.5
    y = torch.tensor([1, 1, 1, 1, 0, 0, 0, 0])
    x[:4, :, 40:56, 8:24] += 2.0
    x[:, :, 8:24, 40:56] += 2.0 * torch.rand(8, 1, 1, 1)
    masks = torch.zeros(8, 64, 64)
    masks[:4, 32:64, 0:32] = 1.0  # the lesion's quarter; normal images have no mask
    guide = MapGuidance(model, "features.block5.relu2")
    # 20 steps at 2e-4 (was 40 at 1e-4: half the time). Trained on the cross-entropy alone the same
    # way, the SHAP term ends 92x and the Grad-CAM term 1.2x where they began: both asserts fail.
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-4)
    history = []
    for _ in range(20):
        optimizer.zero_grad()
        with guide.recording():
            logits = model(x)
        terms = guide.loss(logits, masks)
        ce = F.cross_entropy(logits, y)
        history.append({"ce": float(ce.detach()), **{k: float(v.detach()) for k, v in terms.items()}})
        (ce + terms["gradcam"] + terms["shap"]).backward()
        optimizer.step()
    assert not model.features.block5.relu2._forward_hooks  # the hook lives only inside recording()
    first, last = history[0], history[-1]
    assert last["ce"] < 0.2 and last["shap"] < 0.1 * first["shap"], history
    assert last["gradcam"] < 0.8 * first["gradcam"], history
    model.eval()
    for i in range(4):  # the shipped maps, computed as the app does
        for m in (grad_cam(model, x[i:i + 1], target_layer="features.block5.relu2"),
                  shap_map(model, x[i:i + 1], target_layer="features.block5.relu2", grid=4)):
            peak = np.unravel_index(np.argmax(np.asarray(m)), np.asarray(m).shape)
            assert peak[0] >= 32 and peak[1] < 32, (i, peak)
    with guide.recording():
        logits = model(x)
    assert guide.loss(logits, torch.zeros(8, 64, 64)) is None  # no RA image with a mask: no term


def test_an_all_negative_grad_cam_still_has_a_gradient():
    """The shown map is ReLU'd; the loss's smooth ReLU keeps a map with nothing positive trainable."""
    model = VGG8(dropout=0.0)
    guide = MapGuidance(model, "features.block5.relu2")
    masks = torch.zeros(1, 64, 64)
    masks[0, :32, :32] = 1.0
    with guide.recording():
        logits = model(torch.randn(1, 3, 64, 64))
    act = guide._activation
    # The RA logit negated: every Grad-CAM weight flips sign, so the raw map is the old one negated.
    flipped = torch.stack([logits[:, 0], -logits[:, 1]], dim=1)
    loss = guide.loss(flipped, masks)["gradcam"]
    grads = torch.autograd.grad(loss, act)[0]
    assert 0.0 < float(loss.detach()) < 1.0 and float(grads.abs().sum()) > 0


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
    assert training["loss"].startswith("cross-entropy") and "0.5 × map guidance" in training["loss"] and "other cells alone" in training["loss"]
    rows = json.loads((out / "training_log.json").read_text())["epochs"]
    assert len(rows) == 2 and all(0.0 <= r["train_gradcam_outside_share"] <= 1.0 for r in rows)
    assert all(r["train_shap_coalition_loss"] >= 0.0 for r in rows)


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

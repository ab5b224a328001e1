"""Every architecture the comparison trains: one training step, then saved and loaded unchanged.

Small inputs (64 px; VGG8's classifier needs 224) keep this fast; the layers Grad-CAM and the OOD check read must exist in each.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ra_desktop.model import ARCHITECTURES, build_model, load_model, save_model_folder
from ra_desktop.preprocess import PreprocessConfig


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_one_training_step_then_save_and_load(arch, tmp_path):
    torch.manual_seed(0)
    model = build_model(arch).train()
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    side = 224 if arch == "vgg8" else 64
    x, y = torch.randn(4, 3, side, side), torch.tensor([0, 1, 0, 1])
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads), "a parameter got no gradient"
    opt.step()
    changed = [k for k, v in model.state_dict().items() if v.dtype.is_floating_point
               and not torch.equal(v, before[k])]
    assert "classifier.weight" in changed or "classifier.fc3.weight" in changed, changed[:5]
    if arch.startswith("densenet"):
        attention_weights = [k for k in before if k.startswith("attention.")]
        assert bool(attention_weights) == (not arch.endswith("-no-attention"))
        assert all(k in changed for k in attention_weights)

    model.eval()
    save_model_folder(model, tmp_path / arch, name=f"test-{arch}", version="0.0.0-test", arch=arch,
                      preprocessing=PreprocessConfig(), threshold=0.5, training_data="none: one test step",
                      synthetic_training_data=True, intended_use="Automated tests only.",
                      training={"command": "tests"}, validation_metrics=None, weights_dtype="float32")
    loaded = load_model(tmp_path / arch, "cpu")
    assert loaded.manifest.architecture == arch
    probe = np.random.default_rng(1).normal(size=(2, 3, side, side)).astype(np.float32)
    with torch.no_grad():
        expected = torch.softmax(model(torch.from_numpy(probe)).double(), 1)[:, 1].numpy()
    np.testing.assert_allclose(loaded.predict_proba(probe), expected, atol=1e-6)
    info = ARCHITECTURES[arch]
    loaded.module.get_submodule(info.gradcam_target_layer)
    assert loaded.features(probe).shape == (2, info.feature_dim)

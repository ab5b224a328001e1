"""Training options added for CPU training: precision choice and curriculum dropout."""
import torch
from torch import nn

from ra_desktop.model import build_model
from ra_desktop.train.precision import amp_settings
from ra_desktop.train.trainer import _set_dropout


def test_precision_fp32_disables_autocast():
    assert amp_settings(torch.device("cpu"), "fp32") == (False, None)


def test_precision_bf16_forced_on_cpu():
    assert amp_settings(torch.device("cpu"), "bf16") == (True, torch.bfloat16)


def test_curriculum_dropout_turns_off_and_restores_published_rate():
    model = build_model("vgg8")
    rates = {n: m.p for n, m in model.named_modules() if isinstance(m, nn.Dropout)}
    assert rates and set(rates.values()) == {0.5}
    _set_dropout(model, rates, on=False)
    assert all(m.p == 0.0 for m in model.modules() if isinstance(m, nn.Dropout))
    _set_dropout(model, rates, on=True)
    assert {n: m.p for n, m in model.named_modules() if isinstance(m, nn.Dropout)} == rates


def test_augment_p_zero_keeps_the_original_and_one_augments():
    import numpy as np

    from ra_desktop.preprocess import PreprocessConfig, prepare_unit
    from ra_desktop.train.cache import model_input

    cfg = PreprocessConfig()
    unit = np.random.default_rng(0).random((256, 256), dtype=np.float32)
    original = prepare_unit(unit, cfg)[0]
    kept = model_input(unit, cfg, np.random.default_rng(1), augment_p=0.0)
    changed = model_input(unit, cfg, np.random.default_rng(1), augment_p=1.0)
    np.testing.assert_array_equal(kept, original)
    assert not np.allclose(changed, original)

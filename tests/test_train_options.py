"""Training options added for CPU training: precision choice and curriculum dropout."""
import torch
from torch import nn

from ra_desktop.model import build_model
from ra_desktop.train.trainer import _amp, _set_dropout


def test_precision_fp32_disables_autocast():
    assert _amp(torch.device("cpu"), "fp32") == (False, None)


def test_precision_bf16_forced_on_cpu():
    assert _amp(torch.device("cpu"), "bf16") == (True, torch.bfloat16)


def test_curriculum_dropout_turns_off_and_restores_published_rate():
    model = build_model("vgg8")
    rates = {n: m.p for n, m in model.named_modules() if isinstance(m, nn.Dropout)}
    assert rates and set(rates.values()) == {0.5}
    _set_dropout(model, rates, on=False)
    assert all(m.p == 0.0 for m in model.modules() if isinstance(m, nn.Dropout))
    _set_dropout(model, rates, on=True)
    assert {n: m.p for n, m in model.named_modules() if isinstance(m, nn.Dropout)} == rates
